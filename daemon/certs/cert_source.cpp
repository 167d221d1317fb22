// SPDX-License-Identifier: Apache-2.0
#include "cert_source.hpp"

#include <boost/asio/post.hpp>

namespace sshcert {

Error not_logged_in() { return Error{Errc::NotLoggedIn, "not logged in to Vault; run: sshcert login"}; }

void CertSource::fetch(const CertKey& key, std::uint64_t generation, CertCache::Done done) {
    VaultSession& session = session_();
    const VaultToken* token = session.tokens().active();
    const config::Profile* profile = config_().find_profile(key.profile);
    if (!token || session.tokens().generation() != generation) return done(not_logged_in());
    if (!profile) return done(Error{Errc::NotFound, "profile '" + key.profile + "' is no longer configured"});
    issuer_.issue(session.vault(), *token, *profile, key,
                  [this, generation, done = std::move(done)](Result<std::shared_ptr<HeldCert>> r) {
                      if (r || r.error().code != Errc::VaultDenied) return done(std::move(r));
                      Error denial = r.error();
                      session_().tokens().confirm_denial(generation, denial, [done, denial](bool dead) {
                          if (!dead) return done(denial);
                          done(Error{Errc::NotLoggedIn, "your Vault token has expired or was revoked; run: sshcert login",
                                     denial.detail});
                      });
                  });
}

}  // namespace sshcert
