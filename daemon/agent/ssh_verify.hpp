// SPDX-License-Identifier: Apache-2.0
// Verifying an SSH signature against an SSH public key blob with OpenSSL:
// Ed25519, ECDSA (P-256/384/521) and RSA with SHA-2. Used to check the
// server's signature in OpenSSH's session-bind before trusting a binding.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "result.hpp"
#include "ssh_wire.hpp"

namespace sshcert {

/// Public keys loaded for verifying, by SSH blob. ssh sends the same host key
/// at every connection to a host; a loaded key saves parsing, OpenSSL's key
/// import and provider look-up, and for RSA the Montgomery set-up OpenSSL keeps
/// in the key. At most `capacity` keys; the least recently used goes first.
/// Thread-safe.
class VerifyKeyCache {
public:
    explicit VerifyKeyCache(std::size_t capacity);
    ~VerifyKeyCache();
    VerifyKeyCache(const VerifyKeyCache&) = delete;
    VerifyKeyCache& operator=(const VerifyKeyCache&) = delete;

    /// As verify_ssh_signature, with the key from the cache when it is there.
    Status verify(wire::ByteView key_blob, wire::ByteView signature_blob, wire::ByteView data);
    std::size_t size() const;
    /// Checks that found their key already loaded.
    std::uint64_t hits() const;

    struct Key;

private:
    struct Entry {
        wire::Bytes blob;
        std::shared_ptr<const Key> key;  ///< shared: a check in progress keeps a key another thread evicts
        std::uint64_t last_used = 0;
    };
    Result<std::shared_ptr<const Key>> find_or_load(wire::ByteView blob);

    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::vector<Entry> entries_;
    std::uint64_t clock_ = 0;
    std::uint64_t hits_ = 0;
};

/// Host keys the process-wide cache keeps: more than the hosts one user connects to at once.
inline constexpr std::size_t kHostKeyCacheEntries = 32;

/// Ok when `signature_blob` (string algorithm, string signature) is a valid
/// signature of `data` by `key_blob`. SHA-1 RSA signatures are refused, and
/// so are RSA keys outside 1024-16384 bits or with a public exponent over 64
/// bits (whose checks would hold the event loop for milliseconds). Uses a
/// process-wide VerifyKeyCache.
Status verify_ssh_signature(wire::ByteView key_blob, wire::ByteView signature_blob, wire::ByteView data);

}  // namespace sshcert
