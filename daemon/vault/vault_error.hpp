// SPDX-License-Identifier: Apache-2.0
// Every non-2xx Vault reply is classified here, once, into an Error: the
// code says what kind (denied, refused, unavailable, sealed, rate-limited,
// not found, bad response), the message says it in the user's terms and
// what to do, and `detail` keeps Vault's own text, capped and cleaned of
// control characters so it is safe for a terminal and a log.
#pragma once

#include <string>
#include <string_view>

#include "http.hpp"
#include "result.hpp"

namespace sshcert {

/// Longest Vault text we pass on: a line or two, not a 900 KB page.
inline constexpr std::size_t kMaxVaultTextBytes = 1024;

/// `text` with control characters (escape sequences included) replaced, invalid
/// UTF-8 replaced, and cut at kMaxVaultTextBytes with "…".
std::string sanitize_vault_text(std::string_view text);

/// The Error for a reply with a non-2xx status from `address`.
Error classify_vault_reply(const HttpReply& reply, const std::string& address);

/// True when Vault's text says the token itself is no longer valid (Vault 1.17+).
/// Older Vaults and OpenBao say only "permission denied": confirm with lookup-self.
bool says_invalid_token(const Error& e);

}  // namespace sshcert
