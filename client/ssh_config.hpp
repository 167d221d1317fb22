// SPDX-License-Identifier: Apache-2.0
// The ssh_config(5) text that gives plain ssh, scp, sftp, rsync and git their
// certificates, and the Include line that puts it at the top of ~/.ssh/config.
//
// ssh keeps the first value it reads for each option, so each profile's
// IdentityAgent is set while ssh first reads its config, before the user's own
// blocks. The certificate is fetched in ssh's final pass ("Match final"), once
// every User line has been read and %r is the user ssh will log in as.
#pragma once

#include <string>
#include <string_view>

#include "config.hpp"
#include "result.hpp"

namespace sshcert::client {

/// The blocks for every profile: IdentityAgent at `runtime_dir`'s agent-<profile>.sock,
/// and `sshcert_path ensure ...` as a Match exec. An error when a profile has no
/// hosts to match or a path or host pattern cannot be written into ssh_config. Profiles with a
/// host_ca_mount also get UserKnownHostsFile ~/.ssh/known_hosts `known_hosts_file`, when given.
Result<std::string> ssh_config_text(const config::Config& config, const std::string& runtime_dir, const std::string& sshcert_path,
                                    const std::string& known_hosts_file = {});

/// "Include <path>", quoted for ssh_config.
Result<std::string> include_line(const std::string& path);

enum class IncludeState { Missing, AtTop, AfterHostOrMatch };
/// Whether `ssh_config` (a ~/.ssh/config) already includes `path` (as written, or as ~/... under
/// `home`), and if so whether before every Host and Match line, where it applies to every host.
IncludeState find_include(std::string_view ssh_config, const std::string& path, const std::string& home);

/// `ssh_config` with `line` and a comment saying why put at its top.
std::string with_include_at_top(std::string_view ssh_config, const std::string& line);

}  // namespace sshcert::client
