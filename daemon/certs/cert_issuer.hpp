// SPDX-License-Identifier: Apache-2.0
// Turns (token, profile, principals) into a HeldCert: a fresh key, Vault's
// signature, and the checks in cert_check.hpp. Asynchronous; event loop only.
#pragma once

#include <functional>
#include <memory>

#include "cert_cache.hpp"
#include "config.hpp"
#include "key_maker.hpp"
#include "vault_client.hpp"
#include "vault_token.hpp"

namespace sshcert {

class CertIssuer {
public:
    CertIssuer(KeyMaker& keys, Clock vault_now) : keys_(keys), vault_now_(std::move(vault_now)) {}
    void issue(std::shared_ptr<VaultClient> vault, const VaultToken& token, const config::Profile& profile, const CertKey& key,
               CertCache::Done done);

private:
    /// Signs `ssh_key` asking for `extensions`; `refused` are those a role refused already.
    void sign(std::shared_ptr<VaultClient> vault, const VaultToken& token, const config::Profile& profile, const CertKey& key,
              std::shared_ptr<const SshKey> ssh_key, std::vector<std::string> extensions, std::vector<std::string> refused,
              CertCache::Done done);

    KeyMaker& keys_;
    Clock vault_now_;
};

}  // namespace sshcert
