// SPDX-License-Identifier: Apache-2.0
// Where sshcert keeps its files, shared by daemon and client so both agree.
//
//   config   $XDG_CONFIG_HOME/sshcert/config.toml   (default ~/.config/sshcert/config.toml),
//            else the system-wide /etc/sshcert/config.toml (the package's conffile);
//            ssh_config beside it, which ~/.ssh/config includes (sshcert ssh-config --install)
//            known_hosts beside it, the host CAs' @cert-authority lines (sshcert known-hosts)
//   sockets  $XDG_RUNTIME_DIR/sshcert/{control,agent}.sock
//            without XDG_RUNTIME_DIR: /tmp/sshcert-<uid>/ (as tmux does), which must
//            then be a directory we own with mode 0700, or nobody uses it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "result.hpp"

namespace sshcert::config {

using Getenv = std::function<const char*(const char*)>;

/// The system-wide config, read when the user has none of their own.
inline constexpr const char* kSystemConfigPath = "/etc/sshcert/config.toml";

std::string default_config_path(const Getenv& getenv);
/// The ssh_config blocks `sshcert ssh-config --install` writes, $XDG_CONFIG_HOME/sshcert/ssh_config:
/// beside the config.toml they are made from, in sshcert's own directory, not among ~/.ssh's files.
std::string ssh_config_include_path(const Getenv& getenv);
/// The known_hosts file `sshcert known-hosts` keeps, $XDG_CONFIG_HOME/sshcert/known_hosts: @cert-authority
/// lines for the profiles' host CAs. Beside the other files sshcert writes, never ~/.ssh/known_hosts itself.
std::string managed_known_hosts_path(const Getenv& getenv);
/// The user's own known_hosts, ~/.ssh/known_hosts (ssh's first UserKnownHostsFile).
std::string user_known_hosts_path(const Getenv& getenv);
std::string runtime_dir(const Getenv& getenv);
/// "~" and "~/x" under `home`; anything else as is.
std::string expand_tilde(const std::string& path, const std::string& home);
/// The same under $HOME (the config's paths may start with "~/").
std::string expand_home(const std::string& path, const Getenv& getenv);
std::string control_socket_path(const std::string& runtime_dir);
std::string agent_socket_path(const std::string& runtime_dir);
/// The socket that offers only one profile's certificate: agent-<profile>.sock.
std::string profile_agent_socket_path(const std::string& runtime_dir, const std::string& profile);

/// systemd's user unit search path (systemd.unit(5)), without the generator,
/// transient and control directories, in systemd's order.
std::vector<std::string> user_unit_dirs(const Getenv& getenv);
/// The path of user unit `name` on that search path, or empty when it is not installed.
std::string find_user_unit(const Getenv& getenv, const std::string& name);

/// Checks that `dir` is a real directory (not a symlink) owned by the
/// current user with no group or other permissions. The error names the
/// owner and mode found and how to get out of it (another user can take
/// /tmp/sshcert-<uid> before us).
Status check_private_dir(const std::string& dir);
/// Creates `dir` mode 0700 (its parent must exist), then checks it as above.
Status make_private_dir(const std::string& dir);

}  // namespace sshcert::config
