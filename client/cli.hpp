// SPDX-License-Identifier: Apache-2.0
// The command line of `sshcert`, separate from main so tests can run it.
#pragma once

namespace sshcert::client {

/// Parses argv, runs the verb, returns the exit status.
int run(int argc, char** argv);

}  // namespace sshcert::client
