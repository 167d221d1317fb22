// SPDX-License-Identifier: Apache-2.0
#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "commands/commands.hpp"
#include "paths.hpp"
#include "suggest.hpp"
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
        } else if (a == "--help" || a == "-h") {  // ssh has no -h
            o.help = true;
        } else {
            break;
        }
    }
    o.ssh_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    return o;
}

std::vector<std::string> command_names(const CLI::App& app) {
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
    return names;
}

/// "sshcert: unknown command 'X'. Did you mean 'Y'?" and where to look next.
std::string unknown_command_message(const std::string& typed, const std::vector<std::string>& names) {
    std::string msg = "sshcert: unknown command '" + typed + "'.";
    if (auto near = closest_match(typed, names)) msg += " Did you mean '" + *near + "'?";
    return msg + "\nRun `sshcert --help` for the list of commands.\n";
}

/// The message for a first word that names no command, before CLI11 turns it into
/// "The following arguments were not expected".
std::optional<std::string> unknown_command(const CLI::App& app, int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-c" || a == "--config") {
            ++i;
            continue;
        }
        if (a.starts_with("-")) continue;
        auto names = command_names(app);
        for (const auto& n : names)
            if (n == a) return std::nullopt;
        return unknown_command_message(std::string(a), names);
    }
    return std::nullopt;
}

