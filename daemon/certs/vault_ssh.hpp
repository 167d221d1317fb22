// SPDX-License-Identifier: Apache-2.0
// Vault's SSH secrets engine: signing our public key with a role, and
// reading the CA's public key. Blocking; run on a worker thread.
#pragma once

#include <string>
#include <vector>

#include "auth.hpp"
#include "config.hpp"
#include "vault_client.hpp"

namespace sshcert {

/// POST <mount>/sign/<role>; returns the signed_key line. Refusals are
/// explained in the user's terms with Vault's own reason.
Result<std::string> sign_public_key(const VaultClient& vault, const VaultToken& token, const config::Profile& profile,
                                    const std::vector<std::string>& principals, const std::string& public_key_line);

/// GET <mount>/public_key (unauthenticated): the CA's authorized_keys line(s).
Result<std::string> read_ca_public_key(const VaultClient& vault, const std::string& mount);

}  // namespace sshcert
