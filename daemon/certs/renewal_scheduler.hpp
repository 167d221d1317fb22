// SPDX-License-Identifier: Apache-2.0
// One timer for everything time does to held certificates: certificates in
// use are renewed in the background before two thirds of their life (fresh
// key, jittered), so no ssh waits on Vault while Vault answers; while a Vault is
// down, its renewals wait behind one probe (OutageGate); expired ones are
// dropped and their keys wiped the moment they expire.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "cert_cache.hpp"
#include "daemon_clock.hpp"
#include "outage_gate.hpp"

namespace sshcert {

class RenewalScheduler {
public:
    /// Where `key` is renewed: its profile's Vault, and the login generation of that session.
    struct Route {
        std::string vault;
        std::uint64_t generation = 0;
    };
    /// `key`'s route, or nullopt when its session is logged out (its certificates are not renewed).
    using Router = std::function<std::optional<Route>(const CertKey& key)>;
    /// Seconds: certificates asked for within this long are renewed; 0 turns renewal off.
    using Window = std::function<std::uint64_t()>;

    RenewalScheduler(asio::io_context& io, CertCache& cache, Router router, Window window,
                     std::function<void(std::size_t dropped)> on_dropped);
    /// Re-reads what is held and sets the timer for the next thing due.
    void poke();
    void stop();

private:
    void wake();
    /// The time OutageGate lets `key`'s renewal start (0: no outage, or no route).
    std::uint64_t gate_time(const CertKey& key) const;

    CertCache& cache_;
    Router router_;
    OutageGate gate_;
    Window window_;
    std::function<void(std::size_t)> on_dropped_;
    DaemonTimer timer_;
    bool stopped_ = false;
};

}  // namespace sshcert
