// SPDX-License-Identifier: Apache-2.0
// Running a helper program (ssh -G) and capturing what it prints. Its stdin
// is /dev/null, so it never waits on or reads from the user's terminal.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "result.hpp"

namespace sshcert::client {

struct Captured {
    int exit_status = -1;  ///< the program's exit status; 128 + N when signal N ended it
    std::string out;
    std::string err;
    bool timed_out = false;  ///< it ran past the timeout and was killed
};

/// Runs `argv` (searched in PATH) with stdin at /dev/null, this environment plus `extra_env`, and
/// returns its stdout and stderr; an error only when it cannot be started at all. With a `timeout`
/// (0: none), the program and what it started (its process group) are killed once it has passed.
Result<Captured> run_capture(const std::vector<std::string>& argv,
                             const std::vector<std::pair<std::string, std::string>>& extra_env = {},
                             std::chrono::milliseconds timeout = std::chrono::milliseconds::zero());

}  // namespace sshcert::client
