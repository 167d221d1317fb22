// SPDX-License-Identifier: Apache-2.0
// One function per verb; each returns the process exit status.
//   0 success, 1 a local problem (flags, config, files), 2 a remote one
//   (daemon, Vault). `sshcert ssh` ends in exec, so its status is ssh's own.
#pragma once

#include <optional>
#include <string>
#include <vector>

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
    std::string method;       ///< token | userpass; default from [auth] method
    std::string mount;        ///< auth mount; default from [auth] mount
    std::string username;     ///< userpass user; default from [auth] username, then $USER
    bool token_stdin = false;
    bool password_stdin = false;
};
int cmd_login(const Context& ctx, const LoginOptions& opts);

int cmd_status(const Context& ctx, bool json);
int cmd_logout(const Context& ctx);

struct SshOptions {
    std::optional<std::string> profile;  ///< --profile, overrides host matching
    std::vector<std::string> ssh_args;   ///< everything for ssh, untouched
};
int cmd_ssh(const Context& ctx, const SshOptions& opts);

/// Prints the completion script for `shell` (bash or zsh), generated from `app`.
int cmd_completion(CLI::App& app, const std::string& shell);

int cmd_setup(const Context& ctx);
/// `Host` blocks for ~/.ssh/config: each profile's host patterns, with IdentityAgent set to `agent_socket`.
std::string ssh_config_advice(const config::Config& config, const std::string& agent_socket);

}  // namespace sshcert::client
