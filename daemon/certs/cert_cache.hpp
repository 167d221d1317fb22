// SPDX-License-Identifier: Apache-2.0
// The certificates the daemon holds, each with the in-memory key it
// certifies, keyed by what was asked for (profile and principals). `ensure`
// reuses a certificate that still has its safety margin left; concurrent
// requests for the same key under the same login share one Vault round trip,
// and a request never joins a fetch begun under another login (generation).
// Event-loop thread only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "agent_codec.hpp"
#include "result.hpp"
#include "ssh_cert.hpp"
#include "ssh_key.hpp"

namespace sshcert {

/// What a certificate is for; two requests with equal keys can share one certificate.
struct CertKey {
    std::string profile;
    std::vector<std::string> principals;  ///< sorted, as Vault sorts them
    /// Sorted; what was asked for under extensions = "auto", else empty (the profile's own).
    std::vector<std::string> extensions;
    auto operator<=>(const CertKey&) const = default;
};

/// Whether a certificate asked for as `held` serves a request for `wanted`: the same profile and
/// principals and at least the extensions wanted (one with more may be used for less).
bool serves(const CertKey& held, const CertKey& wanted);

struct HeldCert {
    CertKey key;
    std::shared_ptr<const SshKey> private_key;
    wire::Bytes blob;  ///< the certificate as served to ssh
    Certificate cert;
    std::string serial_hex;
    std::vector<std::string> warnings;  ///< what the user should know about it (no extensions, long life, Vault's warnings)
    std::vector<std::string> refused_extensions;  ///< asked for (extensions = "auto") and refused by the role
    std::uint64_t signatures = 0;       ///< signatures served with it
    std::uint64_t connections = 0;      ///< agent connections it signed on
    std::uint64_t last_used = 0;        ///< when an ensure or a signature last asked for it
    std::uint64_t use_order = 0;        ///< the same, as a count: ties within a second broken
    std::uint64_t received_at = 0;      ///< when Vault's answer arrived
    double renew_fraction = 0.65;       ///< of its lifetime, when it is renewed in the background (jittered)

    /// When a background renewal is due: `renew_fraction` of the way through its life, counted
    /// from when it arrived (Vault backdates valid_after by 30 s, which is no part of its use).
    std::uint64_t renew_at() const;
};

using Clock = std::function<std::uint64_t()>;  ///< Unix seconds on Vault's clock (local + measured skew); injected

/// How long before expiry a certificate stops being handed out for new logins:
/// a tenth of its lifetime, at least 10 s and at most 5 min.
std::uint64_t renewal_margin(const Certificate& cert);

/// Whether a certificate may be offered at `now`. Only expiry counts: Vault backdates by just 30 s,
/// so a certificate that starts in the local future is hidden by nothing but our own clock.
inline bool usable_at(const Certificate& c, std::uint64_t now) { return now < c.valid_before; }

/// The longest wait before retry number `failures` (1-based) of a background renewal: 1 s
/// doubling to 5 min, as Vault Agent. Each wait is drawn below it, with jitter.
inline std::uint64_t renewal_backoff_ceiling(int failures) {
    return std::min<std::uint64_t>(300, std::uint64_t{1} << std::clamp(failures - 1, 0, 9));
}

/// Whether an error means Vault cannot serve anyone right now (down, sealed, overloaded,
/// rate-limiting), as opposed to refusing this one request.
inline bool is_vault_outage(const Error& e) { return e.code == Errc::VaultUnreachable || e.code == Errc::VaultUnavailable; }

class CertCache {
public:
    using Done = std::function<void(Result<std::shared_ptr<HeldCert>>)>;
    /// Obtains a new certificate under login `generation`; calls back on the loop.
    using Fetch = std::function<void(const CertKey&, std::uint64_t generation, Done)>;
    using EnsureDone = std::function<void(Result<std::shared_ptr<HeldCert>>, bool reused)>;
    using Renewed = std::function<void(const Error* failure)>;
    /// The earliest time `key` may be renewed, for reasons beyond the cache (0: none).
    using NotBefore = std::function<std::uint64_t(const CertKey&)>;

    /// Certificates held at once; each holds a key in the locked secure heap.
    static constexpr std::size_t kMaxHeld = 1024;
    /// How long a certificate replaced by its renewal still signs: an ssh that listed it just
    /// before the renewal asks for its signature a moment later. It is no longer listed.
    static constexpr std::uint64_t kReplacedGraceSeconds = 60;

