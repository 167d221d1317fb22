// SPDX-License-Identifier: Apache-2.0
#include "auth.hpp"

#include <map>

#include "vault_decode.hpp"

namespace sshcert {

namespace {

std::string mount_or(const LoginRequest& req, const char* fallback) {
    std::string m = req.mount.empty() ? fallback : req.mount;
    while (!m.empty() && m.back() == '/') m.pop_back();
    return m;
}

/// A token the user already has (VAULT_TOKEN, ~/.vault-token, stdin).
class TokenMethod final : public AuthMethod {
public:
    Result<SecretString> login(const VaultClient&, const LoginRequest& req) const override {
        if (req.secret.empty()) return Error{Errc::InvalidArgument, "no Vault token given"};
        for (char c : req.secret.reveal())
            if (c < 0x21 || c > 0x7e)
                return Error{Errc::InvalidArgument, "the Vault token contains non-printable characters and cannot be used"};
        return req.secret;  // checked by the lookup-self that follows every login
    }
};

/// auth/<mount>/login/<username> with a password.
class UserpassMethod final : public AuthMethod {
public:
    Result<SecretString> login(const VaultClient& vault, const LoginRequest& req) const override {
        if (req.username.empty()) return Error{Errc::InvalidArgument, "userpass login needs a user name (--username)"};
        std::string mount = mount_or(req, "userpass");
        Json body{{"password", std::string(req.secret.reveal())}};
        auto reply = vault.call("POST", "auth/" + mount + "/login/" + req.username, &body, nullptr);
        wipe(body["password"].get_ref<std::string&>());
        if (!reply) {
            Error e = std::move(reply).error();
            if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied || e.code == Errc::VaultUnavailable)
                e.message = "Vault rejected the login of '" + req.username + "' at auth/" + mount + ": " + e.message;
            if (e.code == Errc::NotFound)
                e.message = "Vault has no userpass auth method at auth/" + mount + "; check [auth] mount or --mount";
            return e;
        }
        return vault::decode_login(*reply);
    }
};

}  // namespace

std::int64_t VaultToken::ttl_left(std::chrono::steady_clock::time_point now) const {
    if (summary.ttl_seconds <= 0) return 0;
    auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - checked_at).count();
    return std::max<std::int64_t>(1, summary.ttl_seconds - elapsed);
}

const AuthMethod* find_auth_method(std::string_view name) {
    static const TokenMethod token;
    static const UserpassMethod userpass;
    static const std::map<std::string_view, const AuthMethod*> methods{{"token", &token}, {"userpass", &userpass}};
    auto it = methods.find(name);
    return it == methods.end() ? nullptr : it->second;
}

Result<VaultToken> login(const VaultClient& vault, const LoginRequest& req) {
    const AuthMethod* method = find_auth_method(req.method);
    if (!method) return Error{Errc::InvalidArgument, "unknown login method '" + req.method + "' (use token or userpass)"};
    auto token = method->login(vault, req);
    if (!token) return token.error();
    auto looked_up = lookup_self(vault, std::move(*token));
    if (!looked_up && req.method == "token" && looked_up.error().code == Errc::VaultDenied)
        return Error{Errc::VaultDenied, "Vault rejected the token (" + looked_up.error().message +
                                            "); get a fresh one with `vault login` or use --method userpass"};
    return looked_up;
}

Result<VaultToken> lookup_self(const VaultClient& vault, SecretString token) {
    auto reply = vault.call("GET", "auth/token/lookup-self", nullptr, &token);
    if (!reply) return reply.error();
    auto summary = vault::decode_lookup_self(*reply);
    if (!summary) return summary.error();
    summary->vault_addr = vault.address();
    return VaultToken{std::move(token), std::move(*summary), std::chrono::steady_clock::now()};
}

Result<VaultToken> renew_self(const VaultClient& vault, const VaultToken& current) {
    Json empty = Json::object();
    auto reply = vault.call("POST", "auth/token/renew-self", &empty, &current.token);
    if (!reply) return reply.error();
    auto lease = vault::decode_renew(*reply);
    if (!lease) return lease.error();
    VaultToken t{current.token, current.summary, std::chrono::steady_clock::now()};
    t.summary.ttl_seconds = lease->ttl_seconds;
    t.summary.renewable = lease->renewable;
    return t;
}

Status revoke_self(const VaultClient& vault, const SecretString& token) {
    Json empty = Json::object();
    auto reply = vault.call("POST", "auth/token/revoke-self", &empty, &token);
    if (!reply) return reply.error();
    return ok_status();
}

bool is_invalid_token(const Error& e) {
    return e.code == Errc::VaultDenied && e.message.find("invalid token") != std::string::npos;
}

}  // namespace sshcert
