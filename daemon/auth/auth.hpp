// SPDX-License-Identifier: Apache-2.0
// Logging in to Vault and looking after the token: one small class per auth
// method behind AuthMethod, and the token self-service calls (lookup, renew,
// revoke). All calls block; run them on a worker thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

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

/// A Vault token and what Vault said about it.
struct VaultToken {
    SecretString token;
    control::TokenSummary summary;
    std::chrono::steady_clock::time_point checked_at;  ///< when summary.ttl_seconds was true

    /// Seconds left at `now`; 0 for tokens that never expire.
    std::int64_t ttl_left(std::chrono::steady_clock::time_point now) const;
};

class AuthMethod {
public:
    virtual ~AuthMethod() = default;
    /// Exchanges credentials for a client token.
    virtual Result<SecretString> login(const VaultClient& vault, const LoginRequest& req) const = 0;
};

/// The method registered under `name`, or nullptr.
const AuthMethod* find_auth_method(std::string_view name);

/// Logs in and looks the new token up, so status can show who we are.
Result<VaultToken> login(const VaultClient& vault, const LoginRequest& req);
Result<VaultToken> lookup_self(const VaultClient& vault, SecretString token);
/// Extends the token's lease; Vault decides by how much.
Result<VaultToken> renew_self(const VaultClient& vault, const VaultToken& current);
Status revoke_self(const VaultClient& vault, const SecretString& token);

/// True when Vault's error means the token itself is no longer any good.
bool is_invalid_token(const Error& e);

}  // namespace sshcert
