// SPDX-License-Identifier: Apache-2.0
// Vault's SSH secrets engine: signing our public key with a role, and
// reading the CA's public key. Refusals are explained in the user's terms
// with Vault's own reason.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config.hpp"
#include "vault_client.hpp"
#include "vault_token.hpp"

namespace sshcert {

struct SignedKey {
    std::string line;                   ///< data.signed_key: "<type>-cert-v01@openssh.com <base64>\n"
    std::vector<std::string> warnings;  ///< Vault's own warnings on the reply
};

/// POST <mount>/sign/<role>, asking for `extensions` (none: the role's default_extensions).
void sign_public_key(VaultClient& vault, const VaultToken& token, const config::Profile& profile,
                     const std::vector<std::string>& principals, const std::vector<std::string>& extensions,
                     const std::string& public_key_line, std::function<void(Result<SignedKey>)> done);

/// The extensions a sign refusal names ("extensions [a b] are not on allowed list"), or none.
std::vector<std::string> refused_extensions(const Error& e);

/// GET <mount>/public_key (unauthenticated): the CA's authorized_keys line(s).
void read_ca_public_key(VaultClient& vault, const std::string& mount, std::function<void(Result<std::string>)> done);

}  // namespace sshcert
