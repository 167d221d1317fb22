// SPDX-License-Identifier: Apache-2.0
#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "commands/commands.hpp"
#include "paths.hpp"
#include "version.hpp"

namespace sshcert::client {

int exit_status(Errc code) {
    switch (code) {
        case Errc::DaemonUnavailable:
        case Errc::NotLoggedIn:
        case Errc::VaultUnreachable:
        case Errc::VaultDenied:
        case Errc::VaultRefused:
        case Errc::VaultUnavailable:
        case Errc::VaultBadResponse:
        case Errc::InvalidMessage:
        case Errc::MessageTooLarge:
        case Errc::Truncated:
            return 2;
        default:
            return 1;
    }
}

int fail(const Error& e) {
    std::cerr << "sshcert: " << e.message << "\n";
    return exit_status(e.code);
}

namespace {

/// Splits our own leading options off `sshcert ssh ...`; everything from the first other argument is ssh's.
Result<SshOptions> split_ssh_options(const std::vector<std::string>& args) {
    SshOptions o;
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--profile") {
            if (i + 1 == args.size()) return Error{Errc::InvalidArgument, "--profile needs a profile name"};
            o.profile = args[++i];
        } else if (a.starts_with("--profile=")) {
            o.profile = a.substr(10);
        } else {
            break;
        }
    }
    o.ssh_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    return o;
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App app{"sshcert: short-lived SSH certificates from HashiCorp Vault.\n\n"
                 "Examples:\n"
                 "  sshcert login --method userpass --username alice\n"
                 "  sshcert ssh ubuntu@10.0.2.15 uptime\n"
                 "  sshcert status\n",
                 "sshcert"};
    app.require_subcommand(1);
    app.footer("Exit status: 0 success, 1 local problem (flags, config), 2 daemon or Vault problem;\n"
               "`sshcert ssh` exits with ssh's own status.\n"
               "Environment: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH, VAULT_SKIP_VERIFY,\n"
               "XDG_CONFIG_HOME, XDG_RUNTIME_DIR, SSHCERT_SSH (the ssh program to run).");
    std::optional<std::string> config_path;
    app.add_option("-c,--config", config_path, "config file (default: $XDG_CONFIG_HOME/sshcert/config.toml, else /etc/sshcert/config.toml)")
        ->type_name("FILE");
    bool show_version = false;
    app.add_flag("--version", show_version, "print the version");

    LoginOptions login;
    auto* login_cmd = app.add_subcommand("login", "log in to Vault; the daemon keeps the token in memory");
    login_cmd->add_option("-m,--method", login.method, "token or userpass (default: [auth] method, else token)")
        ->check(CLI::IsMember({"token", "userpass"}));
    login_cmd->add_option("--mount", login.mount, "auth mount path (default: the method's name)");
    login_cmd->add_option("-u,--username", login.username, "userpass user (default: [auth] username, else $USER)");
    login_cmd->add_flag("--token-stdin", login.token_stdin, "read the token from standard input");
    login_cmd->add_flag("--password-stdin", login.password_stdin, "read the password from standard input");

    bool status_json = false;
    auto* status_cmd = app.add_subcommand("status", "show the Vault login and the certificates held");
    status_cmd->add_flag("--json", status_json, "machine-readable output");

    auto* logout_cmd = app.add_subcommand("logout", "revoke the Vault token and wipe every key");

    auto* ssh_cmd = app.add_subcommand("ssh", "run ssh with a valid certificate: sshcert ssh [--profile P] [ssh options] [user@]host [command]");
    ssh_cmd->prefix_command();  // every argument belongs to ssh, option-looking or not

    auto* version_cmd = app.add_subcommand("version", "print the version");

    std::string completion_shell;
    auto* completion_cmd = app.add_subcommand("completion", "print a shell completion script, e.g. source <(sshcert completion bash)");
    completion_cmd->add_option("shell", completion_shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));

    auto* setup_cmd = app.add_subcommand("setup", "enable and start sshcertd's systemd user units; print the ~/.ssh/config lines");

    app.require_subcommand(show_version ? 0 : 1);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;
    }
    if (show_version || *version_cmd) {
        std::cout << "sshcert " << kVersion << "\n";
        return 0;
    }

    if (*completion_cmd) return cmd_completion(app, completion_shell);

    auto getenv = [](const char* n) { return std::getenv(n); };
    Context ctx{getenv, config_path, ControlClient(config::runtime_dir(getenv), daemon_start_command(getenv, systemd_booted()))};
    if (*login_cmd) return cmd_login(ctx, login);
    if (*status_cmd) return cmd_status(ctx, status_json);
    if (*logout_cmd) return cmd_logout(ctx);
    if (*setup_cmd) return cmd_setup(ctx);
    if (*ssh_cmd) {
        auto opts = split_ssh_options(ssh_cmd->remaining());
        if (!opts) return fail(opts.error());
        return cmd_ssh(ctx, *opts);
    }
    return 1;
}

}  // namespace sshcert::client
