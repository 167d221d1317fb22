// SPDX-License-Identifier: Apache-2.0
// Reading Vault's replies: pure functions from a decoded envelope to what we
// need, each rejecting a reply that lacks it. Kept apart from the HTTP calls
// so a fuzz target can feed them arbitrary JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "control_codec.hpp"
#include "result.hpp"
#include "secure_bytes.hpp"

namespace sshcert::vault {

using Json = nlohmann::json;

/// auth.client_token of a login reply; a pending login-MFA requirement is an error.
Result<SecretString> decode_login(const Json& envelope);
/// data of auth/token/lookup-self: display name, policies, ttl, renewable.
Result<control::TokenSummary> decode_lookup_self(const Json& envelope);
/// auth.lease_duration and auth.renewable of auth/token/renew-self.
struct Lease {
    std::int64_t ttl_seconds = 0;
    bool renewable = false;
};
Result<Lease> decode_renew(const Json& envelope);
/// data.signed_key of <mount>/sign/<role>.
Result<std::string> decode_signed_key(const Json& envelope);
/// Vault's messages from an `errors` body, multierror decoration removed and sanitized
/// (sanitize_vault_text: safe for a terminal and a log); empty when there are none.
std::string error_text(std::string_view body);

}  // namespace sshcert::vault
