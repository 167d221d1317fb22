// SPDX-License-Identifier: Apache-2.0
// The identities an ssh-agent socket offers, as ssh-add -L lists them.
#pragma once

#include <string>
#include <vector>

#include "agent_codec.hpp"
#include "result.hpp"

namespace sshcert::client {

/// Asks the agent at `socket_path` for its identities (one REQUEST_IDENTITIES round trip).
Result<std::vector<agent::Identity>> list_agent_identities(const std::string& socket_path);

}  // namespace sshcert::client
