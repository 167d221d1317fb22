// SPDX-License-Identifier: Apache-2.0
// Where the cache's new certificates come from: the profile as configured
// now, the token of the login the request was made under, and the issuer.
// A denial is confirmed with the session first, so a dead token (on any
// Vault version) reads "run: sshcert login" rather than a policy complaint.
#pragma once

#include <functional>

#include "cert_cache.hpp"
#include "cert_issuer.hpp"
#include "config.hpp"
#include "vault_session.hpp"

namespace sshcert {

class CertSource {
public:
    CertSource(std::function<const config::Config&()> config, std::function<VaultSession&()> session, CertIssuer& issuer)
        : config_(std::move(config)), session_(std::move(session)), issuer_(issuer) {}
    void fetch(const CertKey& key, std::uint64_t generation, CertCache::Done done);

private:
    std::function<const config::Config&()> config_;
    std::function<VaultSession&()> session_;
    CertIssuer& issuer_;
};

/// The error for an ensure while no login is active.
Error not_logged_in();

}  // namespace sshcert
