// SPDX-License-Identifier: Apache-2.0
// How long a login lasts, from what Vault says about its token. Vault extends
// a token on renewal up to its maximum TTL (CalculateTTL: the explicit_max_ttl,
// the auth mount's or role's max_ttl, the system's), counted from the token's
// issue_time. lookup-self shows only the explicit one; the others show only
// when a renewal comes back capped (with the warning "TTL of ... exceeded the
// effective max_ttl of ..."), and the mount's tune is not readable by most
// users. So the end of a login is known when it is explicit, when a renewal was
// capped, or when the token cannot be renewed; otherwise it is not claimed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace sshcert::token_life {

/// Unix seconds of an RFC 3339 time as Vault writes it ("2026-12-02T07:35:54.466476215-04:00").
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

struct TokenTimes {
    std::optional<std::int64_t> age;         ///< seconds since Vault issued the token (or its lease)
    std::optional<std::int64_t> login_left;  ///< seconds until the login ends for good, when Vault said
};
/// From lookup-self's `data`: Vault's own now is expire_time - ttl, so no clock skew enters.
TokenTimes token_times(const nlohmann::json& lookup_data);

/// Whether renew-self's warnings say Vault capped the TTL at the token's maximum.
bool renewal_capped(const nlohmann::json& envelope);

/// How long ahead the end of a login is worth a warning: the last hour, or the last
/// quarter of a login that lasts less than four hours.
std::int64_t warn_ahead(std::int64_t life_seconds);
inline bool end_is_near(std::int64_t left_seconds, std::int64_t life_seconds) {
    return left_seconds <= warn_ahead(life_seconds);
}

}  // namespace sshcert::token_life
