// SPDX-License-Identifier: Apache-2.0
// One way of logging in to Vault. Each method is a file in this folder; a
// method turns the user's credentials into a Vault token with one or more
// asynchronous Vault calls and never waits on a person.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "control_codec.hpp"
#include "secure_bytes.hpp"
#include "vault_client.hpp"

namespace sshcert {

struct LoginRequest {
    std::string method;    ///< "token" or "userpass"
    std::string mount;     ///< auth mount; empty for the method's default
    std::string username;  ///< for password methods
    SecretString secret;   ///< the token or password
};

/// What a successful login hands over: the token, and what the login reply
/// itself said about it (used when the token may not look itself up).
struct LoginGrant {
    SecretString token;
    std::optional<control::TokenSummary> from_login;  ///< absent for the token method
};

class AuthMethod {
public:
    using Done = std::function<void(Result<LoginGrant>)>;
    virtual ~AuthMethod() = default;
    virtual std::string_view name() const = 0;
    /// Exchanges the credentials for a client token; `done` runs on the loop, never inside start().
    virtual void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, Done done) const = 0;
};

/// The method registered under `name`, or nullptr.
const AuthMethod* find_auth_method(std::string_view name);
/// "token, userpass": for error messages.
std::string auth_method_names();

}  // namespace sshcert
