// SPDX-License-Identifier: Apache-2.0
// Reading Vault's replies: pure functions from a decoded envelope to what we
// need, each rejecting a reply that lacks it. Kept apart from the HTTP calls
// so a fuzz target can feed them arbitrary JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "control_codec.hpp"
#include "result.hpp"
#include "secure_bytes.hpp"

namespace sshcert::vault {

using Json = nlohmann::json;

/// auth.client_token of a login reply; a pending login-MFA requirement is an error.
Result<SecretString> decode_login(const Json& envelope);
/// What a login reply's auth block says of the new token (policies, lease, renewable; the
/// display name from metadata.username). For tokens that may not look themselves up.
std::optional<control::TokenSummary> summary_from_login(const Json& envelope);
/// The longest token or certificate lifetime we believe: a bigger TTL from Vault is cut to it
/// (ten years; Vault's own system maximum is 32 days unless tuned).
inline constexpr std::int64_t kMaxBelievedTtlSeconds = 10LL * 365 * 24 * 3600;
/// data of auth/token/lookup-self: display name, policies, ttl, renewable.
Result<control::TokenSummary> decode_lookup_self(const Json& envelope);
/// auth.lease_duration and auth.renewable of auth/token/renew-self.
struct Lease {
    std::int64_t ttl_seconds = 0;
    bool renewable = false;
    bool none = false;  ///< Vault answered 204: the lease was not extended
};
/// A 204 (Vault renewed nothing: the auth method offered no renewal) is a Lease with `none` set.
Result<Lease> decode_renew(const Json& envelope, long status);
/// data.signed_key of <mount>/sign/<role>.
Result<std::string> decode_signed_key(const Json& envelope);
/// server_time_utc of sys/health (Unix seconds), when it is there and a time this century could
/// reach: a hostile number must not overflow the skew computed from it.
std::optional<std::int64_t> decode_server_time(const Json& health);
/// Vault's messages from an `errors` body, multierror decoration removed and sanitized
/// (sanitize_vault_text: safe for a terminal and a log); empty when there are none.
std::string error_text(std::string_view body);

}  // namespace sshcert::vault
