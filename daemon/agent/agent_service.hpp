// SPDX-License-Identifier: Apache-2.0
// The ssh-agent side of sshcertd: what each connection is offered (all
// certificates on agent.sock, only those of the bound host's profiles once
// ssh has bound the connection to a known host, one profile's on
// agent-<profile>.sock),
// signing, per-connection session state, and the upstream agent.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent_dispatch.hpp"
#include "asio.hpp"
#include "cert_cache.hpp"
#include "framed_server.hpp"
#include "upstream_agent.hpp"

namespace sshcert {

class AgentService final : private AgentKeys {
public:
    /// `known_hosts_files` name the hosts a connection binds to (the user's, then sshcert's own);
    /// `config` gives the profiles their names are matched against.
    AgentService(asio::io_context& io, CertCache& cache, std::function<const config::Config&()> config,
                 std::vector<std::string> known_hosts_files)
        : io_(io), cache_(cache), config_(std::move(config)), known_hosts_files_(std::move(known_hosts_files)) {}

    /// The protocol for the main socket (no profile) or one profile's socket.
    FramedProtocol protocol(std::optional<std::string> profile);
    /// Sets or clears the upstream agent (`path` empty: none).
    void set_upstream(const std::string& path);
    const UpstreamAgent* upstream() const noexcept { return upstream_.get(); }
    std::uint64_t signatures() const noexcept { return signatures_; }

private:
    std::vector<agent::Identity> identities(const AgentSession& session) override;
    Result<wire::Bytes> sign(AgentSession& session, wire::ByteView key_blob, wire::ByteView data, std::uint32_t flags) override;
    std::vector<std::string> host_names(wire::ByteView host_key) override;
    void on_message(AgentSession& session, wire::ByteView body, FramedProtocol::Reply reply);
    /// Whether `session` may use `profile`'s certificates: on a profile's socket only its own; on
    /// agent.sock, when bound to a host with known names, only those of the profiles for that host.
    bool serves(const AgentSession& session, const std::string& profile) const;

    asio::io_context& io_;
    CertCache& cache_;
    std::function<const config::Config&()> config_;
    std::vector<std::string> known_hosts_files_;
    std::map<std::uint64_t, AgentSession> sessions_;  ///< by connection id
    std::unique_ptr<UpstreamAgent> upstream_;
    std::uint64_t signatures_ = 0;
};

}  // namespace sshcert
