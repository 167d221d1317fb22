// SPDX-License-Identifier: Apache-2.0
// What every method's login makes of Vault's refusals before its own translations.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace sshcert {

/// What Vault said: the detail when it gave one, else the message.
std::string said(const Error& e);

/// When Vault has no `method` auth method at auth/<mount> (404, or "no handler for route"): that
/// error, naming the setting to fix. Otherwise nothing.
std::optional<Error> missing_mount(const Error& e, std::string_view method, const std::string& mount);

}  // namespace sshcert
