// SPDX-License-Identifier: Apache-2.0
// Reading the small local files a command is given (CA keys, a KRL), with a
// size bound so a wrong path such as /dev/zero cannot make us read forever.
#pragma once

#include <cstddef>
#include <string>

#include "result.hpp"

namespace sshcert::client {

/// The whole file, or an error naming `path` and the reason (missing, unreadable, a directory, too large).
Result<std::string> read_local_file(const std::string& path, std::size_t max_bytes);

}  // namespace sshcert::client
