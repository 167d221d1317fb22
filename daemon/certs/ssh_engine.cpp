// SPDX-License-Identifier: Apache-2.0
#include "ssh_engine.hpp"

#include "vault_decode.hpp"
#include "vault_error.hpp"
#include "vault_path.hpp"

namespace sshcert {

namespace {
std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
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

Error explain_sign_error(Error e, const VaultToken& token, const config::Profile& profile, const std::string& path) {
    std::string what = "role '" + profile.role + "' (" + path + ")";
    std::string vault_text = e.detail.empty() ? e.message : e.detail;
    bool no_route = vault_text.find("no handler for route") != std::string::npos;
    if (e.code == Errc::NotFound || no_route) {
        e.code = Errc::NotFound;
        e.message = "Vault has no SSH secrets engine at '" + profile.mount + "' (check mount in profile '" + profile.name + "')";
    } else if (e.code == Errc::VaultDenied) {
        e.message = "Vault denied signing with " + what + ": " + vault_text + "; your token's policies (" +
                    join(token.summary.policies, ", ") + ") do not allow update on " + path;
    } else if (e.code == Errc::VaultRefused) {
        e.message = "Vault refused to sign for " + what + ": " + explain_refusal(vault_text, profile);
    }
    return e;
}
}  // namespace

std::vector<std::string> refused_extensions(const Error& e) {
    std::vector<std::string> out;
    if (e.code != Errc::VaultRefused) return out;
    for (const std::string* text : {&e.detail, &e.message}) {
        auto end = text->find("] are not on allowed list");
        auto start = text->rfind("extensions [", end);
        if (end == std::string::npos || start == std::string::npos) continue;
        std::string list = text->substr(start + 12, end - start - 12);
        for (std::size_t pos = 0; pos < list.size();) {
            auto space = list.find(' ', pos);
            auto name = list.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
            if (!name.empty()) out.push_back(name);
            if (space == std::string::npos) break;
            pos = space + 1;
        }
        break;
    }
    return out;
}

void sign_public_key(VaultClient& vault, const VaultToken& token, const config::Profile& profile,
                     const std::vector<std::string>& principals, const std::vector<std::string>& extensions,
                     const std::string& public_key_line, std::function<void(Result<SignedKey>)> done) {
    auto path = vault_path({mount(profile.mount), lit("sign"), name(profile.role, "role")});
    if (!path) return done(path.error());
    Json body{{"public_key", public_key_line}, {"cert_type", "user"}, {"valid_principals", join(principals, ",")}};
    if (profile.ttl.count() > 0) body["ttl"] = std::to_string(profile.ttl.count()) + "s";
    if (!extensions.empty()) {
        Json ext = Json::object();
        for (const auto& e : extensions) ext[e] = "";
        body["extensions"] = ext;
    }
    VaultCall call{.method = "POST", .path = *path, .body = std::move(body), .token = token.token};
    vault.call(std::move(call), [done = std::move(done), token, profile, path = *path](Result<VaultReply> r) {
        if (!r) return done(explain_sign_error(std::move(r).error(), token, profile, path));
        auto line = vault::decode_signed_key(r->json());
        if (!line) return done(line.error());
        done(SignedKey{std::move(*line), r->warnings()});
    });
}

void read_ca_public_key(VaultClient& vault, const std::string& mount_path, std::function<void(Result<std::string>)> done) {
    auto path = vault_path({mount(mount_path), lit("public_key")});
    if (!path) return done(path.error());
    vault.call(VaultCall{.path = *path, .text = true}, [done = std::move(done), mount_path](Result<VaultReply> r) {
        // public_key is unauthenticated only where an SSH engine is mounted: elsewhere Vault asks for a
        // token we do not send, and answers 403 "permission denied". An engine without a CA key reads as nothing: 404.
        bool no_route = !r && r.error().detail.find("no handler for route") != std::string::npos;
        if (!r && (r.error().code == Errc::VaultDenied || no_route))
            return done(Error{Errc::NotFound, "no SSH secrets engine at '" + mount_path +
                                                  "' (Vault asks for a token to read " + mount_path +
                                                  "/public_key, which it does only where no SSH engine is mounted); check the mount name",
                              r.error().detail});
        if (!r && r.error().code == Errc::NotFound)
            return done(Error{Errc::NotFound, "the SSH secrets engine at '" + mount_path +
                                                  "' has no CA key configured; ask your Vault admin to write " + mount_path + "/config/ca",
                              r.error().detail});
        if (!r) return done(r.error());
        done(r->text());
    });
}

}  // namespace sshcert
