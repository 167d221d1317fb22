// SPDX-License-Identifier: Apache-2.0
#include "cert_cache.hpp"

#include <algorithm>

#include "log.hpp"

namespace sshcert {

std::uint64_t renewal_margin(const Certificate& cert) {
    std::uint64_t lifetime = cert.valid_before > cert.valid_after ? cert.valid_before - cert.valid_after : 0;
    return std::clamp<std::uint64_t>(lifetime / 10, 10, 300);
}

std::uint64_t HeldCert::renew_at() const {
    std::uint64_t from = std::max(cert.valid_after, received_at);
    std::uint64_t life = cert.valid_before > from ? cert.valid_before - from : 0;
    return from + static_cast<std::uint64_t>(static_cast<double>(life) * renew_fraction);
}

bool serves(const CertKey& held, const CertKey& wanted) {
    return held.profile == wanted.profile && held.principals == wanted.principals &&
           std::includes(held.extensions.begin(), held.extensions.end(), wanted.extensions.begin(), wanted.extensions.end());
}

void CertCache::ensure(const CertKey& key, std::uint64_t generation, EnsureDone done) {
    auto now = clock_();
    auto fresh = [now](const HeldCert& h) { return usable_at(h.cert, now) && h.cert.valid_before - now > renewal_margin(h.cert); };
    auto it = held_.find(key);
    if (it == held_.end() || !fresh(*it->second))  // else one asked for with more extensions
        it = std::find_if(held_.begin(), held_.end(), [&](const auto& kv) { return serves(kv.first, key) && fresh(*kv.second); });
    if (it != held_.end() && fresh(*it->second)) {
        touch(*it->second);
        return done(it->second, true);
    }
    if (!held_.count(key) && held_.size() >= kMaxHeld) {
        drop_expired();
        if (held_.size() >= kMaxHeld)
            return done(Error{Errc::Internal, "sshcertd holds " + std::to_string(held_.size()) +
                                                  " certificates, its limit; run `sshcert logout` to drop them, or use fewer "
                                                  "distinct principals"},
                        false);
    }
    join_fetch({key, generation}, [this, key, done = std::move(done)](Result<std::shared_ptr<HeldCert>> r, bool reused) {
        // Vault down or overloaded: the certificate held, near its end but still valid, beats an error.
        bool transient = !r && is_vault_outage(r.error());
        if (auto it = held_.find(key); transient && it != held_.end() && usable_at(it->second->cert, clock_()))
            return done(it->second, true);
        if (r) touch(**r);
        done(std::move(r), reused);
    });
}

void CertCache::join_fetch(const Slot& slot, EnsureDone done) {
    auto& fetching = pending_[slot];
    fetching.waiters.push_back(std::move(done));
    if (fetching.waiters.size() > 1) return;  // a fetch for this key under this login is already under way
    fetching.id = ++next_fetch_id_;

    fetch_(slot.first, slot.second, [this, slot, id = fetching.id](Result<std::shared_ptr<HeldCert>> result) {
        auto it = pending_.find(slot);
        if (it == pending_.end() || it->second.id != id) return;  // cleared meanwhile: its waiters were answered then
        auto waiters = std::move(it->second.waiters);
        pending_.erase(it);
        if (result) store(slot.first, *result);
        for (auto& w : waiters) w(result, false);
    });
}

void CertCache::store(const CertKey& key, std::shared_ptr<HeldCert> held) {
    // Renewed before two thirds of its life, jittered so a team's daemons do not renew in step. A renewal
    // keeps its predecessor's place (60-67 %); a certificate fetched anew is first renewed anywhere from a
    // third on, so certificates fetched together (a team starting, all after an outage) part within a cycle.
    bool renewal = held_.count(key) != 0;
    held->renew_fraction = std::uniform_real_distribution<double>(renewal ? 0.60 : 0.333, 0.666)(rng_);
    held->last_used = held->received_at = clock_();
    held->use_order = ++uses_;  // a renewal keeps its place; an ensure moves it to the front (below)
    if (auto old = held_.find(key); old != held_.end()) {
        held->signatures = old->second->signatures;
        held->connections = old->second->connections;
        held->use_order = old->second->use_order;
        std::erase_if(replaced_, [&](const auto& r) { return r.first + kReplacedGraceSeconds <= held->received_at; });
        replaced_.emplace_back(held->received_at, old->second);
    }
    held_[key] = std::move(held);
    lapsed_.erase(key);
    backoff_.erase(key);
    if (on_stored_) on_stored_();
}

void CertCache::renew(const CertKey& key, std::uint64_t generation, Renewed done) {
    // A fetch under way (an ensure's) is joined: its outcome is this renewal's.
    join_fetch({key, generation}, [this, key, done = std::move(done)](Result<std::shared_ptr<HeldCert>> r, bool) {
        if (r) {
            if (done) done(nullptr);
            return;
        }
        if (!is_vault_outage(r.error())) {
            auto& b = backoff_[key];
            ++b.failures;
            // Each wait drawn from the upper half of the ceiling.
            std::uint64_t full = renewal_backoff_ceiling(b.failures);
            std::uint64_t wait = std::max<std::uint64_t>(1, std::uniform_int_distribution<std::uint64_t>(full / 2, full)(rng_));
            b.not_before = clock_() + wait;
            log::warn("background renewal for profile ", key.profile, " failed: ", r.error().message, "; trying again in ",
                      wait, " s, and serving the current certificate until it expires");
        }
        if (done) done(&r.error());
    });
}

std::vector<CertKey> CertCache::due_for_renewal(std::uint64_t window, const NotBefore& not_before) const {
    std::vector<CertKey> out;
    if (window == 0) return out;
    auto now = clock_();
    auto in_use = [&](std::uint64_t last_used) { return now - std::min(now, last_used) <= window; };
    for (const auto& [key, held] : held_)
        if (usable_at(held->cert, now) && in_use(held->last_used) && !fetching(key) &&
            now >= renewal_time(key, held->renew_at(), not_before))
            out.push_back(key);
    for (const auto& [key, last_used] : lapsed_)
        if (in_use(last_used) && !held_.count(key) && !fetching(key) && now >= renewal_time(key, 0, not_before))
            out.push_back(key);
    return out;
}

bool CertCache::fetching(const CertKey& key) const {
    auto it = pending_.lower_bound({key, 0});
    return it != pending_.end() && it->first.first == key;
}

std::uint64_t CertCache::renewal_time(const CertKey& key, std::uint64_t due, const NotBefore& not_before) const {
    if (auto b = backoff_.find(key); b != backoff_.end()) due = std::max(due, b->second.not_before);
    return not_before ? std::max(due, not_before(key)) : due;
}

std::optional<std::uint64_t> CertCache::next_wakeup(std::uint64_t window, const NotBefore& not_before) const {
    std::optional<std::uint64_t> next;
    auto consider = [&](std::uint64_t t) { next = next ? std::min(*next, t) : t; };
    auto now = clock_();
    if (window == 0) {
        for (const auto& [key, held] : held_) consider(held->cert.valid_before);
        return next;
    }
    auto in_use = [&](std::uint64_t last_used) { return now - std::min(now, last_used) <= window; };
    for (const auto& [key, held] : held_) {
        consider(held->cert.valid_before);
        if (in_use(held->last_used)) consider(renewal_time(key, held->renew_at(), not_before));
    }
    for (const auto& [key, last_used] : lapsed_)
        if (in_use(last_used) && !fetching(key)) consider(renewal_time(key, 0, not_before));
    return next;
}

std::vector<agent::Identity> CertCache::identities(const std::optional<std::string>& profile) const {
    std::vector<agent::Identity> out;
    auto held_now = valid();
    // Most recently asked for first: ssh offers them in this order, and sshd counts every refusal
    // against MaxAuthTries, so the one just ensured for this host must come early.
    std::stable_sort(held_now.begin(), held_now.end(), [](const auto& a, const auto& b) { return a->use_order > b->use_order; });
    for (const auto& held : held_now)
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
    for (auto& [since, held] : replaced_)
        if (now < since + kReplacedGraceSeconds && usable_at(held->cert, now) &&
            (std::ranges::equal(held->blob, blob) || std::ranges::equal(held->private_key->public_blob(), blob)))
            return held.get();
    return nullptr;
}

std::size_t CertCache::drop_expired(std::uint64_t window) {
    auto now = clock_();
    std::erase_if(replaced_, [now](const auto& r) { return now >= r.first + kReplacedGraceSeconds || !usable_at(r.second->cert, now); });
    std::erase_if(lapsed_, [&](const auto& kv) { return now - std::min(now, kv.second) > window; });
    return std::erase_if(held_, [&](const auto& kv) {
        if (usable_at(kv.second->cert, now)) return false;
        if (window != 0 && now - std::min(now, kv.second->last_used) <= window) lapsed_[kv.first] = kv.second->last_used;
        return true;
    });
}

std::optional<std::uint64_t> CertCache::next_expiry() const {
    std::optional<std::uint64_t> next;
    for (const auto& [k, held] : held_)
        if (!next || held->cert.valid_before < *next) next = held->cert.valid_before;
    return next;
}

void CertCache::clear_if(const std::function<bool(const CertKey&)>& which) {
    std::erase_if(held_, [&](const auto& kv) { return which(kv.first); });
    std::erase_if(lapsed_, [&](const auto& kv) { return which(kv.first); });
    std::erase_if(replaced_, [&](const auto& r) { return which(r.second->key); });
    std::erase_if(backoff_, [&](const auto& kv) { return which(kv.first); });
    // Nobody waits for a fetch of a login that is gone: its result will not be stored.
    std::vector<EnsureDone> gone_waiters;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (!which(it->first.first)) {
            ++it;
            continue;
        }
        for (auto& w : it->second.waiters) gone_waiters.push_back(std::move(w));
        it = pending_.erase(it);
    }
    Error gone{Errc::NotLoggedIn, "logged out while the certificate was being signed; run: sshcert login"};
    for (auto& w : gone_waiters) w(gone, false);
}

}  // namespace sshcert
