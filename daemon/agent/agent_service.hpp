// SPDX-License-Identifier: Apache-2.0
// The ssh-agent side of sshcertd: what each connection is offered (all
// certificates on agent.sock, one profile's on agent-<profile>.sock),
// signing, per-connection session state, and the upstream agent.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent_dispatch.hpp"
#include "asio.hpp"
#include "cert_cache.hpp"
#include "framed_server.hpp"
#include "upstream_agent.hpp"

namespace sshcert {

class AgentService final : private AgentKeys {
public:
    AgentService(asio::io_context& io, CertCache& cache) : io_(io), cache_(cache) {}

    /// The protocol for the main socket (no profile) or one profile's socket.
    FramedProtocol protocol(std::optional<std::string> profile);
    /// Sets or clears the upstream agent (`path` empty: none).
    void set_upstream(const std::string& path);
    const UpstreamAgent* upstream() const noexcept { return upstream_.get(); }
    std::uint64_t signatures() const noexcept { return signatures_; }

private:
    std::vector<agent::Identity> identities(const AgentSession& session) override;
    Result<wire::Bytes> sign(AgentSession& session, wire::ByteView key_blob, wire::ByteView data, std::uint32_t flags) override;
    void on_message(AgentSession& session, wire::ByteView body, FramedProtocol::Reply reply);

    asio::io_context& io_;
    CertCache& cache_;
    std::map<std::uint64_t, AgentSession> sessions_;  ///< by connection id
    std::unique_ptr<UpstreamAgent> upstream_;
    std::uint64_t signatures_ = 0;
};

}  // namespace sshcert
