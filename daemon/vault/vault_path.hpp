// SPDX-License-Identifier: Apache-2.0
// Building the path of a Vault request from names a user or config gave
// (mounts, roles, user names): every segment percent-escaped, `.` and `..`
// refused, so no name can reach another endpoint ("../../sys/seal").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace sshcert {

/// One part of a path: fixed words of ours ("auth", "token/lookup-self"), a
/// mount (may hold '/', each piece a segment; leading and trailing '/'
/// dropped, as the config may say "ssh/"), or a single name (a '/' in it is
/// escaped; Vault's Go server decodes %2F back to '/', so a name whose
/// '/'-pieces include `.` or `..` is refused too).
struct PathPart {
    enum class Kind { Literal, Mount, Name };
    Kind kind;
    std::string_view text;
    std::string_view what;  ///< for errors: "user name", "role", "mount"
};
inline PathPart lit(std::string_view s) { return {PathPart::Kind::Literal, s, ""}; }
inline PathPart mount(std::string_view s, std::string_view what = "mount") { return {PathPart::Kind::Mount, s, what}; }
inline PathPart name(std::string_view s, std::string_view what) { return {PathPart::Kind::Name, s, what}; }

/// "auth/<mount>/login/<user>"; InvalidArgument naming `what` for an empty segment, `.` or `..`.
/// A query ("?list=true") is the caller's to append.
Result<std::string> vault_path(const std::vector<PathPart>& parts);

/// RFC 3986 percent-encoding of everything but unreserved characters.
std::string escape_segment(std::string_view s);
/// The same, appended to `out` (a caller that reserved room for a secret leaves no copy of it).
void append_escaped(std::string_view s, std::string& out);

}  // namespace sshcert
