// SPDX-License-Identifier: Apache-2.0
// One function per verb; each returns the process exit status.
//   0 success, 1 a local problem (flags, config, files), 2 a remote one
//   (daemon, Vault). `sshcert ssh` ends in exec, so its status is ssh's own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ca_keys.hpp"
#include "config.hpp"
#include "control_client.hpp"

namespace CLI {
class App;
}

namespace sshcert::client {

/// What every command gets: the config (if it loaded), how to reach the daemon, the environment.
struct Context {
    config::Getenv getenv;
    std::optional<std::string> config_path;  ///< --config
    ControlClient daemon;
    /// Loads the config on first use; commands that need none never fail on a bad file.
    Result<config::Config> load_config() const { return config::load(config_path, getenv); }
};

/// Prints the error as "sshcert: message" and returns its exit status.
int fail(const Error& e);
int exit_status(Errc code);

struct LoginOptions {
    std::string method;       ///< token | userpass | ldap | oidc; default from [auth] method
    std::string mount;        ///< auth mount; default from [auth] mount
    std::string username;     ///< userpass and ldap user; default from [auth] username, then $USER
    bool token_stdin = false;
    bool password_stdin = false;
    std::optional<std::string> mfa_passcode;  ///< answers Vault's first MFA passcode question instead of a prompt
    std::optional<std::string> aws_mfa_code;  ///< answers the first AWS MFA question (a role's mfa_serial)
    std::string role;         ///< oidc: the Vault role; default from [auth] role, else the mount's default_role
    bool no_browser = false;  ///< oidc: print the URL and read the callback address pasted on stdin
    bool report_on_stderr = false;  ///< when logging in on the way to something else (sshcert ssh)
    std::optional<std::string> vault;  ///< a [vault.<name>]; default: the default Vault, or VAULT_ADDR's
};
int cmd_login(const Context& ctx, const LoginOptions& opts);

int cmd_status(const Context& ctx, bool json);
/// `revoke`: revoke the token even when the user brought it (VAULT_TOKEN, a token helper).
/// `vault`: that Vault only; without it (and without VAULT_ADDR) every Vault.
int cmd_logout(const Context& ctx, bool revoke, const std::optional<std::string>& vault);
/// Adds the Vault a request is for: `vault` (a name) when given, else the user's VAULT_ADDR when set,
/// which the daemon matches against its Vaults (and refuses when it names none of them).
void add_vault_choice(const Context& ctx, control::Json& request, const std::optional<std::string>& vault);
/// Status's `vaults`, one line each, when the daemon talks to more than one Vault.
void print_vaults(const control::Json& status);
/// The CA keys for `ca` and `cloud-init`: through the daemon's profile, or, with -c FILE, the
/// profile as FILE defines it (its mount at its Vault), so -c is used rather than refused.
Result<CaKeys> ca_keys_for(const Context& ctx, const std::optional<std::string>& profile,
                           const std::optional<std::string>& host_mount);

struct SshOptions {
    std::optional<std::string> profile;  ///< --profile, overrides host matching
    std::vector<std::string> ssh_args;   ///< everything for ssh, untouched
    bool help = false;                   ///< --help before ssh's arguments
};
/// `sshcert ssh --help`: sshcert's own options, and that the rest goes to ssh.
extern const char* const kSshUsage;
int cmd_ssh(const Context& ctx, const SshOptions& opts);

struct EnsureRequest {
    std::string host;                    ///< as typed (ssh's %n)
    std::string user;                    ///< the remote user
    std::optional<std::string> profile;  ///< overrides host matching
    /// What ssh's flags need, for a profile with extensions = "auto"; none: every one the role allows.
    std::optional<std::vector<std::string>> extensions;
    std::string hop;  ///< "bastion NAME" for a jump host: put before an error, so the user knows which hop failed
};
/// The ensure op, shared by `sshcert ssh` and `sshcert ensure`: at a terminal (stdin and stderr
/// ttys) a daemon that is not logged in is logged in first. Sets `reply` and returns 0, or prints
/// the error (one line) and returns the exit status.
int ensure_certificate(const Context& ctx, const EnsureRequest& req, control::Json& reply);
/// The reply's warnings (no extensions, a long life nobody asked for, Vault's own) on stderr.
void print_warnings(const control::Json& ensure_reply);

struct EnsureOptions {
    std::string host;                    ///< as typed (ssh's %n), matched against the profiles' hosts
    std::string user;                    ///< the remote user (ssh's %r)
    std::optional<std::string> profile;  ///< overrides host matching
    bool quiet = false;                  ///< nothing on stdout: ssh's Match exec
};
int cmd_ensure(const Context& ctx, const EnsureOptions& opts);

struct ExecOptions {
    std::optional<std::string> profile;  ///< that profile's agent socket instead of agent.sock
    std::vector<std::string> command;    ///< the program and its arguments
};
int cmd_exec(const Context& ctx, const ExecOptions& opts);

/// Prints the ssh_config blocks, or with `install` writes them to their file and includes it from ~/.ssh/config.
int cmd_ssh_config(const Context& ctx, bool install);
/// The install step of `ssh-config --install`, which `setup` runs too; prints what it changed.
Status install_ssh_config(const Context& ctx, const config::Config& config);

struct CloudInitOptions {
    std::optional<std::string> profile;      ///< whose Vault mount holds the CA (default: the first profile)
    std::vector<std::string> ca_key_files;   ///< keys from files instead of Vault
    std::vector<std::string> principals;     ///< "USER=P1,P2", as given
    std::string style = "dropin";            ///< dropin | append
    std::optional<std::string> revoked_keys; ///< KRL file
    std::string format = "yaml";             ///< yaml | json | mime | base64
};
int cmd_cloud_init(const Context& ctx, const CloudInitOptions& opts);

struct CaOptions {
    std::optional<std::string> profile;      ///< user CA of this profile's mount
    std::optional<std::string> host_mount;   ///< the mount that signs host keys
    std::optional<std::string> known_hosts;  ///< host pattern for an @cert-authority line
};
int cmd_ca(const Context& ctx, const CaOptions& opts);

/// Writes the managed known_hosts file (config::managed_known_hosts_path) from the profiles'
/// host_ca_mount CAs when its text changes, or with `print` prints it instead.
int cmd_known_hosts(const Context& ctx, bool print);

/// Prints the completion script for `shell` (bash or zsh), generated from `app`.
int cmd_completion(CLI::App& app, const std::string& shell);

int cmd_setup(const Context& ctx);

struct DoctorOptions {
    std::optional<std::string> host;  ///< [user@]host as given to ssh; without it only the daemon, Vaults and logins
    std::optional<std::string> user;  ///< the remote user, instead of ssh's (ssh -G)
    bool json = false;
};
/// Checks each link from the config to the server's trust; exits 1 when one is broken.
int cmd_doctor(const Context& ctx, const DoctorOptions& opts);

/// Lists the profiles; with `host`, which one it maps to and why (exits 1 when none does).
int cmd_profiles(const Context& ctx, const std::optional<std::string>& host);

/// Has sshcertd re-read its config (profiles, Vaults, [agent]).
int cmd_reload(const Context& ctx);

}  // namespace sshcert::client
