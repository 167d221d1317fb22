// SPDX-License-Identifier: Apache-2.0
#include "cert_cache.hpp"

#include <algorithm>

namespace sshcert {

std::uint64_t renewal_margin(const Certificate& cert) {
    std::uint64_t lifetime = cert.valid_before > cert.valid_after ? cert.valid_before - cert.valid_after : 0;
    return std::clamp<std::uint64_t>(lifetime / 10, 10, 300);
}

void CertCache::ensure(const CertKey& key, std::uint64_t generation, EnsureDone done) {
    auto now = clock_();
    if (auto it = held_.find(key); it != held_.end()) {
        const Certificate& c = it->second->cert;
        if (usable_at(c, now) && c.valid_before - now > renewal_margin(c)) return done(it->second, true);
    }
    if (!held_.count(key) && held_.size() >= kMaxHeld) {
        drop_expired();
        if (held_.size() >= kMaxHeld)
            return done(Error{Errc::Internal, "sshcertd holds " + std::to_string(held_.size()) +
                                                  " certificates, its limit; run `sshcert logout` to drop them, or use fewer "
                                                  "distinct principals"},
                        false);
    }
    auto slot = std::make_pair(key, generation);
    auto& waiters = pending_[slot];
    waiters.push_back(std::move(done));
    if (waiters.size() > 1) return;  // a fetch for this key under this login is already under way

    fetch_(key, generation, [this, slot, epoch = epoch_](Result<std::shared_ptr<HeldCert>> result) {
        auto node = pending_.extract(slot);
        if (epoch != epoch_) return;  // cleared meanwhile: its waiters were answered then
        if (result) held_[slot.first] = *result;
        if (node.empty()) return;
        for (auto& w : node.mapped()) w(result, false);
    });
}

std::vector<agent::Identity> CertCache::identities(const std::optional<std::string>& profile) const {
    std::vector<agent::Identity> out;
    for (const auto& held : valid())
        if (!profile || held->key.profile == *profile)
            out.push_back({held->blob, "sshcert:" + held->key.profile + " " + held->cert.key_id});
    return out;
}

std::vector<std::shared_ptr<const HeldCert>> CertCache::valid() const {
    auto now = clock_();
    std::vector<std::shared_ptr<const HeldCert>> out;
    for (const auto& [k, held] : held_)
        if (usable_at(held->cert, now)) out.push_back(held);
    return out;
}

HeldCert* CertCache::find_by_blob(wire::ByteView blob) {
    auto now = clock_();
    for (auto& [k, held] : held_) {
        if (!usable_at(held->cert, now)) continue;
        if (std::ranges::equal(held->blob, blob) || std::ranges::equal(held->private_key->public_blob(), blob))
            return held.get();
    }
    return nullptr;
}

std::size_t CertCache::drop_expired() {
    auto now = clock_();
    return std::erase_if(held_, [now](const auto& kv) { return !usable_at(kv.second->cert, now); });
}

std::optional<std::uint64_t> CertCache::next_expiry() const {
    std::optional<std::uint64_t> next;
    for (const auto& [k, held] : held_)
        if (!next || held->cert.valid_before < *next) next = held->cert.valid_before;
    return next;
}

void CertCache::clear() {
    held_.clear();
    ++epoch_;
    // Nobody waits for a fetch of a login that is gone: its result will not be stored.
    auto pending = std::move(pending_);
    pending_.clear();
    Error gone{Errc::NotLoggedIn, "logged out while the certificate was being signed; run: sshcert login"};
    for (auto& [slot, waiters] : pending)
        for (auto& w : waiters) w(gone, false);
}

}  // namespace sshcert
