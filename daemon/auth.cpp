// SPDX-License-Identifier: Apache-2.0
#include "auth.hpp"

#include <map>

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
        const Json& auth = (*reply)["auth"];
        if (!auth.is_object() || !auth.contains("client_token") || !auth["client_token"].is_string())
            return Error{Errc::VaultBadResponse, "Vault's login reply has no auth.client_token"};
        if (auth.contains("mfa_requirement") && auth["mfa_requirement"].is_object())
            return Error{Errc::VaultRefused, "Vault requires login MFA for this user, which this version of sshcert cannot answer yet"};
        std::string token = auth["client_token"].get<std::string>();
        if (token.empty()) return Error{Errc::VaultBadResponse, "Vault's login reply has an empty client_token"};
        return SecretString::take(token);
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
    const Json& data = (*reply)["data"];
    if (!data.is_object()) return Error{Errc::VaultBadResponse, "Vault's lookup-self reply has no data"};
    VaultToken t{std::move(token), {}, std::chrono::steady_clock::now()};
    t.summary.vault_addr = vault.address();
    t.summary.display_name = data.value("display_name", "");
    if (data.contains("policies") && data["policies"].is_array())
        for (const auto& p : data["policies"])
            if (p.is_string()) t.summary.policies.push_back(p.get<std::string>());
    if (data.contains("ttl") && data["ttl"].is_number_integer()) t.summary.ttl_seconds = data["ttl"].get<std::int64_t>();
    t.summary.renewable = data.value("renewable", false);
    return t;
}

Result<VaultToken> renew_self(const VaultClient& vault, const VaultToken& current) {
    Json empty = Json::object();
    auto reply = vault.call("POST", "auth/token/renew-self", &empty, &current.token);
    if (!reply) return reply.error();
    const Json& auth = (*reply)["auth"];
    if (!auth.is_object() || !auth.contains("lease_duration") || !auth["lease_duration"].is_number_integer())
        return Error{Errc::VaultBadResponse, "Vault's renew-self reply has no auth.lease_duration"};
    VaultToken t{current.token, current.summary, std::chrono::steady_clock::now()};
    t.summary.ttl_seconds = auth["lease_duration"].get<std::int64_t>();
    t.summary.renewable = auth.value("renewable", t.summary.renewable);
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
