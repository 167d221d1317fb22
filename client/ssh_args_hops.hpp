// SPDX-License-Identifier: Apache-2.0
// The ssh connections a destination takes: the bastions of ProxyJump (-J) and of a
// ProxyCommand that runs ssh (ssh -W %h:%p bastion), then the destination, each with
// the remote user ssh_config gives it, as `ssh -G` evaluates it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "result.hpp"
#include "ssh_args.hpp"
#include "ssh_settings.hpp"

namespace sshcert::client {

struct Hop {
    std::string host;   ///< as named on the command line or in ProxyJump/ProxyCommand (ssh's %n): what profiles match
    std::string user;   ///< the remote user after ssh_config
    bool jump = false;  ///< a bastion that forwards to the next hop (ssh -W), not the destination
    /// What ssh_config asks of the connection, as the option letters that ask the same: ForwardAgent
    /// "A", LocalForward "L", RemoteForward "R", DynamicForward "D", ForwardX11 "X", RequestTTY no "T",
    /// SessionType none "N"; for SshTarget::flags' company.
    std::string config_flags;
    bool operator==(const Hop&) const = default;
};

/// Runs `ssh -G` with these arguments and returns what it printed.
using SshConfigQuery = std::function<Result<std::string>(const std::vector<std::string>& args)>;

/// More connections than this on the way to one destination is a loop in ssh_config.
inline constexpr std::size_t kMaxHops = 10;

/// The hops to `target` (parsed from `args`) in the order ssh connects: the first bastion first,
/// the destination last. `local_user` is the user when `ssh -G` cannot tell.
Result<std::vector<Hop>> resolve_hops(const SshTarget& target, const std::vector<std::string>& args, const SshConfigQuery& query,
                                      const std::string& local_user);

/// `ssh_program -G ...` as ssh_config_dump runs it (ssh_settings.hpp).
SshConfigQuery ssh_config_query(const std::string& ssh_program);
/// Set for the ssh that `sshcert ssh` runs once every hop has its certificate: the hook has
/// nothing to add (and, for extensions = "auto", would fetch one with every extension).
inline constexpr const char* kHopsEnsured = "SSHCERT_HOPS_ENSURED";

/// A ProxyCommand split into words as sh would (quotes, backslashes; no expansions).
std::vector<std::string> split_command_words(std::string_view command);

}  // namespace sshcert::client
