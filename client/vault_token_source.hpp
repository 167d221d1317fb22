// SPDX-License-Identifier: Apache-2.0
// Where `sshcert login --method token` finds the user's Vault token, in the
// Vault CLI's order: --token-stdin, VAULT_TOKEN, then the CLI's token helper.
// That is the program named by `token_helper` in ~/.vault ($VAULT_CONFIG_PATH),
// run as `<helper> get` (a keychain, a password manager), or, when none is
// named, the CLI's built-in helper: the file ~/.vault-token.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "result.hpp"

namespace sshcert::client {

/// A helper that has not answered by then is killed: it may wait on something that never comes.
inline constexpr std::chrono::seconds kTokenHelperTimeout{30};

/// `token_helper` from the Vault CLI's config (HCL `token_helper = "/path"`, or JSON); nullopt
/// when it names none. Any other key is an error, as for the CLI ("<origin>:<line>: ...").
Result<std::optional<std::string>> parse_vault_cli_config(std::string_view text, const std::string& origin);

/// The helper the Vault CLI is configured with, as an absolute path that exists; nullopt when none.
Result<std::optional<std::string>> configured_token_helper(const config::Getenv& getenv);

/// Runs `<helper> get` with this process's environment and returns what it printed, trimmed
/// (empty: it holds no token). A failure, a timeout or a flood of output is an error that
/// names the helper and quotes its stderr.
Result<std::string> run_token_helper(const std::string& helper, std::chrono::milliseconds timeout = kTokenHelperTimeout);

/// The user's token from the first source that has one; the caller wipes it after use.
Result<std::string> find_vault_token(const config::Getenv& getenv, bool from_stdin);

}  // namespace sshcert::client
