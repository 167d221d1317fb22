// SPDX-License-Identifier: Apache-2.0
// Running a helper program (ssh -G) and capturing what it prints. Its stdin
// is /dev/null, so it never waits on or reads from the user's terminal.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "result.hpp"

namespace sshcert::client {

struct Captured {
    int exit_status = -1;  ///< the program's exit status; 128 + N when signal N ended it
    std::string out;
    std::string err;
};

/// Runs `argv` (searched in PATH) with stdin at /dev/null, this environment plus `extra_env`, and
/// returns its stdout and stderr; an error only when it cannot be started at all.
Result<Captured> run_capture(const std::vector<std::string>& argv,
                             const std::vector<std::pair<std::string, std::string>>& extra_env = {});

}  // namespace sshcert::client
