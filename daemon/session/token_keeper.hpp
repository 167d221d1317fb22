// SPDX-License-Identifier: Apache-2.0
// The Vault login of one session, as a state machine:
//
//   LoggedOut --login--> Active(token, renew timer) --logout / token dead / expired--> LoggedOut
//
// A login is a conversation: its method may answer with a Challenge (login
// MFA) instead of a token. The keeper then holds it as a pending login under
// an opaque id until the client answers (resume) or its deadline passes; it
// never waits on the person, only on that deadline, and holds at most
// kMaxPendingLogins (the oldest gives way). Logins run concurrently with
// everything else (the old token keeps serving until a new one arrives).
// Every change bumps the generation, so work begun
// under an older login (certificate fetches, renewals) is recognised as stale.
// The token is renewed at about two thirds of its TTL, with jitter, until Vault
// stops extending it. A 403 is confirmed with lookup-self before the token is
// dropped: Vault before 1.17 and OpenBao say only "permission denied" for a dead
// token. With a LoginStore, the token is kept in the kernel keyring from login
// to logout (its timeout following the TTL), and restore() adopts it again when
// the daemon starts. Event-loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>

#include "asio.hpp"
#include "auth_method.hpp"
#include "daemon_clock.hpp"
#include "login_store.hpp"
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

    /// What a login, or the answer to its challenge, gives: the new token's summary or the next question.
    using LoginStep = std::variant<control::TokenSummary, control::LoginChallenge>;
    using LoginDone = std::function<void(Result<LoginStep>)>;
    /// Pending logins held at once; a login beyond it pushes out the one nearest its deadline.
    static constexpr std::size_t kMaxPendingLogins = 8;

    /// Logs in with `req`; once it gives a token, the token replaces the old one.
    void login(LoginRequest req, LoginDone done);
    /// Answers the challenge of pending login `id`. A pending login takes one answer at a time.
    void resume(const std::string& id, SecretString answer, LoginDone done);
    std::size_t pending_logins() const noexcept { return pending_.size(); }

    struct LogoutOutcome {
        bool had_token = false;
        bool revoked = false;      ///< Vault confirmed the revocation
        bool imported = false;     ///< the user brought the token (token method)
        std::string warning;       ///< why it was not revoked
    };
    /// Forgets the token and every pending login at once, and revokes the token at Vault, unless
    /// the user brought it (VAULT_TOKEN, a token helper): that one belongs to the Vault CLI too and
    /// is revoked only with `revoke_imported`.
    void logout(std::function<void(LogoutOutcome)> done, bool revoke_imported = false);
    /// Forgets the token without telling Vault (the Vault address changed).
    void forget(const std::string& why);

    /// The token in use, or nullptr when logged out (an expired token counts as logged out).
    const VaultToken* active() const;
    std::uint64_t generation() const noexcept { return generation_; }
    /// The summary with the TTL as of now, for status.
    std::optional<control::TokenSummary> summary() const;
    /// Why a new login by a person is needed, when the keeper's own one gave up; empty otherwise.
    const std::string& login_needed() const { return login_needed_; }

    /// A call made with the token of `generation` was denied (403). Calls `done(true)` when the
    /// token is dead (and drops it), `done(false)` when the token is fine and the policy refused.
    void confirm_denial(std::uint64_t generation, const Error& denial, std::function<void(bool dead)> done);

    /// Keeps the login in `store` under `name` from now on (null: nowhere).
    void keep_in(LoginStore* store, std::string name);
    /// Adopts the login kept in the store, once lookup-self says its token is still valid; a
    /// token Vault rejects is removed, and while Vault cannot be reached the lookup is retried.
    void restore();

    /// Seconds until the login ends for good, once Vault has said (see token_life.hpp).
    std::optional<std::int64_t> login_left() const;

    void stop();

private:
    /// A login waiting for the person's answer.
    struct Pending {
        explicit Pending(asio::io_context& io) : expiry(io) {}
        const AuthMethod* method = nullptr;
        bool imported = false;
        std::uint64_t logouts = 0;
        std::string kind;       ///< of the challenge, for the message when it expires
        DaemonClock::time_point expires_at;  ///< the challenge's; the expiry timer is set for it
        Challenge challenge;    ///< moved to the method while an answer is being served
        LoginDone answering;    ///< the resume in flight, if any
        std::uint64_t turn = 0; ///< counts answers, so a late result of an abandoned one is recognised
        DaemonTimer expiry;
    };
    /// Where a step of a login came from: a new login (empty id) or pending login `id`.
    struct Origin {
        const AuthMethod* method;
        bool imported;
        std::uint64_t logouts;
        std::string id;
    };
    void on_step(Origin origin, Result<Step> step, LoginDone done);
    void on_resumed(const std::string& id, std::uint64_t turn, Result<Step> step);
    void hold(Origin origin, Challenge challenge, LoginDone done);
    void end_pending(const std::string& id, const Error& why);
    void finish_login(Origin origin, LoginGrant grant, LoginDone done);
    void revoke_abandoned(const LoginGrant& grant);
    void adopt(VaultToken token);
    void drop(const std::string& why);
    void schedule_renewal();
    void renew();
    void keep();
    void unkeep();
    /// Tells of the change when the end of the login comes near, so the status line says so.
    void schedule_end_warning();
    /// Logs in again with again_ after `wait`, nobody asked; failures retried with backoff.
    void schedule_relogin(std::chrono::milliseconds wait);

    asio::io_context& io_;
    VaultClient& vault_;
    Changed changed_;
    std::optional<VaultToken> token_;
    std::uint64_t generation_ = 0;
    std::uint64_t logouts_ = 0;  ///< a login that began before a logout does not log back in
    std::map<std::string, std::unique_ptr<Pending>> pending_;
    DaemonTimer renew_timer_;
    std::mt19937_64 rng_{std::random_device{}()};
    int renew_failures_ = 0;
    LoginStore* store_ = nullptr;
    std::string store_name_;
    DaemonTimer restore_timer_;
    DaemonTimer near_end_timer_;
    int restore_failures_ = 0;
    /// The last login's way to log in again unattended (approle); empty for logins that need a person.
    std::optional<LoginRequest> again_;
    std::string login_needed_;  ///< why the keeper's own login gave up (expired AWS credentials); empty: it did not
    DaemonTimer relogin_timer_;
    int relogin_failures_ = 0;
};

/// Looks a token up (lookup-self) and builds a VaultToken; when Vault denies the lookup
/// but `fallback` (from the login reply) is given, the login is accepted on its word.
void look_up_token(VaultClient& vault, LoginGrant grant, bool imported,
                   std::function<void(Result<VaultToken>)> done);

}  // namespace sshcert
