// SPDX-License-Identifier: Apache-2.0
// Process hardening done first thing in main, in OpenSSH ssh-agent's order:
// memory holds private keys and tokens, so no core dumps, no ptrace by
// same-uid processes, locked and undumpable key pages, no SIGPIPE deaths.
#pragma once

namespace sshcert {

/// Applies every measure; failures of optional ones are logged, not fatal.
void harden_process();

}  // namespace sshcert
