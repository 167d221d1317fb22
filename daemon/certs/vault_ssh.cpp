// SPDX-License-Identifier: Apache-2.0
#include "vault_ssh.hpp"

#include "vault_decode.hpp"

namespace sshcert {

namespace {
std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

/// Adds what the user can do about a refusal to Vault's message.
std::string explain_refusal(const std::string& vault_message, const config::Profile& p) {
    if (vault_message.find("is not a valid value for valid_principals") != std::string::npos)
        return vault_message + " (the role's allowed_users does not include it; ask your Vault admin, or set principals in profile '" +
               p.name + "')";
    if (vault_message.find("Unknown role") != std::string::npos)
        return vault_message + " (check role = \"" + p.role + "\" in profile '" + p.name + "')";
    if (vault_message.find("are not on allowed list") != std::string::npos)
        return vault_message + " (remove them from extensions in profile '" + p.name + "' or ask for them in the role)";
    if (vault_message.find("ttl is larger than maximum allowed") != std::string::npos)
        return vault_message + " seconds (lower ttl in profile '" + p.name + "')";
    return vault_message;
}
}  // namespace

Result<std::string> sign_public_key(const VaultClient& vault, const VaultToken& token, const config::Profile& profile,
                                    const std::vector<std::string>& principals, const std::string& public_key_line) {
    Json body{{"public_key", public_key_line}, {"cert_type", "user"}, {"valid_principals", join(principals, ",")}};
    if (profile.ttl.count() > 0) body["ttl"] = std::to_string(profile.ttl.count()) + "s";
    if (!profile.extensions.empty()) {
        Json ext = Json::object();
        for (const auto& e : profile.extensions) ext[e] = "";
        body["extensions"] = ext;
    }
    std::string path = profile.mount + "/sign/" + profile.role;
    auto reply = vault.call("POST", path, &body, &token.token);
    if (!reply) {
        Error e = std::move(reply).error();
        std::string what = "role '" + profile.role + "' (" + path + ")";
        switch (e.code) {
            case Errc::VaultDenied:
                if (is_invalid_token(e)) {
                    e.code = Errc::NotLoggedIn;
                    e.message = "your Vault token has expired or was revoked; run: sshcert login";
                } else {
                    e.message = "Vault denied signing with " + what + ": " + e.message + "; your token's policies (" +
                                join(token.summary.policies, ", ") + ") do not allow update on " + path;
                }
                break;
            case Errc::VaultRefused:
                e.message = "Vault refused to sign for " + what + ": " + explain_refusal(e.message, profile);
                break;
            case Errc::NotFound:
                e.message = "Vault has no SSH secrets engine at '" + profile.mount + "' (check mount in profile '" +
                            profile.name + "')";
                break;
            default:
                break;
        }
        return e;
    }
    return vault::decode_signed_key(*reply);
}

Result<std::string> read_ca_public_key(const VaultClient& vault, const std::string& mount) {
    auto text = vault.get_text(mount + "/public_key");
    if (!text && text.error().code == Errc::NotFound)
        return Error{Errc::NotFound, "Vault's SSH engine at '" + mount + "' has no CA key configured (or no such mount)"};
    return text;
}

}  // namespace sshcert
