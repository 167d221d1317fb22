// SPDX-License-Identifier: Apache-2.0
#include "cert_source.hpp"

#include <boost/asio/post.hpp>

namespace sshcert {

std::string login_command(std::string_view vault) {
    return vault == config::kDefaultVault ? "sshcert login" : "sshcert login --vault " + std::string(vault);
}

std::function<bool(const CertKey&)> certs_of_vault(const config::Config& config, std::string vault) {
    return [&config, vault = std::move(vault)](const CertKey& key) {
        const config::Profile* p = config.find_profile(key.profile);
        return !p || p->vault == vault;
    };
}

Error not_logged_in(std::string_view vault) {
    std::string which = vault == config::kDefaultVault ? "Vault" : "Vault '" + std::string(vault) + "'";
    return Error{Errc::NotLoggedIn, "not logged in to " + which + "; run: " + login_command(vault)};
}

void CertSource::fetch(const CertKey& key, std::uint64_t generation, CertCache::Done done) {
    const config::Profile* profile = config_().find_profile(key.profile);
    if (!profile) return done(Error{Errc::NotFound, "profile '" + key.profile + "' is no longer configured"});
    VaultSession* session = sessions_(profile->vault);
    const VaultToken* token = session ? session->tokens().active() : nullptr;
    if (!token || session->tokens().generation() != generation) return done(not_logged_in(profile->vault));
    issuer_.issue(session->vault(), *token, *profile, key,
                  [this, vault = profile->vault, generation, done = std::move(done)](Result<std::shared_ptr<HeldCert>> r) {
                      if (r || r.error().code != Errc::VaultDenied) return done(std::move(r));
                      Error denial = r.error();
                      // Looked up again: a reload may have replaced or removed the session meanwhile.
                      VaultSession* now = sessions_(vault);
                      if (!now) return done(denial);
                      now->tokens().confirm_denial(generation, denial, [done, denial, vault](bool dead) {
                          if (!dead) return done(denial);
                          done(Error{Errc::NotLoggedIn,
                                     "your Vault token has expired or was revoked; run: " + login_command(vault), denial.detail});
                      });
                  });
}

}  // namespace sshcert
