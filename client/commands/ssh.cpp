// SPDX-License-Identifier: Apache-2.0
// sshcert ssh: makes sure the daemon holds a valid certificate for every hop
// (the bastions of ProxyJump or ProxyCommand, then the destination), then
// becomes OpenSSH with IdentityAgent and SSH_AUTH_SOCK set to our agent.
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"
#include "ssh_args.hpp"
#include "ssh_args_extensions.hpp"
#include "ssh_args_hops.hpp"
#include "ssh_settings.hpp"

namespace sshcert::client {

namespace {

std::string local_user() {
    if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
    return {};
}

/// "the certificate for profile prod has no permit-port-forwarding: role prod does not allow it; -L will fail",
/// for each extension ssh's flags need that the role refused.
void warn_refused(const control::Json& reply, const std::vector<std::string>& needed, const config::Config* config,
                  const std::string& flags, const Hop& hop) {
    auto refused = reply.value("refused_extensions", std::vector<std::string>{});
    auto cert = reply.value("certificate", control::Json::object());
    auto profile = cert.value("profile", std::string());
    auto granted = cert.value("extensions", std::vector<std::string>{});  // the role's defaults may hold it after all
    const config::Profile* p = config ? config->find_profile(profile) : nullptr;
    std::string role = p ? "role " + p->role : "its role";
    for (const auto& e : refused) {
        if (std::find(needed.begin(), needed.end(), e) == needed.end() ||
            std::find(granted.begin(), granted.end(), e) != granted.end())
            continue;
        auto effect = effect_without(e, flags, hop.jump);
        if (!effect) continue;
        std::cerr << "sshcert: warning: the certificate for profile " << profile << (hop.jump ? " (bastion " + hop.host + ")" : "")
                  << " has no " << e << ": " << role << " does not allow it; " << *effect << "\n";
    }
}

}  // namespace

const char* const kSshUsage =
    "Usage: sshcert ssh [--profile NAME] [ssh options] [user@]host [ssh options] [command]\n"
    "\n"
    "Makes sure sshcertd holds a valid certificate for the destination and for every bastion on the way\n"
    "(-J, ProxyJump, ProxyCommand ssh -W ...), each for its own profile and remote user as ssh_config gives\n"
    "them, then runs ssh with IdentityAgent (and, through bastions, SSH_AUTH_SOCK) set to sshcert's agent.\n"
    "A profile with extensions = \"auto\" gets only the certificate extensions ssh's flags need.\n"
    "\n"
    "Options (before ssh's arguments):\n"
    "  --profile NAME  the profile for the destination, instead of the first whose hosts match it\n"
    "  --help          print this help\n"
    "\n"
    "Every other argument goes to ssh unchanged (see ssh(1)); ssh's exit status is sshcert's.\n";

int cmd_ssh(const Context& ctx, const SshOptions& opts) {
    auto target = parse_ssh_args(opts.ssh_args);
    if (!target) return fail(target.error());
    std::string ssh = ssh_program(ctx.getenv);
    auto hops = resolve_hops(*target, opts.ssh_args, ssh_config_query(ssh), local_user());
    if (!hops) return fail(hops.error());
    auto config = ctx.load_config();

    std::string agent_socket;
    bool bastion_served = false;
    for (const Hop& hop : *hops) {
        // A bastion no profile matches is reached with the user's own keys, as without sshcert.
        if (hop.jump && config && !config->profile_for_host(hop.host)) continue;
        std::string flags = target->flags + hop.config_flags;
        auto needed = hop.jump ? jump_extensions() : needed_extensions(flags);
        control::Json reply;
        EnsureRequest request{.host = hop.host,
                              .user = hop.user,
                              .profile = hop.jump ? std::nullopt : opts.profile,
                              .extensions = needed,
                              .hop = hop.jump ? "bastion " + hop.host : ""};
        if (int rc = ensure_certificate(ctx, request, reply); rc != 0) return rc;
        print_warnings(reply);
        warn_refused(reply, needed, config ? &*config : nullptr, flags, hop);
        std::string socket = reply.value("agent_socket", "");
        if (socket.empty()) return fail({Errc::InvalidMessage, "sshcertd did not say where its agent socket is"});
        // Hops of different profiles: the main socket, which offers every profile's certificates.
        if (!agent_socket.empty() && socket != agent_socket) socket = reply.value("agent_socket_all", socket);
        agent_socket = socket;
        bastion_served = bastion_served || hop.jump;
    }
    if (agent_socket.empty()) return fail({Errc::InvalidMessage, "sshcertd did not say where its agent socket is"});

    auto argv_strings = build_ssh_argv(ssh, agent_socket, opts.ssh_args);
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    // ssh and whatever it runs (ProxyCommand, LocalCommand, a remote SendEnv) have no use for Vault's secret.
    ::unsetenv("VAULT_TOKEN");
    // The ssh a ProxyJump or ProxyCommand starts reads ssh_config, not our -o: it finds the agent here.
    if (bastion_served) ::setenv("SSH_AUTH_SOCK", agent_socket.c_str(), 1);
    ::setenv(kHopsEnsured, "1", 1);
    ::execvp(argv[0], argv.data());
    return fail({Errc::InvalidArgument, "cannot run " + ssh + ": " + std::strerror(errno) + " (is OpenSSH's client installed?)"});
}

}  // namespace sshcert::client
