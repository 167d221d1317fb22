// SPDX-License-Identifier: Apache-2.0
// Verifying an SSH signature against an SSH public key blob with OpenSSL:
// Ed25519, ECDSA (P-256/384/521) and RSA with SHA-2. Used to check the
// server's signature in OpenSSH's session-bind before trusting a binding.
#pragma once

#include "result.hpp"
#include "ssh_wire.hpp"

namespace sshcert {

/// Ok when `signature_blob` (string algorithm, string signature) is a valid
/// signature of `data` by `key_blob`. SHA-1 RSA signatures are refused.
Status verify_ssh_signature(wire::ByteView key_blob, wire::ByteView signature_blob, wire::ByteView data);

}  // namespace sshcert
