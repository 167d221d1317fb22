// SPDX-License-Identifier: Apache-2.0
// sshcertd's core: owns the Vault session, the certificate cache and both
// socket servers, and answers control requests. All state lives on the one
// event-loop thread; Vault calls and key generation run on worker threads
// and post their results back, so the loop never blocks.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent_dispatch.hpp"
#include "asio.hpp"
#include "auth.hpp"
#include "cert_cache.hpp"
#include "config.hpp"
#include "control_codec.hpp"
#include "framed_server.hpp"
#include "upstream_agent.hpp"
#include "vault_client.hpp"

namespace sshcert {

struct DaemonOptions {
    std::optional<std::string> config_path;  ///< --config; otherwise the XDG default
    std::string runtime_dir;                 ///< where the sockets live
    std::optional<int> agent_fd;             ///< listening socket passed by systemd (name "agent"), owned from here on
    std::optional<int> control_fd;           ///< the same for "control"; without one, start() binds its own
};

class Daemon : private AgentKeys {
public:
    Daemon(asio::io_context& io, DaemonOptions options, config::Config config);
    ~Daemon() override;
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    /// Adopts or binds the sockets and starts serving.
    void start();
    /// Stops serving; pending work is abandoned.
    void stop();
    /// Re-reads the config file; keeps the old one if the new one is bad.
    Status reload();
    /// Tells systemd (STATUS=) who is logged in and how many certificates are held.
    void publish_status() const;

private:
    // AgentKeys
    std::vector<agent::Identity> identities(const AgentSession& session) override;
    Result<wire::Bytes> sign(AgentSession& session, wire::ByteView key_blob, wire::ByteView data,
                             std::uint32_t flags) override;

    /// The agent protocol for the main socket (profile empty) or one profile's socket.
    FramedProtocol agent_protocol(std::optional<std::string> profile);
    void on_agent_message(AgentSession& session, wire::ByteView body, FramedProtocol::Reply reply);
    /// Opens agent-<profile>.sock for new profiles and closes those of removed ones.
    void sync_profile_sockets();
    /// Serves `protocol` on the socket systemd passed, or on one bound at `path`.
    std::unique_ptr<FramedServer> listen(const std::string& path, FramedProtocol protocol,
                                         std::optional<int> inherited_fd = std::nullopt);
    /// The socket to hand ssh for a profile: its own when open, else the main one.
    std::string profile_socket_or_main(const std::string& profile) const;

    /// Handles one control request; `reply` gets the JSON reply.
    void on_control(const control::Json& request, std::function<void(control::Json)> reply);
    void op_status(std::function<void(control::Json)> reply);
    void op_login(const control::Json& request, std::function<void(control::Json)> reply);
    void op_ensure(const control::Json& request, std::function<void(control::Json)> reply);
    void op_logout(std::function<void(control::Json)> reply);
    void op_ca_keys(const control::Json& request, std::function<void(control::Json)> reply);

    /// Generates a key and has Vault sign it (on a worker); called by the cache.
    void fetch_certificate(const CertKey& key, CertCache::Done done);
    /// Runs `work` on a worker thread and `done(result)` back on the loop.
    template <typename Work, typename Done>
    void offload(Work work, Done done);

    void schedule_token_renewal();
    void schedule_expiry_sweep();
    /// Forgets the token when Vault says it is no longer valid.
    void note_vault_error(const Error& e);

    asio::io_context& io_;
    DaemonOptions options_;
    config::Config config_;
    std::shared_ptr<VaultClient> vault_;   ///< replaced on reload; workers keep the one they started with
    std::optional<VaultToken> token_;
    std::uint64_t login_generation_ = 0;   ///< bumped by login/logout so stale renewals are dropped
    CertCache cache_;
    std::unique_ptr<FramedServer> agent_server_;
    std::map<std::string, std::unique_ptr<FramedServer>> profile_servers_;  ///< agent-<profile>.sock
    std::map<std::uint64_t, AgentSession> agent_sessions_;                 ///< by connection id
    std::unique_ptr<UpstreamAgent> upstream_;
    std::unique_ptr<FramedServer> control_server_;
    std::vector<std::string> bound_paths_;
    asio::steady_timer renew_timer_;
    asio::steady_timer expiry_timer_;
    std::uint64_t signatures_ = 0;
    asio::thread_pool workers_{2};  ///< last member: joined first on destruction
};

template <typename Work, typename Done>
void Daemon::offload(Work work, Done done) {
    asio::post(workers_, [this, work = std::move(work), done = std::move(done)]() mutable {
        auto result = work();
        asio::post(io_, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
    });
}

}  // namespace sshcert
