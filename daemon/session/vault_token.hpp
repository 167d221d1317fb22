// SPDX-License-Identifier: Apache-2.0
// A Vault token and what Vault said about it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "control_codec.hpp"
#include "daemon_clock.hpp"
#include "secure_bytes.hpp"

namespace sshcert {

struct VaultToken {
    SecretString token;
    control::TokenSummary summary;
    DaemonClock::time_point checked_at;  ///< when summary.ttl_seconds was true
    bool can_look_up_self = true;  ///< false: Vault denied lookup-self at login, so a 403 cannot be confirmed
    bool imported = false;         ///< the user brought it (token method): it belongs to the Vault CLI too
    DaemonClock::time_point issued_at;  ///< when Vault issued it (lookup-self's issue_time), else when we got it
    /// When the login ends for good (its maximum TTL, or the TTL of a token that cannot be
    /// renewed), once Vault has said (see token_life.hpp); empty while not known.
    std::optional<DaemonClock::time_point> login_ends;

    /// Seconds left at `now`: 0 for a token that never expires, -1 once it has expired.
    std::int64_t ttl_left(DaemonClock::time_point now = DaemonClock::now()) const {
        if (summary.ttl_seconds <= 0) return 0;
        auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - checked_at).count();
        return elapsed >= summary.ttl_seconds ? -1 : summary.ttl_seconds - elapsed;
    }
};

}  // namespace sshcert
