// SPDX-License-Identifier: Apache-2.0
// One way of logging in to Vault. Each method is a file in this folder. A
// login is a conversation: start() turns the user's credentials into a Step,
// either the token or a Challenge (a question for the person: a passcode, a
// push to approve), and resume() goes on from a Challenge with the person's
// answer. Methods make asynchronous Vault calls and never wait on a person:
// the client asks, the daemon keeps the Challenge until it expires.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "aws_login.hpp"
#include "control_codec.hpp"
#include "daemon_clock.hpp"
#include "secure_bytes.hpp"
#include "vault_client.hpp"

namespace sshcert {

/// Vault forgets a login waiting for its second factor after five minutes
/// (vault/core.go defaultMFAAuthResponseTTL), so no challenge outlives that.
inline constexpr std::chrono::seconds kMaxChallengeLifetime{300};

struct LoginRequest {
    std::string method;    ///< one of config::kLoginMethods
    std::string mount;     ///< auth mount; empty for the method's default
    std::string username;  ///< for password methods
    SecretString secret;   ///< the token or password
    std::string role;          ///< oidc: the Vault role, empty for the mount's default_role; cert: the certs/ entry
    std::string redirect_uri;  ///< oidc: the client's loopback callback, which the browser ends on
    std::string role_id_file;    ///< approle: read at every login
    std::string secret_id_file;  ///< approle: the secret_id, or with secret_id_wrapped a wrapping token for it
    bool secret_id_wrapped = false;
    std::optional<aws::AwsLogin> aws;  ///< aws: the credentials and the roles to assume
    /// How long the login may wait for a second factor ([auth] mfa_timeout), at most kMaxChallengeLifetime.
    std::chrono::seconds challenge_lifetime = kMaxChallengeLifetime;
};

/// What a successful login hands over: the token, and what the login reply
/// itself said about it (used when the token may not look itself up).
struct LoginGrant {
    SecretString token;
    std::optional<control::TokenSummary> from_login;  ///< absent for the token method
    /// How to log in again with nobody to ask (approle): the keeper does so when the token ends.
    std::optional<LoginRequest> again;
};

/// What a method keeps between the steps of its conversation; only that method reads it.
struct ChallengeState {
    virtual ~ChallengeState() = default;
};

/// A question for the person at the client, with what the method needs to go on.
struct Challenge {
    std::string kind;          ///< control::challenge_kind::kPasscode, kPush or kOidcBrowser
    std::string factor;        ///< totp, duo, okta, pingid; oidc
    std::string factor_name;   ///< the Vault admin's name for it; may be empty
    std::string prompt;        ///< in the user's terms
    DaemonClock::time_point expires_at;  ///< the login is abandoned then, answered or not
    std::string retry_error;   ///< why the previous answer failed; empty the first time
    std::string url;           ///< kOidcBrowser: the identity provider's page
    std::string redirect_uri;  ///< kOidcBrowser: where that page sends the browser back to
    std::shared_ptr<ChallengeState> state;
};

using Step = std::variant<LoginGrant, Challenge>;

class AuthMethod {
public:
    using StepDone = std::function<void(Result<Step>)>;
    virtual ~AuthMethod() = default;
    virtual std::string_view name() const = 0;
    /// Sends the credentials to Vault; `done` runs on the loop, never inside start().
    virtual void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, StepDone done) const = 0;
    /// Goes on from `challenge` with the person's answer; `done` runs on the loop, never inside resume().
    /// The base answers login MFA, which Vault asks for after any method's login.
    virtual void resume(asio::io_context& io, VaultClient& vault, Challenge challenge, SecretString answer,
                        StepDone done) const;
};

/// The method registered under `name`, or nullptr.
const AuthMethod* find_auth_method(std::string_view name);
/// "token, userpass, ldap, oidc": for error messages.
std::string auth_method_names();

}  // namespace sshcert
