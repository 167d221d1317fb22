// SPDX-License-Identifier: Apache-2.0
// Reading the small local files a command is given (CA keys, a KRL), with a
// size bound so a wrong path such as /dev/zero cannot make us read forever;
// and replacing the user's files (ssh_config) so nobody ever reads half of one.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "result.hpp"

namespace sshcert::client {

/// The whole file, or an error naming `path` and the reason (missing, unreadable, a directory, too large).
Result<std::string> read_local_file(const std::string& path, std::size_t max_bytes);

/// Replaces `path` with `data`, mode `mode`: written to a new file beside it, then renamed over it.
Status write_local_file(const std::string& path, const std::string& data, mode_t mode);

/// Creates `dir` and any missing parents with mode 0700; an error names the one that failed.
Status make_dirs(const std::string& dir);
}  // namespace sshcert::client
