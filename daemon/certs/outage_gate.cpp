// SPDX-License-Identifier: Apache-2.0
#include "outage_gate.hpp"

#include <algorithm>
#include <limits>

namespace sshcert {

OutageGate::Admission OutageGate::admit(const std::string& vault) {
    auto it = outages_.find(vault);
    if (it == outages_.end()) return Admission::Go;
    if (it->second.probing || clock_() < it->second.next_probe) return Admission::Wait;
    it->second.probing = true;
    return Admission::Probe;
}

std::optional<std::uint64_t> OutageGate::record(const std::string& vault, Admission how, const Error* error) {
    if (!error) {
        outages_.erase(vault);
        return std::nullopt;
    }
    auto it = outages_.find(vault);
    if (!is_vault_outage(*error)) {
        // Vault answered: this renewal's own trouble, backed off by the cache. Let another probe.
        if (it != outages_.end() && how == Admission::Probe) it->second = {it->second.failures, 0, false};
        return std::nullopt;
    }
    // Renewals that started before the outage was known fail too; only the first and the probes count.
    if (it != outages_.end() && how != Admission::Probe) return std::nullopt;
    auto& o = outages_[vault];
    ++o.failures;
    std::uint64_t full = renewal_backoff_ceiling(o.failures);
    // Full jitter: the team's daemons that fail together spread over the whole wait.
    std::uint64_t wait = std::uniform_int_distribution<std::uint64_t>(1, std::max<std::uint64_t>(1, full))(rng_);
    o.next_probe = clock_() + wait;
    o.probing = false;
    return wait;
}

std::uint64_t OutageGate::not_before(const std::string& vault) const {
    auto it = outages_.find(vault);
    if (it == outages_.end()) return 0;
    return it->second.probing ? std::numeric_limits<std::uint64_t>::max() : it->second.next_probe;
}

}  // namespace sshcert
