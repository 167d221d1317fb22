// SPDX-License-Identifier: Apache-2.0
// Reading ssh(1)'s own argument grammar (OpenSSH 9.x) to find the
// destination and the remote user, and building the argv we exec.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "result.hpp"

namespace sshcert::client {

struct SshTarget {
    std::string host;                 ///< as typed, the name ssh_config's Host matches
    std::optional<std::string> user;  ///< from -l, -o User=, or user@host (ssh's precedence)
    std::size_t destination_index = 0;
};

/// Finds the destination among ssh's arguments; an error when there is none
/// or an option lacks its value.
Result<SshTarget> parse_ssh_args(const std::vector<std::string>& args);

/// The argv for exec: ssh with IdentityAgent pointed at our socket, then the user's arguments.
std::vector<std::string> build_ssh_argv(const std::string& ssh_program, const std::string& agent_socket,
                                        const std::vector<std::string>& args);

}  // namespace sshcert::client
