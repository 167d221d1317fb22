// SPDX-License-Identifier: Apache-2.0
// Process hardening done first thing in main, in OpenSSH ssh-agent's order:
// memory holds private keys and tokens, so no core dumps, no ptrace by
// same-uid processes, locked and undumpable key pages, no SIGPIPE deaths.
#pragma once

#include <cstddef>

namespace sshcert {

/// OpenSSL's secure heap, where OpenSSL 3 keeps private keys: locked in RAM (mlock), left
/// out of core dumps, wiped on free. One key takes 2304 bytes for RSA-4096, 1792 for
/// RSA-3072, 64 for ECDSA P-384, 32 for P-256 and Ed25519 (tests/unit checks these). 4 MiB
/// holds about 1800 RSA-4096 keys: 1000 certificates with room to rotate them. Its cost is
/// 4 MiB of RAM locked for the daemon's life, within the 8 MiB RLIMIT_MEMLOCK that Linux
/// and systemd give a user's services by default. A power of two, as OpenSSL requires.
inline constexpr std::size_t kSecureHeapBytes = 4 * 1024 * 1024;

/// Applies every measure; failures of optional ones are logged, not fatal.
void harden_process();

enum class SecureHeap { Locked, Unlocked, Unavailable };
/// Sets up the secure heap of kSecureHeapBytes once (later calls only report what
/// the first did). Raises RLIMIT_MEMLOCK's soft limit toward the hard one first;
/// when the heap still cannot be locked, it is used unlocked, with a warning.
SecureHeap init_secure_heap();
/// The secure heap's size once init_secure_heap set it up, else 0.
std::size_t secure_heap_bytes();

}  // namespace sshcert
