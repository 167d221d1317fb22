// SPDX-License-Identifier: Apache-2.0
// The client side of the control protocol: one blocking request/reply over
// the daemon's Unix socket. The socket directory is checked before anything
// is sent, so a password never goes to a socket another user controls.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "control_codec.hpp"
#include "paths.hpp"
#include "result.hpp"

namespace sshcert::client {

class ControlClient {
public:
    /// `start_command` is what the "not running" message tells the user to run (see daemon_start_command).
    ControlClient(std::string runtime_dir, std::string start_command)
        : runtime_dir_(std::move(runtime_dir)), start_command_(std::move(start_command)) {}

    /// Sends `request` and returns the reply's result, or its error.
    Result<control::Json> call(const control::Json& request) const;
    /// The same for a request the daemon may hold longer (a login waiting for a push to be
    /// approved): waits up to `patience` beyond the usual, calling `waiting` about once a second.
    Result<control::Json> call(const control::Json& request, std::chrono::seconds patience,
                               const std::function<void()>& waiting) const;

    const std::string& runtime_dir() const noexcept { return runtime_dir_; }

    /// The user's -c FILE, sent with every request as `config`: the daemon refuses a request
    /// made under another config than its own, so -c is never silently ignored.
    void set_config(std::string absolute_path) { config_path_ = std::move(absolute_path); }
    /// A copy that sends no `config`, for a request the client resolved from its own config file.
    ControlClient without_config() const {
        ControlClient c = *this;
        c.config_path_.reset();
        return c;
    }

private:
    std::string runtime_dir_;
    std::string start_command_;
    std::optional<std::string> config_path_;
};

/// How to start sshcertd here: its socket unit where a systemd user manager can
/// run the installed units, else the daemon itself in the background. The
/// client never starts a daemon, so systemd's never races a second one.
std::string daemon_start_command(const config::Getenv& getenv, bool systemd_booted);
/// sd_booted(3)'s test: the host runs systemd as its init.
bool systemd_booted();

/// The message shown when no daemon answers, with the command that starts one.
std::string daemon_not_running_message(const std::string& socket_path, const std::string& detail, const std::string& start_command);

}  // namespace sshcert::client
