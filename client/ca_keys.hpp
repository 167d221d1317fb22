// SPDX-License-Identifier: Apache-2.0
// CA public keys as the user hands them over (files) or Vault returns them
// (the daemon's `ca-keys` op): each is checked to be a plain SSH public key
// before it is printed or written into user data that servers will trust.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control_client.hpp"
#include "result.hpp"

namespace sshcert::client {

/// Calls `fn(line_no, line)` for each line of `text` that is neither blank nor
/// a '#' comment (sshd skips those in key files); stops at the first error.
Status for_each_key_line(std::string_view text, const std::function<Status(std::size_t, std::string_view)>& fn);

/// One CA key line, checked (see parse_public_key_line) and rewritten as
/// "type base64 [comment]"; a comment that is not printable ASCII is dropped,
/// so the line is safe to place in any file or document.
Result<std::string> check_ca_key(std::string_view line);

/// Every key line of `text` (blank lines and '#' comments skipped), checked and
/// rewritten by check_ca_key. `origin` names the source in errors. At least one
/// key is required.
Result<std::vector<std::string>> parse_ca_keys(std::string_view text, const std::string& origin);

struct CaKeys {
    std::string mount;              ///< the Vault SSH mount the keys came from
    std::vector<std::string> keys;  ///< checked key lines
};

/// The CA keys of a Vault SSH mount through the daemon: `mount` if given, else
/// the mount of `profile`, else that of the first profile. `route` (the Vault: `vault`,
/// `vault_addr`) goes into the request as it is.
Result<CaKeys> fetch_ca_keys(const ControlClient& daemon, const std::optional<std::string>& profile,
                             const std::optional<std::string>& mount, control::Json route = control::Json::object());

/// A known_hosts host pattern: comma-separated names or wildcards, no spaces.
Status check_known_hosts_pattern(std::string_view pattern);
/// "@cert-authority PATTERN key": the known_hosts line that makes ssh accept
/// host certificates signed by `key` for hosts matching `pattern`.
std::string known_hosts_line(std::string_view pattern, std::string_view key);

}  // namespace sshcert::client