int print_help(const CLI::App& app, const std::string& topic) {
    if (topic.empty()) {
        std::cout << app.help();
        return 0;
    }
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        if (sub->get_name() == topic) {
            std::cout << sub->help(app.get_name());
            return 0;
        }
    std::cerr << unknown_command_message(topic, command_names(app));
    return 1;
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App app{"sshcert: short-lived SSH certificates from HashiCorp Vault.\n\n"
                 "Examples:\n"
                 "  sshcert login --method userpass --username alice\n"
                 "  sshcert ssh ubuntu@web-1.prod.example.com uptime\n"
                 "  sshcert ssh-config --install   # then plain ssh, scp, rsync and git get certificates too\n"
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
    login_cmd->add_option("-m,--method", login.method, config::login_method_list("or") + " (default: [auth] method, else token)")
        ->check(CLI::IsMember(std::vector<std::string>(config::kLoginMethods.begin(), config::kLoginMethods.end())));
    login_cmd->add_option("--mount", login.mount, "auth mount path (default: the method's name)");
    login_cmd->add_option("-u,--username", login.username, "userpass or ldap user (default: [auth] username, else $USER)");
    login_cmd->add_option("--vault", login.vault, "log in to this [vault.<name>] of the config, with its [auth.<name>] defaults "
                                                  "(default: the default [vault], or the one VAULT_ADDR names)")
        ->type_name("NAME");
    login_cmd->add_flag("--token-stdin", login.token_stdin,
                        "read the token from standard input (else VAULT_TOKEN, the Vault CLI's token_helper, ~/.vault-token)");
    login_cmd->add_flag("--password-stdin", login.password_stdin, "read the password from standard input");
    login_cmd->add_option("--mfa-passcode", login.mfa_passcode,
                          "answer Vault's login MFA with this one-time passcode instead of asking for it")
        ->type_name("CODE");
    login_cmd->add_option("--aws-mfa-code", login.aws_mfa_code,
                          "aws: the MFA code for the profile's mfa_serial instead of asking for it")
        ->type_name("CODE");
    login_cmd->add_option("--role", login.role,
                          "oidc: the Vault role (default: [auth] role, else the mount's default_role); cert: the certs/ entry "
                          "to match (default: [auth] role, else any); aws: the Vault aws role (default: [auth] role, else "
                          "the IAM name)")
        ->type_name("ROLE");
    login_cmd->add_flag("--no-browser", login.no_browser,
                        "oidc: print the sign-in URL instead of opening a browser, and read the address the browser "
                        "ended on from standard input (for a remote shell)");

    bool status_json = false;
    auto* status_cmd = app.add_subcommand("status", "show the Vault login and the certificates held");
    status_cmd->add_flag("--json", status_json, "machine-readable output");

    bool logout_revoke = false;
    std::optional<std::string> logout_vault;
    auto* logout_cmd = app.add_subcommand("logout", "revoke the Vault token and wipe every key (of every Vault, unless --vault "
                                                    "or VAULT_ADDR names one)");
    logout_cmd->add_option("--vault", logout_vault, "log out of this [vault.<name>] only, wiping its profiles' keys")
        ->type_name("NAME");
    logout_cmd->add_flag("--revoke", logout_revoke,
                         "revoke the token even when it came from VAULT_TOKEN, a token helper or ~/.vault-token (kept by default)");

    auto* ssh_cmd = app.add_subcommand("ssh", "run ssh with a valid certificate: sshcert ssh [--profile P] [ssh options] [user@]host [command]");
    ssh_cmd->prefix_command();  // every argument belongs to ssh, option-looking or not
    ssh_cmd->set_help_flag();   // --help is read with --profile (split_ssh_options), to say what goes to ssh

    EnsureOptions ensure;
    auto* ensure_cmd = app.add_subcommand("ensure", "make sure the daemon holds a valid certificate for a host and remote user; "
                                                    "what ssh runs for plain ssh (see ssh-config)");
    ensure_cmd->add_option("--host", ensure.host, "the host as typed (ssh's %n); the first profile whose hosts match it is used")
        ->required()->type_name("HOST");
    ensure_cmd->add_option("--user", ensure.user, "the remote user (ssh's %r): the principal, unless the profile names principals")
        ->required()->type_name("USER");
    ensure_cmd->add_option("--profile", ensure.profile, "use this profile instead of matching the host");
    ensure_cmd->add_flag("-q,--quiet", ensure.quiet, "print nothing on success");
    ensure_cmd->footer("Fetches a certificate from Vault only when the daemon holds none with a safety margin left. On failure it\n"
                       "prints one line on stderr and exits 1 or 2; it never prompts without a terminal (ssh gives it none).\n"
                       "At a terminal (stdin and stderr), a missing login is asked for as `sshcert login` does.\n\n"
                       "Example:\n"
                       "  sshcert ensure --host web-1.prod.example.com --user ubuntu");

    ExecOptions exec;
    auto* exec_cmd = app.add_subcommand("exec", "run a command with SSH_AUTH_SOCK set to sshcertd's agent: "
                                                "sshcert exec [--profile P] -- CMD [ARGS]");
    exec_cmd->add_option("--profile", exec.profile, "that profile's own agent socket instead of agent.sock (every certificate)");
    exec_cmd->add_option("command", exec.command, "the command and its arguments, after --")->required()->type_name("COMMAND");
    exec_cmd->footer("Only the command's environment changes: SSH_AUTH_SOCK is set and VAULT_TOKEN removed. It exits with the\n"
                     "command's status (127: not found, 126: not runnable). It fetches nothing: for tools that take the agent\n"
                     "from SSH_AUTH_SOCK rather than ssh_config, run `sshcert ensure` first.\n\n"
                     "Example:\n"
                     "  sshcert ensure --host 10.20.0.5 --user ubuntu && sshcert exec --profile prod -- ansible-playbook site.yml");

    bool ssh_config_install = false;
    auto* ssh_config_cmd = app.add_subcommand("ssh-config", "print the ssh_config blocks that give plain ssh, scp, sftp, rsync and git "
                                                            "certificates");
    ssh_config_cmd->add_flag("--install", ssh_config_install,
                             "write them to $XDG_CONFIG_HOME/sshcert/ssh_config and include that from the top of ~/.ssh/config");
    ssh_config_cmd->footer("Per profile: IdentityAgent set to the profile's own agent socket for its hosts, read before the rest\n"
                           "of ~/.ssh/config, and a `Match final ... exec \"sshcert ensure ...\"` that fetches the certificate once\n"
                           "ssh knows the remote user. --install changes nothing when run again; run it after changing profiles.\n"
                           "Needs OpenSSH 8.0 or later (Match final).");

    CloudInitOptions cloud_init;
    auto* cloud_init_cmd = app.add_subcommand("cloud-init", "print cloud-init user data that makes new instances trust the Vault SSH CA");
    auto* ci_profile = cloud_init_cmd->add_option("--profile", cloud_init.profile,
                                                  "take the CA key from this profile's Vault mount (default: the first profile)");
    cloud_init_cmd->add_option("--ca-key-file", cloud_init.ca_key_files,
                               "take the CA key from FILE instead of Vault; repeat it to trust the old and the new CA during a rotation")
        ->type_name("FILE")->allow_extra_args(false)->excludes(ci_profile);
    cloud_init_cmd->add_option("--principals", cloud_init.principals,
                               "USER=P1,P2: certificates naming P1 or P2 may log in as the local USER (an AuthorizedPrincipalsFile "
                               "per user); repeatable. Once one user is mapped, unmapped users cannot log in with certificates")
        ->type_name("USER=P1,P2")->allow_extra_args(false);
    cloud_init_cmd->add_option("--style", cloud_init.style,
                               "dropin (default): settings in /etc/ssh/sshd_config.d/10-sshcert.conf; append: settings written once "
                               "into /etc/ssh/sshd_config itself (at its top), for images whose sshd has no drop-in directory")
        ->type_name("STYLE");
    cloud_init_cmd->add_option("--revoked-keys", cloud_init.revoked_keys,
                               "ship FILE (a KRL from ssh-keygen -k, or a list of public keys) and set RevokedKeys")
        ->type_name("FILE");
    cloud_init_cmd->add_option("--format", cloud_init.format,
                               "yaml (default); json (JSON from its first byte, for tools that build user data; as user data itself it needs "
                               "a #cloud-config line first); mime (multipart, to combine with other user data parts); base64 (of the "
                               "YAML, for APIs that take base64 user data; fails past EC2's 16 KiB limit)")
        ->type_name("FORMAT");
    cloud_init_cmd->footer("The CA keys come from Vault's unauthenticated <mount>/public_key through sshcertd, or from --ca-key-file.\n"
                           "Nothing is written to disk; redirect the output.\n\n"
                           "Examples:\n"
                           "  sshcert cloud-init --profile prod --principals ubuntu=ops,deploy > user-data.yaml\n"
                           "  aws ec2 run-instances --image-id ami-... --user-data file://user-data.yaml ...\n"
                           "  sshcert cloud-init --ca-key-file ca-old.pub --ca-key-file ca-new.pub --style append");

    CaOptions ca;
    auto* ca_cmd = app.add_subcommand("ca", "print the Vault SSH CA's public key, or a known_hosts line for the host CA");
    auto* ca_profile = ca_cmd->add_option("--profile", ca.profile, "the user CA of this profile's Vault mount (default: the first profile)");
    auto* ca_host_mount = ca_cmd->add_option("--host-mount", ca.host_mount, "the CA of this Vault SSH mount instead (the one that signs host keys)")
                              ->type_name("MOUNT")->excludes(ca_profile);
    ca_cmd->add_option("--known-hosts", ca.known_hosts,
                       "print '@cert-authority PATTERN <key>' for ~/.ssh/known_hosts, so ssh trusts host certificates "
                       "from --host-mount for hosts matching PATTERN (e.g. '*.example.com')")
        ->type_name("PATTERN")->needs(ca_host_mount);
    ca_cmd->footer("Examples:\n"
                   "  sshcert ca --profile prod > /etc/ssh/trusted_user_ca_keys\n"
                   "  sshcert ca --host-mount ssh-host --known-hosts '*.example.com' >> ~/.ssh/known_hosts");

    bool known_hosts_print = false;
    auto* known_hosts_cmd = app.add_subcommand(
        "known-hosts", "write the known_hosts file that makes ssh trust host certificates from the profiles' host_ca_mount");
    known_hosts_cmd->add_flag("--print", known_hosts_print, "print the file instead of writing it");
    known_hosts_cmd->footer("The file is $XDG_CONFIG_HOME/sshcert/known_hosts (default ~/.config/sshcert/known_hosts), one\n"
                            "'@cert-authority <hosts>,[<host>]:* <CA key>' line per profile with a host_ca_mount. It is\n"
                            "replaced only when its text changes; run this again when a host CA changes. The ssh_config\n"
                            "blocks of `sshcert ssh-config` name it after ~/.ssh/known_hosts.\n\n"
                            "Examples:\n"
                            "  sshcert known-hosts\n"
                            "  sshcert known-hosts --print");

    auto* version_cmd = app.add_subcommand("version", "print the version");

    std::string completion_shell;
    auto* completion_cmd = app.add_subcommand("completion", "print a shell completion script, e.g. source <(sshcert completion bash)");
    completion_cmd->add_option("shell", completion_shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));

    auto* setup_cmd = app.add_subcommand("setup", "enable and start sshcertd's systemd user units; install the ssh_config blocks "
                                                  "(ssh-config --install)");

    DoctorOptions doctor;
    auto* doctor_cmd = app.add_subcommand("doctor", "check each link from the config to the server and name the first broken one, "
                                                    "with what to do: sshcert doctor [[user@]host]");
    doctor_cmd->add_option("host", doctor.host, "the host as typed for ssh; without it only the daemon, the Vaults and the logins")
        ->type_name("[USER@]HOST");
    doctor_cmd->add_option("--user", doctor.user, "the remote user (default: the one ssh would use, from ssh -G)")->type_name("USER");
    doctor_cmd->add_flag("--json", doctor.json, "an array of {check, status, detail, fix} for scripts");
    doctor_cmd->footer("Checks, in order: config, socket-dir, daemon, then with a host ssh (ssh -G), then vault and clock (the\n"
                       "host's profile's Vault, or every Vault), login, profile, certificate (an ensure: Vault's answer for the\n"
                       "principal), extensions, agent, identities (against sshd's MaxAuthTries of 6), plain-ssh, host-ca.\n"
                       "Each prints ok, warn or FAIL; the first FAIL ends the run. Exits 1 when a check failed.\n\n"
                       "Example:\n"
                       "  sshcert doctor ubuntu@web-1.prod.example.com");

    std::optional<std::string> profiles_host;
    auto* profiles_cmd = app.add_subcommand("profiles", "list the profiles of the config; with --host, which one a host maps to and why");
    profiles_cmd->add_option("--host", profiles_host, "the host as typed for ssh (exits 1 when no profile matches it)")->type_name("HOST");

    auto* reload_cmd = app.add_subcommand("reload", "have sshcertd re-read its config (profiles, Vaults, [agent]), as SIGHUP does");

    std::string help_topic;
    auto* help_cmd = app.add_subcommand("help", "print the help of a command: sshcert help [COMMAND]");
    help_cmd->add_option("command", help_topic, "a command's name")->type_name("COMMAND");

    app.require_subcommand(show_version ? 0 : 1);
    if (auto unknown = unknown_command(app, argc, argv)) {
        std::cerr << *unknown;
        return 1;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e) == 0 ? 0 : 1;
        if (exec_cmd->parsed() && dynamic_cast<const CLI::ExtrasError*>(&e))
            std::cerr << "Put -- before the command, so that its options are not taken for sshcert's: "
                         "sshcert exec [--profile P] -- CMD [ARGS]\n";
        return rc;
    }
    if (show_version || *version_cmd) {
        std::cout << "sshcert " << kVersion << "\n";
        return 0;
    }

    if (*completion_cmd) return cmd_completion(app, completion_shell);
    if (*help_cmd) return print_help(app, help_topic);

    auto getenv = [](const char* n) { return std::getenv(n); };
    Context ctx{getenv, config_path, ControlClient(config::runtime_dir(getenv), daemon_start_command(getenv, systemd_booted()))};
    if (config_path) {
        std::error_code ec;
        auto absolute = std::filesystem::absolute(*config_path, ec);
        ctx.daemon.set_config(ec ? *config_path : absolute.string());
    }
    if (*login_cmd) return cmd_login(ctx, login);
    if (*status_cmd) return cmd_status(ctx, status_json);
    if (*logout_cmd) return cmd_logout(ctx, logout_revoke, logout_vault);
    if (*cloud_init_cmd) return cmd_cloud_init(ctx, cloud_init);
    if (*ca_cmd) return cmd_ca(ctx, ca);
    if (*known_hosts_cmd) return cmd_known_hosts(ctx, known_hosts_print);
    if (*setup_cmd) return cmd_setup(ctx);
    if (*ensure_cmd) return cmd_ensure(ctx, ensure);
    if (*exec_cmd) return cmd_exec(ctx, exec);
    if (*ssh_config_cmd) return cmd_ssh_config(ctx, ssh_config_install);
    if (*doctor_cmd) return cmd_doctor(ctx, doctor);
    if (*profiles_cmd) return cmd_profiles(ctx, profiles_host);
    if (*reload_cmd) return cmd_reload(ctx);
    if (*ssh_cmd) {
        auto opts = split_ssh_options(ssh_cmd->remaining());
        if (!opts) return fail(opts.error());
        if (opts->help) {
            std::cout << kSshUsage;
            return 0;
        }
        return cmd_ssh(ctx, *opts);
    }
    return 1;
}

}  // namespace sshcert::client
