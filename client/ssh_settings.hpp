// SPDX-License-Identifier: Apache-2.0
// What ssh would do for a destination, from `ssh -G`: ssh evaluates its
// config (Host, Match, Include) without connecting and prints one
// "keyword value" line per setting, keywords in lower case.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "paths.hpp"
#include "result.hpp"

namespace sshcert::client {

class SshSettings {
public:
    /// Reads `ssh -G` output; lines that are not "keyword value" are skipped.
    static SshSettings parse(std::string_view dump);

    /// The value of the first `keyword` line, if any.
    std::optional<std::string> first(std::string_view keyword) const;
    /// Every `keyword` line's value, in order (identityfile repeats).
    std::vector<std::string> all(std::string_view keyword) const;
    /// Every `keyword` value split at spaces (userknownhostsfile lists several files on one line).
    std::vector<std::string> words(std::string_view keyword) const;

private:
    std::vector<std::pair<std::string, std::string>> lines_;
};

/// The ssh to run: $SSHCERT_SSH, else ssh from PATH.
std::string ssh_program(const config::Getenv& getenv);

/// The environment variable that tells `sshcert ensure` it runs under our own `ssh -G`.
inline constexpr const char* kInSshG = "SSHCERT_IN_SSH_G";

/// What `ssh -G ssh_args...` prints (the options and the destination, as the user gives them
/// to ssh): stdin at /dev/null, its stderr kept out of the user's terminal (no "Pseudo-terminal
/// will not be allocated" there), and SSHCERT_IN_SSH_G=1, which makes `sshcert ensure` in the
/// generated ssh_config's Match exec do nothing. Errors carry ssh's own complaint.
Result<std::string> ssh_config_dump(const std::string& ssh_program, const std::vector<std::string>& ssh_args);
/// The same with no tty asked for (ssh says nothing of one), parsed; for settings other than requesttty.
Result<SshSettings> query_ssh_settings(const std::string& ssh_program, const std::vector<std::string>& ssh_args);

}  // namespace sshcert::client