    CertCache(Fetch fetch, Clock clock) : fetch_(std::move(fetch)), clock_(std::move(clock)) {}

    /// Calls `done` with a usable certificate for `key`, fetching one under `generation` when needed.
    void ensure(const CertKey& key, std::uint64_t generation, EnsureDone done);

    /// Certificates usable now, for the agent's identity list; only `profile`'s when given.
    std::vector<agent::Identity> identities(const std::optional<std::string>& profile = std::nullopt) const;
    /// The held certificate whose certificate or plain key blob equals `blob`, if usable now; also
    /// one a renewal replaced within kReplacedGraceSeconds.
    HeldCert* find_by_blob(wire::ByteView blob);
    /// All certificates usable now.
    std::vector<std::shared_ptr<const HeldCert>> valid() const;

    /// Records that `held` was asked for now (an ensure reused it, or it signed).
    void touch(HeldCert& held) {
        held.last_used = clock_();
        held.use_order = ++uses_;
    }
    /// Starts a background renewal of `key` under `generation`, or joins the fetch under way. The new
    /// certificate (fresh key) replaces the old when it arrives; until then, and when the renewal
    /// fails, the old one is served. A refusal is retried with jittered backoff from 1 s to 5 min;
    /// an outage is left to the caller (OutageGate), which hears of every outcome through `done`.
    void renew(const CertKey& key, std::uint64_t generation, Renewed done = {});
    /// Certificates used within `window` seconds whose renewal is due, not under way and not backing
    /// off; with them those that expired within `window` of their last use (Vault was down then),
    /// so the next ssh finds one again.
    std::vector<CertKey> due_for_renewal(std::uint64_t window, const NotBefore& not_before = {}) const;
    /// The earliest time a held certificate needs attention: its renewal (if used within
    /// `window`, 0 = no renewals) or its expiry.
    std::optional<std::uint64_t> next_wakeup(std::uint64_t window, const NotBefore& not_before = {}) const;
    /// Called whenever a new certificate is stored (a fetch or a renewal).
    void on_stored(std::function<void()> f) { on_stored_ = std::move(f); }

    /// Forgets expired certificates (their keys are freed and wiped); returns how many. Those used
    /// within `window` seconds are remembered as lapsed, for due_for_renewal, until that passes.
    std::size_t drop_expired(std::uint64_t window = 0);
    /// The earliest valid_before among held certificates, if any.
    std::optional<std::uint64_t> next_expiry() const;
    /// Forgets everything (logout, another identity); fetches under way are not stored.
    void clear() { clear_if([](const CertKey&) { return true; }); }
    /// The same for the certificates (and fetches) whose key `which` picks: one Vault's profiles.
    void clear_if(const std::function<bool(const CertKey&)>& which);
    std::uint64_t now() const { return clock_(); }

private:
    Fetch fetch_;
    Clock clock_;
    std::map<CertKey, std::shared_ptr<HeldCert>> held_;
    std::map<CertKey, std::uint64_t> lapsed_;  ///< expired while in use, with their last use
    /// Certificates their renewals replaced, with when: they sign for kReplacedGraceSeconds more.
    std::vector<std::pair<std::uint64_t, std::shared_ptr<HeldCert>>> replaced_;
    using Slot = std::pair<CertKey, std::uint64_t>;  ///< what is fetched, under which login generation
    struct Fetching {
        std::uint64_t id = 0;  ///< a fetch whose slot was cleared meanwhile finds another id (or none)
        std::vector<EnsureDone> waiters;
    };
    std::map<Slot, Fetching> pending_;
    struct Backoff {
        std::uint64_t not_before = 0;
        int failures = 0;
    };
    void store(const CertKey& key, std::shared_ptr<HeldCert> held);
    bool fetching(const CertKey& key) const;  ///< under any login
    /// When `key`'s renewal may start: `due`, its backoff, and `not_before`'s say.
    std::uint64_t renewal_time(const CertKey& key, std::uint64_t due, const NotBefore& not_before) const;
    void join_fetch(const Slot& slot, EnsureDone done);

    std::map<CertKey, Backoff> backoff_;  ///< background renewals Vault refused
    std::function<void()> on_stored_;
    std::mt19937_64 rng_{std::random_device{}()};
    std::uint64_t next_fetch_id_ = 0;
    std::uint64_t uses_ = 0;
};

}  // namespace sshcert
