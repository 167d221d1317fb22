// SPDX-License-Identifier: Apache-2.0
// sshcert setup: enables and starts sshcertd's socket units in the user's
// systemd manager, checks that the daemon answers, and installs the ssh_config
// blocks that give plain ssh its certificates (sshcert ssh-config --install).
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"

extern char** environ;

namespace sshcert::client {

namespace {

/// Runs argv (found on PATH) with our stdin/stdout/stderr; its exit status, or an error.
Result<int> run_program(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    if (int e = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ); e != 0)
        return Error{Errc::NotFound, "cannot run " + argv[0] + ": " + std::strerror(e)};
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return Error{Errc::Internal, std::string("waitpid: ") + std::strerror(errno)};
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int cmd_setup(const Context& ctx) {
    auto config = ctx.load_config();
    if (!config) return fail(config.error());

    std::vector<std::string> enable{"systemctl", "--user", "enable", "--now", "sshcertd.socket", "sshcertd-control.socket"};
    auto rc = run_program(enable);
    if (!rc || *rc != 0)
        return fail({Errc::InvalidArgument, "`" + join(enable, " ") + "` " + (rc ? "failed" : "could not run: " + rc.error().message) +
                                                "; setup needs the sshcertd package's user units and a systemd user manager. "
                                                "Without them, start the daemon with `sshcertd &`, and run `sshcert ssh-config --install` for plain ssh"});
    std::cout << "Enabled sshcertd.socket and sshcertd-control.socket: systemd starts sshcertd when it is first needed, "
                 "now and at every login.\n";
    auto status = ctx.daemon.call(control::make_request(control::op::kStatus));
    if (!status) {
        std::cerr << "sshcert: sshcertd does not answer: " << status.error().message
                  << "\n         see its log: journalctl --user -u sshcertd\n";
        return exit_status(status.error().code);
    }
    std::cout << "sshcertd answers on " << config::control_socket_path(ctx.daemon.runtime_dir()) << ".\n\n";

    if (config->profiles.empty()) {
        std::cout << "No [[profile]] is configured yet" << (config->source.empty() ? "" : " in " + config->source)
                  << "; add one (see sshcert.toml(5)) and run `sshcert setup` again for plain ssh to get certificates.\n";
        return 0;
    }
    if (auto st = install_ssh_config(ctx, *config); !st) return fail(st.error());
    std::cout << "\nPlain ssh, scp, sftp, rsync and git now get certificates for these profiles' hosts: ssh runs\n"
                 "`sshcert ensure` for them (after `sshcert login`; `sshcert ssh-config` shows the blocks).\n";
    return 0;
}

}  // namespace sshcert::client
