// SPDX-License-Identifier: Apache-2.0
// sshcert completion bash|zsh: prints a completion script generated from the
// command line itself (the package installs the same output).
#include <iostream>

#include "commands.hpp"
#include "completion.hpp"

namespace sshcert::client {

int cmd_completion(CLI::App& app, const std::string& shell) {
    auto model = completion_model(app);
    std::cout << (shell == "zsh" ? zsh_completion("sshcert", model) : bash_completion("sshcert", model));
    return 0;
}

}  // namespace sshcert::client
