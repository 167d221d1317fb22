// SPDX-License-Identifier: Apache-2.0
// sshcert ssh: makes sure the daemon holds a valid certificate for the
// destination, then becomes OpenSSH with IdentityAgent set to our agent.
#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"
#include "ssh_args.hpp"

namespace sshcert::client {

namespace {

std::string ssh_program(const config::Getenv& getenv) {
    const char* p = getenv("SSHCERT_SSH");
    return p && *p ? p : "ssh";
}

/// The user ssh would log in as when the command line names none: `ssh -G`
/// evaluates ssh_config (User, Match) without connecting. Its stderr is dropped:
/// the ssh run next says the same (a config error, or why `sshcert ensure` failed).
std::string effective_user(const std::string& ssh, const std::vector<std::string>& args, std::size_t dest_index) {
    std::vector<std::string> g{ssh, "-G"};
    g.insert(g.end(), args.begin(), args.begin() + static_cast<std::ptrdiff_t>(dest_index) + 1);
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipefd[1], STDOUT_FILENO);
        if (int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC); null >= 0) ::dup2(null, STDERR_FILENO);
        std::vector<char*> argv;
        for (auto& s : g) argv.push_back(s.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(pipefd[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(pipefd[0]);
    int status = 0;
    if (pid > 0) ::waitpid(pid, &status, 0);
    for (std::size_t pos = 0; pos < out.size();) {
        auto nl = out.find('\n', pos);
        std::string line = out.substr(pos, nl - pos);
        if (line.starts_with("user ")) return line.substr(5);
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
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
