// SPDX-License-Identifier: Apache-2.0
// Methods that log in with a user name and a password: POST
// auth/<mount>/login/<username> {"password": ...}. userpass and ldap send the
// same request and get the same reply; only their names (and default mounts)
// differ. Vault may answer with a login MFA requirement (login_mfa.hpp).
#pragma once

#include "auth_method.hpp"

namespace sshcert {

class PasswordMethod final : public AuthMethod {
public:
    /// `method` is Vault's name for the auth method, which is also its default mount.
    explicit constexpr PasswordMethod(std::string_view method) : name_(method) {}
    std::string_view name() const override { return name_; }
    void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, StepDone done) const override;

private:
    std::string_view name_;
};

}  // namespace sshcert
