// SPDX-License-Identifier: Apache-2.0
// The user's previous ssh-agent, consulted when `upstream_agent` is set: its
// identities are listed after ours and sign requests for its keys are passed
// through, so SSH_AUTH_SOCK can point at sshcertd for good.
#pragma once

#include <functional>
#include <string>

#include "asio.hpp"
#include "result.hpp"
#include "ssh_wire.hpp"

namespace sshcert {

class UpstreamAgent {
public:
    UpstreamAgent(asio::io_context& io, std::string socket_path) : io_(io), path_(std::move(socket_path)) {}

    /// Sends one request frame on a fresh connection and calls back on the
    /// event loop with the reply body, or an error after a timeout.
    void request(wire::Bytes frame, std::function<void(Result<wire::Bytes>)> done);

    const std::string& path() const noexcept { return path_; }

private:
    asio::io_context& io_;
    std::string path_;
};

}  // namespace sshcert
