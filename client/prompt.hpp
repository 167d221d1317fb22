// SPDX-License-Identifier: Apache-2.0
// Reading secrets from the terminal (no echo) or from standard input.
#pragma once

#include <cstddef>
#include <string>

#include "result.hpp"

namespace sshcert::client {

/// Prompts on /dev/tty with echo off and reads one line. `what` names the secret in errors
/// ("password"), `otherwise` says how to give it without a terminal.
Result<std::string> prompt_secret(const std::string& prompt, const char* what = "password",
                                  const char* otherwise = "pipe it in with --password-stdin");
/// True when this process has a terminal to prompt on.
bool have_terminal();
/// Reads standard input up to the first newline (or EOF), without the newline.
Result<std::string> read_secret_line_from_stdin(const char* what);
/// Overwrites a secret once used, in a way the compiler may not drop as a dead store.
void wipe(void* data, std::size_t size);

}  // namespace sshcert::client
