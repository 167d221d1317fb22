// SPDX-License-Identifier: Apache-2.0
// sshcertd's composition root: builds the parts from the config, applies a
// reload as a diff, and shuts down. Nothing calls Daemon; the parts talk to
// each other (service -> cache -> issuer -> Vault client), all on the one
// event-loop thread. Only RSA key generation goes to a worker.
//
//   Listeners ── AgentService ──┐                 RenewalScheduler
//            └── ControlService ┴── CertCache ── CertSource ── CertIssuer ── KeyMaker
//                                                     └── VaultSession per Vault (VaultClient, TokenKeeper)
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent_service.hpp"
#include "asio.hpp"
#include "cert_cache.hpp"
#include "cert_issuer.hpp"
#include "cert_source.hpp"
#include "config.hpp"
#include "control_service.hpp"
#include "key_maker.hpp"
#include "listeners.hpp"
#include "login_store.hpp"
#include "renewal_scheduler.hpp"
#include "vault_session.hpp"

namespace sshcert {

struct DaemonOptions {
    std::optional<std::string> config_path;  ///< --config; otherwise the XDG default
    std::string runtime_dir;                 ///< where the sockets live
    std::optional<int> agent_fd;             ///< listening socket passed by systemd (name "agent"), owned from here on
    std::optional<int> control_fd;           ///< the same for "control"; without one, start() binds its own
};

class Daemon {
public:
    Daemon(asio::io_context& io, DaemonOptions options, config::Config config);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    /// Adopts or binds the sockets and starts serving; throws StartupError.
    void start();
    /// Stops at once: sockets closed, Vault calls abandoned, keys wiped.
    void stop();
    /// Re-reads the config file; keeps the old one (and says why) if the new one is bad or gone.
    Status reload();
    /// Tells systemd (STATUS=) who is logged in and how many certificates are held.
    void publish_status() const;

private:
    std::unique_ptr<VaultSession> make_session(const std::string& name, const config::VaultSettings& settings);
    /// The session of Vault `name`, or nullptr.
    VaultSession* session(std::string_view name) const;
    VaultSession& default_session() const { return *session(config::kDefaultVault); }
    /// A new session for each Vault that is new or changed; the old one revokes its token and goes.
    void sync_sessions(const config::Config& old);
    /// From session number `serial` of Vault `vault`; a retired session's last words are ignored.
    void on_login_changed(const std::string& vault, std::uint64_t serial, bool identity_changed);
    /// agent-<profile>.sock for each configured profile, and none for others.
    void sync_profile_sockets();
    /// Keeps the login in the kernel keyring, or nowhere with [auth] persist_login = false.
    void sync_login_store();

    asio::io_context& io_;
    DaemonOptions options_;
    config::Config config_;
    asio::thread_pool workers_{1};  ///< RSA key generation
    std::unique_ptr<LoginStore> logins_;  ///< null: logins are not kept (turned off, or no keyring)
    std::map<std::string, std::unique_ptr<VaultSession>, std::less<>> sessions_;  ///< one per Vault, by name
    std::map<std::string, std::uint64_t, std::less<>> serials_;  ///< which session of each Vault is the current one
    std::uint64_t sessions_made_ = 0;
    std::vector<std::unique_ptr<VaultSession>> retired_;  ///< replaced by a reload; kept until calls to them end
    KeyMaker keys_;
    CertIssuer issuer_;
    CertSource source_;
    CertCache cache_;
    AgentService agent_;
    Listeners listeners_;
    ControlService control_;
    RenewalScheduler renewals_;
};

}  // namespace sshcert
