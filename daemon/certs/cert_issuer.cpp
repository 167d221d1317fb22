// SPDX-License-Identifier: Apache-2.0
#include "cert_issuer.hpp"

#include <algorithm>
#include <cstdio>

#include "cert_check.hpp"
#include "log.hpp"
#include "ssh_engine.hpp"

namespace sshcert {

void CertIssuer::issue(std::shared_ptr<VaultClient> vault, const VaultToken& token, const config::Profile& profile, const CertKey& key,
                       CertCache::Done done) {
    // The token and profile are copied: a logout or reload may replace them before Vault answers.
    keys_.make(profile.key_type, [this, vault, token, profile, key, done = std::move(done)](
                                     Result<std::shared_ptr<const SshKey>> ssh_key) mutable {
        if (!ssh_key) return done(ssh_key.error());
        auto extensions = profile.auto_extensions ? key.extensions : profile.extensions;
        sign(std::move(vault), token, profile, key, *ssh_key, std::move(extensions), {}, std::move(done));
    });
}

void CertIssuer::sign(std::shared_ptr<VaultClient> vault, const VaultToken& token, const config::Profile& profile, const CertKey& key,
                      std::shared_ptr<const SshKey> ssh_key, std::vector<std::string> extensions, std::vector<std::string> refused,
                      CertCache::Done done) {
    auto sent = format_key_line(ssh_key->public_blob());
    sign_public_key(
        *vault, token, profile, key.principals, extensions, sent,
        [this, vault, token, profile, key, ssh_key, extensions, refused, done = std::move(done)](Result<SignedKey> signed_key) mutable {
            if (!signed_key && profile.auto_extensions) {
                // extensions = "auto" asks for what ssh may use; the role decides. Once more without what it
                // refused; when that is everything, with none, which gives the role's default_extensions.
                auto now_refused = refused_extensions(signed_key.error());
                auto before = extensions.size();
                std::erase_if(extensions, [&](const std::string& e) {
                    return std::find(now_refused.begin(), now_refused.end(), e) != now_refused.end();
                });
                if (extensions.size() < before) {
                    refused.insert(refused.end(), now_refused.begin(), now_refused.end());
                    log::info("profile ", profile.name, ": role ", profile.role, " refused extensions; asking without them");
                    return sign(std::move(vault), token, profile, key, std::move(ssh_key), std::move(extensions), std::move(refused),
                                std::move(done));
                }
            }
            if (!signed_key) return done(signed_key.error());
            auto line = parse_key_line(signed_key->line);
            if (!line)
                return done(Error{Errc::VaultBadResponse, "Vault returned a signed_key that is not a certificate: " + line.error().message});
            auto cert = parse_certificate(line->blob);
            if (!cert) return done(Error{Errc::VaultBadResponse, "Vault returned an unusable certificate: " + cert.error().message});
            auto warnings = check_issued(*cert, ssh_key->public_blob(), key, profile, vault_now_());
            if (!warnings) return done(warnings.error());
            for (const auto& w : signed_key->warnings) warnings->push_back("Vault: " + w);
            char serial[17];
            std::snprintf(serial, sizeof serial, "%llx", static_cast<unsigned long long>(cert->serial));
            auto held = std::make_shared<HeldCert>(
                HeldCert{key, ssh_key, std::move(line->blob), std::move(*cert), serial, std::move(*warnings), std::move(refused)});
            const auto& c = held->cert;
            log::info("certificate for profile ", key.profile, ": key_id=", c.key_id, " serial=", serial,
                      " key=", fingerprint_sha256(c.public_key), " valid_before=", c.valid_before);
            for (const auto& w : held->warnings) log::warn("profile ", key.profile, ": ", w);
            done(std::move(held));
        });
}

}  // namespace sshcert
