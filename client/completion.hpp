// SPDX-License-Identifier: Apache-2.0
// Shell completion scripts generated from the CLI11 command line itself, so
// they list exactly the verbs, options and choices that `--help` shows.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sshcert::client {

/// One option of a verb, as completion needs it.
struct CompletionOption {
    std::vector<std::string> names;    ///< "-m", "--method"
    std::string help;                  ///< first line of the option's help
    bool takes_value = false;
    bool positional = false;
    std::vector<std::string> choices;  ///< from CLI::IsMember checks ("{token,userpass}" in --help)
    bool is_file = false;              ///< type_name("FILE")
    bool is_command = false;           ///< type_name("COMMAND"): a positional that is a command line, after --
};

/// A verb (or the program itself, with an empty name) and its options.
struct CompletionCommand {
    std::string name;
    std::string help;
    std::vector<CompletionOption> options;
    bool passthrough = false;  ///< a prefix command such as `ssh`: completes as the program of that name
};

/// The program and its verbs, read from the CLI11 app; element 0 is the program.
std::vector<CompletionCommand> completion_model(CLI::App& app);

/// A bash-completion script (uses bash-completion's _init_completion) defining _<program>.
std::string bash_completion(const std::string& program, const std::vector<CompletionCommand>& commands);
/// A zsh #compdef script for <program>; works autoloaded from fpath or sourced.
std::string zsh_completion(const std::string& program, const std::vector<CompletionCommand>& commands);

}  // namespace sshcert::client
