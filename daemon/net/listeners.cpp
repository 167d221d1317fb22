// SPDX-License-Identifier: Apache-2.0
#include "listeners.hpp"

#include <unistd.h>

#include <algorithm>

#include "log.hpp"
#include "paths.hpp"
#include "unix_listener.hpp"

namespace sshcert {

void Listeners::start(FramedProtocol agent, FramedProtocol control) {
    if (auto st = config::make_private_dir(runtime_dir_); !st) throw StartupError("runtime directory: " + st.error().message);
    lock_.emplace(runtime_dir_);  // before any socket is touched
    agent_ = listen(agent_path(), std::move(agent), agent_fd_);
    control_ = listen(control_path(), std::move(control), control_fd_);
}

std::unique_ptr<FramedServer> Listeners::listen(const std::string& path, FramedProtocol protocol, std::optional<int> inherited_fd) {
    std::unique_ptr<FramedServer> server;
    if (inherited_fd) {
        // systemd's socket: adopted, and never unlinked here.
        server = std::make_unique<FramedServer>(io_, adopt_listener(io_, *inherited_fd, path), std::move(protocol));
    } else {
        server = std::make_unique<FramedServer>(io_, bind_private_socket(io_, path), std::move(protocol));
        bound_paths_.push_back(path);
    }
    server->start();
    return server;
}

void Listeners::sync_profiles(const std::vector<std::string>& names,
                              const std::function<FramedProtocol(const std::string&)>& protocol) {
    for (auto it = profiles_.begin(); it != profiles_.end();) {
        if (std::find(names.begin(), names.end(), it->first) != names.end()) {
            ++it;
            continue;
        }
        auto path = config::profile_agent_socket_path(runtime_dir_, it->first);
        it->second->stop();
        ::unlink(path.c_str());
        std::erase(bound_paths_, path);
        it = profiles_.erase(it);
    }
    for (const auto& name : names) {
        if (profiles_.count(name)) continue;
        try {
            profiles_[name] = listen(config::profile_agent_socket_path(runtime_dir_, name), protocol(name), std::nullopt);
        } catch (const StartupError& e) {
            log::error("profile ", name, ": ", e.what());  // the main socket still serves it
        }
    }
}

std::string Listeners::socket_for_profile(const std::string& profile) const {
    return profiles_.count(profile) ? config::profile_agent_socket_path(runtime_dir_, profile) : agent_path();
}

std::string Listeners::agent_path() const { return config::agent_socket_path(runtime_dir_); }
std::string Listeners::control_path() const { return config::control_socket_path(runtime_dir_); }
std::uint64_t Listeners::agent_connections() const noexcept { return agent_ ? agent_->connections_accepted() : 0; }

void Listeners::stop() {
    if (agent_) agent_->stop();
    for (auto& [name, server] : profiles_) server->stop();
    if (control_) control_->stop();
    for (const auto& p : bound_paths_) ::unlink(p.c_str());
    bound_paths_.clear();
}

}  // namespace sshcert
