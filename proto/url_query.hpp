// SPDX-License-Identifier: Apache-2.0
// Reading the query of a URL (an OIDC callback: "...?state=...&code=..."),
// shared by the client, which receives the callback, and the daemon, which
// checks it. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sshcert {

/// The query of `text`: what follows its '?' up to any '#'. Text without a '?' that is not a URL
/// ("state=...&code=...") is taken as a query itself; a URL without a query has an empty one.
std::string_view query_of(std::string_view text);

/// The value of parameter `name` in `query`, percent- and '+'-decoded; nullopt when absent or
/// when its escapes are broken ("%zz").
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace sshcert
