// SPDX-License-Identifier: Apache-2.0
// sshcert ssh: makes sure the daemon holds a valid certificate for the
// destination, then becomes OpenSSH with IdentityAgent set to our agent.
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"
#include "ssh_args.hpp"
#include "ssh_settings.hpp"

namespace sshcert::client {

namespace {

/// The user ssh would log in as when the command line names none: `ssh -G`
/// evaluates ssh_config (User, Match) without connecting. Its complaints are dropped:
/// the ssh run next says the same (a config error, or why `sshcert ensure` failed).
std::string effective_user(const std::string& ssh, const std::vector<std::string>& args, std::size_t dest_index) {
    std::vector<std::string> upto(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(dest_index) + 1);
    if (auto settings = query_ssh_settings(ssh, upto))
        if (auto user = settings->first("user")) return *user;
    if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
    return {};
}

}  // namespace

int cmd_ssh(const Context& ctx, const SshOptions& opts) {
    auto target = parse_ssh_args(opts.ssh_args);
    if (!target) return fail(target.error());
    std::string ssh = ssh_program(ctx.getenv);
    std::string user = target->user ? *target->user : effective_user(ssh, opts.ssh_args, target->destination_index);

    control::Json reply;
    if (int rc = ensure_certificate(ctx, target->host, user, opts.profile, reply); rc != 0) return rc;
    print_warnings(reply);
    std::string agent_socket = reply.value("agent_socket", "");
    if (agent_socket.empty()) return fail({Errc::InvalidMessage, "sshcertd did not say where its agent socket is"});

    auto argv_strings = build_ssh_argv(ssh, agent_socket, opts.ssh_args);
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    // ssh and whatever it runs (ProxyCommand, LocalCommand, a remote SendEnv) have no use for Vault's secret.
    ::unsetenv("VAULT_TOKEN");
    ::execvp(argv[0], argv.data());
    return fail({Errc::InvalidArgument, "cannot run " + ssh + ": " + std::strerror(errno) + " (is OpenSSH's client installed?)"});
}

}  // namespace sshcert::client
