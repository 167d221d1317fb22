// SPDX-License-Identifier: Apache-2.0
// One timer for everything time does to held certificates: certificates in
// use are renewed in the background at 60-67 % of their life (fresh key,
// jittered), so no ssh waits on Vault while Vault answers; expired ones are
// dropped and their keys wiped the moment they expire.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "cert_cache.hpp"
#include "daemon_clock.hpp"

namespace sshcert {

class RenewalScheduler {
public:
    /// The login generation to renew `key` under: that of its profile's Vault session, or
    /// nullopt when that session is logged out (its certificates are not renewed).
    using Generation = std::function<std::optional<std::uint64_t>(const CertKey& key)>;
    /// Seconds: certificates asked for within this long are renewed; 0 turns renewal off.
    using Window = std::function<std::uint64_t()>;

    RenewalScheduler(asio::io_context& io, CertCache& cache, Generation generation, Window window,
                     std::function<void(std::size_t dropped)> on_dropped);
    /// Re-reads what is held and sets the timer for the next thing due.
    void poke();
    void stop();

private:
    void wake();

    CertCache& cache_;
    Generation generation_;
    Window window_;
    std::function<void(std::size_t)> on_dropped_;
    DaemonTimer timer_;
    bool stopped_ = false;
};

}  // namespace sshcert
