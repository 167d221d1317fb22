// SPDX-License-Identifier: Apache-2.0
// The daemon's sockets: agent.sock, control.sock (bound here, or adopted
// from systemd) and one agent-<profile>.sock per profile, opened and closed
// as reloads add and remove profiles.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asio.hpp"
#include "framed_server.hpp"
#include "instance_lock.hpp"

namespace sshcert {

class Listeners {
public:
    Listeners(asio::io_context& io, std::string runtime_dir, std::optional<int> agent_fd, std::optional<int> control_fd)
        : io_(io), runtime_dir_(std::move(runtime_dir)), agent_fd_(agent_fd), control_fd_(control_fd) {}
    ~Listeners() { stop(); }
    Listeners(const Listeners&) = delete;
    Listeners& operator=(const Listeners&) = delete;

    /// Makes the runtime directory private, takes its InstanceLock and serves both main sockets;
    /// throws StartupError.
    void start(FramedProtocol agent, FramedProtocol control);
    /// Opens agent-<name>.sock for new profiles and closes those of removed ones.
    void sync_profiles(const std::vector<std::string>& names, const std::function<FramedProtocol(const std::string&)>& protocol);
    /// The socket to hand ssh for a profile: its own when open, else the main one.
    std::string socket_for_profile(const std::string& profile) const;
    std::string agent_path() const;
    std::string control_path() const;
    std::uint64_t agent_connections() const noexcept;
    /// Closes every socket and unlinks those we bound.
    void stop();

private:
    std::unique_ptr<FramedServer> listen(const std::string& path, FramedProtocol protocol, std::optional<int> inherited_fd);

    asio::io_context& io_;
    std::string runtime_dir_;
    std::optional<InstanceLock> lock_;
    std::optional<int> agent_fd_, control_fd_;
    std::unique_ptr<FramedServer> agent_, control_;
    std::map<std::string, std::unique_ptr<FramedServer>> profiles_;
    std::vector<std::string> bound_paths_;
};

}  // namespace sshcert
