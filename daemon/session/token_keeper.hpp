// SPDX-License-Identifier: Apache-2.0
// The Vault login of one session, as a state machine:
//
//   LoggedOut --login--> Active(token, renew timer) --logout / token dead / expired--> LoggedOut
//
// Logins run concurrently with everything else (the old token keeps serving
// until a new one arrives). Every change bumps the generation, so work begun
// under an older login (certificate fetches, renewals) is recognised as stale.
// The token is renewed at about two thirds of its TTL, with jitter, until Vault
// stops extending it. A 403 is confirmed with lookup-self before the token is
// dropped: Vault before 1.17 and OpenBao say only "permission denied" for a dead
// token. Event-loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>

#include "asio.hpp"
#include "auth_method.hpp"
#include "daemon_clock.hpp"
#include "vault_client.hpp"
#include "vault_token.hpp"

namespace sshcert {

class TokenKeeper {
public:
    /// Called after every change of state (login, logout, renewal, token lost).
    using Changed = std::function<void(bool identity_changed)>;

    TokenKeeper(asio::io_context& io, VaultClient& vault, Changed changed);
    TokenKeeper(const TokenKeeper&) = delete;
    TokenKeeper& operator=(const TokenKeeper&) = delete;

    /// Logs in with `req`; on success the new token replaces the old one.
    void login(LoginRequest req, std::function<void(Result<control::TokenSummary>)> done);

    struct LogoutOutcome {
        bool had_token = false;
        bool revoked = false;      ///< Vault confirmed the revocation
        std::string warning;       ///< why it was not revoked
    };
    /// Forgets the token at once and revokes it at Vault.
    void logout(std::function<void(LogoutOutcome)> done);
    /// Forgets the token without telling Vault (the Vault address changed).
    void forget(const std::string& why);

    /// The token in use, or nullptr when logged out (an expired token counts as logged out).
    const VaultToken* active() const;
    std::uint64_t generation() const noexcept { return generation_; }
    /// The summary with the TTL as of now, for status.
    std::optional<control::TokenSummary> summary() const;

    /// A call made with the token of `generation` was denied (403). Calls `done(true)` when the
    /// token is dead (and drops it), `done(false)` when the token is fine and the policy refused.
    void confirm_denial(std::uint64_t generation, const Error& denial, std::function<void(bool dead)> done);

    void stop();

private:
    void adopt(VaultToken token);
    void drop(const std::string& why);
    void schedule_renewal();
    void renew();

    asio::io_context& io_;
    VaultClient& vault_;
    Changed changed_;
    std::optional<VaultToken> token_;
    std::uint64_t generation_ = 0;
    std::uint64_t logouts_ = 0;  ///< a login that began before a logout does not log back in
    DaemonTimer renew_timer_;
    std::mt19937_64 rng_{std::random_device{}()};
    int renew_failures_ = 0;
};

/// Looks a token up (lookup-self) and builds a VaultToken; when Vault denies the lookup
/// but `fallback` (from the login reply) is given, the login is accepted on its word.
void look_up_token(VaultClient& vault, LoginGrant grant, bool imported,
                   std::function<void(Result<VaultToken>)> done);

}  // namespace sshcert
