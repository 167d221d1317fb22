// SPDX-License-Identifier: Apache-2.0
// Reading ssh(1)'s own argument grammar (OpenSSH 9.x) to find the
// destination, the remote user and the options, and building the argv we exec.
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
    std::size_t command_index = 0;    ///< the remote command's first word, or the number of arguments
    /// -F, -l, -o, -P, -p and -J, each as two words ("-p", "22"): what ssh_config's evaluation
    /// (`ssh -G`) depends on, without -t or -W, which `ssh -G` warns about or cannot expand.
    std::vector<std::string> config_options;
    std::optional<std::string> config_file;  ///< -F, which ssh passes on to the ssh a ProxyJump starts
    std::string flags;                       ///< every option letter given, in order ("tL" for -t -L 8080:x:80)
};

/// Finds the destination among ssh's arguments: options may come before and after it, as ssh
/// allows, up to the first other argument (the remote command) or "--". An error when there is
/// no destination or an option lacks its value.
Result<SshTarget> parse_ssh_args(const std::vector<std::string>& args);

/// Splits "user@host", "ssh://user@host:port", "user@[::1]:port" (a ProxyJump entry) into user,
/// host and port; `with_port` reads a ":port" after the host, as ProxyJump does.
struct Destination {
    std::optional<std::string> user;
    std::string host;
    std::optional<std::string> port;
};
Destination split_destination(std::string_view dest, bool with_port);

/// The argv for exec: ssh with IdentityAgent pointed at our socket, then the user's arguments.
std::vector<std::string> build_ssh_argv(const std::string& ssh_program, const std::string& agent_socket,
                                        const std::vector<std::string>& args);

}  // namespace sshcert::client
