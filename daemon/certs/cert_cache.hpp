// SPDX-License-Identifier: Apache-2.0
// The certificates the daemon holds, each with the in-memory key it
// certifies, keyed by what was asked for (profile and principals). `ensure`
// reuses a certificate that still has its safety margin left, and concurrent
// requests for the same key share one Vault round trip. Event-loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
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
    auto operator<=>(const CertKey&) const = default;
};

struct HeldCert {
    CertKey key;
    std::shared_ptr<const SshKey> private_key;
    wire::Bytes blob;  ///< the certificate as served to ssh
    Certificate cert;
    std::string serial_hex;
    std::uint64_t signatures = 0;   ///< signatures served with it
    std::uint64_t connections = 0;  ///< agent connections it signed on
};

using Clock = std::function<std::uint64_t()>;  ///< Unix seconds; injected so tests control time

/// How long before expiry a certificate stops being handed out for new logins:
/// a tenth of its lifetime, at least 10 s and at most 5 min.
std::uint64_t renewal_margin(const Certificate& cert);

class CertCache {
public:
    using Done = std::function<void(Result<std::shared_ptr<HeldCert>>)>;
    /// Obtains a new certificate (key generation and signing, off the event loop); calls back on the loop.
    using Fetch = std::function<void(const CertKey&, Done)>;

    CertCache(Fetch fetch, Clock clock) : fetch_(std::move(fetch)), clock_(std::move(clock)) {}

    /// Calls `done` with a usable certificate for `key`, fetching one when needed.
    /// `reused` tells whether it came from the cache.
    void ensure(const CertKey& key, std::function<void(Result<std::shared_ptr<HeldCert>>, bool reused)> done);

    /// Certificates valid now, for the agent's identity list; only `profile`'s when given.
    std::vector<agent::Identity> identities(const std::optional<std::string>& profile = std::nullopt) const;
    /// The held certificate whose certificate or plain key blob equals `blob`, if valid now.
    HeldCert* find_by_blob(wire::ByteView blob);
    /// All certificates valid now.
    std::vector<std::shared_ptr<const HeldCert>> valid() const;

    /// Forgets expired certificates (their keys are freed and wiped); returns how many.
    std::size_t drop_expired();
    /// The earliest valid_before among held certificates, if any.
    std::optional<std::uint64_t> next_expiry() const;
    /// Forgets everything (logout).
    void clear();

private:
    Fetch fetch_;
    Clock clock_;
    std::map<CertKey, std::shared_ptr<HeldCert>> held_;
    std::map<CertKey, std::vector<std::function<void(Result<std::shared_ptr<HeldCert>>, bool)>>> pending_;
    std::uint64_t generation_ = 0;  ///< bumped by clear() so late fetches from before a logout are discarded
};

}  // namespace sshcert
