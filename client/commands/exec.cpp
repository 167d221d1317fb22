// SPDX-License-Identifier: Apache-2.0
// sshcert exec: runs a command with SSH_AUTH_SOCK at sshcertd's agent, for the
// tools that find their agent in the environment rather than in ssh_config
// (libssh, Paramiko, Go's x/crypto/ssh). Only the command's environment changes.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"

namespace sshcert::client {

int cmd_exec(const Context& ctx, const ExecOptions& opts) {
    std::string socket = config::agent_socket_path(ctx.daemon.runtime_dir());
    if (opts.profile) {
        auto config = ctx.load_config();
        if (!config) return fail(config.error());
        if (!config->find_profile(*opts.profile)) {
            std::vector<std::string> names;
            for (const auto& p : config->profiles) names.push_back(p.name);
            return fail({Errc::NotFound, "no profile named '" + *opts.profile + "' in " +
                                             (config->source.empty() ? config::default_config_path(ctx.getenv) : config->source) +
                                             " (profiles: " + (names.empty() ? "none" : join(names, ", ")) + ")"});
        }
        socket = config::profile_agent_socket_path(ctx.daemon.runtime_dir(), *opts.profile);
    }
    ::setenv("SSH_AUTH_SOCK", socket.c_str(), 1);
    ::unsetenv("VAULT_TOKEN");  // the command has no use for Vault's secret

    std::vector<std::string> command = opts.command;
    std::vector<char*> argv;
    for (auto& s : command) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    ::execvp(argv[0], argv.data());
    int e = errno;
    std::cerr << "sshcert: cannot run " << command[0] << ": " << std::strerror(e) << "\n";
    return e == ENOENT ? 127 : 126;  // as env(1) and the shells: not found, found but not runnable
}

}  // namespace sshcert::client
