// SPDX-License-Identifier: Apache-2.0
// The client side of the control protocol: one blocking request/reply over
// the daemon's Unix socket. The socket directory is checked before anything
// is sent, so a password never goes to a socket another user controls.
#pragma once

#include <string>

#include "control_codec.hpp"
#include "result.hpp"

namespace sshcert::client {

class ControlClient {
public:
    explicit ControlClient(std::string runtime_dir) : runtime_dir_(std::move(runtime_dir)) {}

    /// Sends `request` and returns the reply's result, or its error.
    Result<control::Json> call(const control::Json& request) const;

    const std::string& runtime_dir() const noexcept { return runtime_dir_; }

private:
    std::string runtime_dir_;
};

/// The message shown when no daemon answers, with the command that starts one.
std::string daemon_not_running_message(const std::string& socket_path, const std::string& detail);

}  // namespace sshcert::client
