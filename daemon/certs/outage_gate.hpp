// SPDX-License-Identifier: Apache-2.0
// Holds a daemon's background renewals back while a Vault is down. Without
// it every certificate that comes due during an outage retries on its own
// backoff, and the ones that came due last retry soonest, so a team's daemons
// all hit Vault in the first seconds after it returns. With it one renewal per
// Vault is in flight as a probe, waits double from 1 s to 5 min with full
// jitter, and the rest go only once the probe gets through.
// Event-loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "cert_cache.hpp"

namespace sshcert {

class OutageGate {
public:
    enum class Admission { Go, Probe, Wait };

    explicit OutageGate(Clock clock) : clock_(std::move(clock)) {}

    /// Whether a background renewal against `vault` may start now: Go when Vault is well,
    /// Probe for the one renewal that tests a failing Vault, Wait otherwise.
    Admission admit(const std::string& vault);
    /// The outcome of a renewal admitted as `how` (`error` null on success). Returns the wait
    /// before the next probe when this outcome started or extended an outage.
    std::optional<std::uint64_t> record(const std::string& vault, Admission how, const Error* error);
    /// The earliest time a renewal against `vault` may start; 0 when Vault is well, and never
    /// (the largest time) while a probe is in flight.
    std::uint64_t not_before(const std::string& vault) const;
    /// Whether every Vault is well (nothing is held back).
    bool open() const noexcept { return outages_.empty(); }

private:
    struct Outage {
        int failures = 0;
        std::uint64_t next_probe = 0;
        bool probing = false;
    };
    Clock clock_;
    std::map<std::string, Outage> outages_;
    std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace sshcert
