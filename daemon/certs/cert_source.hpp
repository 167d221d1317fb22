// SPDX-License-Identifier: Apache-2.0
// Where the cache's new certificates come from: the profile as configured
// now, the token of the login the request was made under at the profile's
// Vault, and the issuer.
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
    /// The session of Vault `name` (config::kDefaultVault or a [vault.<name>]), or nullptr.
    using Sessions = std::function<VaultSession*(std::string_view name)>;
    CertSource(std::function<const config::Config&()> config, Sessions sessions, CertIssuer& issuer)
        : config_(std::move(config)), sessions_(std::move(sessions)), issuer_(issuer) {}
    /// `generation` is the login generation of the profile's session.
    void fetch(const CertKey& key, std::uint64_t generation, CertCache::Done done);

private:
    std::function<const config::Config&()> config_;
    Sessions sessions_;
    CertIssuer& issuer_;
};

/// The error for an ensure while no login to `vault` is active.
Error not_logged_in(std::string_view vault = config::kDefaultVault);
/// Picks the certificates of Vault `vault`'s profiles (and of profiles no longer configured),
/// for CertCache::clear_if when that one Vault's login ends.
std::function<bool(const CertKey&)> certs_of_vault(const config::Config& config, std::string vault);
/// "sshcert login", with --vault for a named Vault.
std::string login_command(std::string_view vault);

}  // namespace sshcert
