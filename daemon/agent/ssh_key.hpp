// SPDX-License-Identifier: Apache-2.0
// A private key generated in memory with OpenSSL, its SSH public key blob,
// and SSH signatures (RFC 8709 Ed25519, RFC 5656 ECDSA, RFC 8332 RSA/SHA-2).
// The key never leaves the process: there is no export.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "c_handles.hpp"
#include "config.hpp"
#include "result.hpp"
#include "ssh_wire.hpp"

namespace sshcert {

class SshKey {
public:
    /// Generates a fresh key of the given type.
    static Result<SshKey> generate(config::KeyType type);

    /// The SSH public key blob ("ssh-ed25519" + key, ...).
    const wire::Bytes& public_blob() const noexcept { return public_blob_; }
    config::KeyType type() const noexcept { return type_; }

    /// Signs `data` and returns an SSH signature blob. For RSA keys the agent
    /// flags pick SHA-512 or SHA-256; SHA-1 ("ssh-rsa") is never produced.
    Result<wire::Bytes> sign(wire::ByteView data, std::uint32_t agent_flags) const;

    /// Private keys alive in the process (for the message when the secure heap is full).
    static std::size_t live_keys() noexcept { return live_; }

private:
    SshKey(EvpPkey pkey, config::KeyType type, wire::Bytes blob)
        : pkey_(std::move(pkey)), type_(type), public_blob_(std::move(blob)), counted_((++live_, &live_)) {}

    struct Uncount {
        void operator()(std::atomic<std::size_t>* n) const noexcept { --*n; }
    };
    static inline std::atomic<std::size_t> live_{0};

    EvpPkey pkey_;  ///< owns the private key; OpenSSL cleanses it on free
    config::KeyType type_;
    wire::Bytes public_blob_;
    std::unique_ptr<std::atomic<std::size_t>, Uncount> counted_;  ///< our one in live_, moved with the key
};

/// Bytes of OpenSSL's secure heap one key of `type` takes (measured with OpenSSL 3.0; a unit
/// test checks them), for sizing the heap and for the message when it is full.
std::size_t secure_heap_cost(config::KeyType type);

/// The SSH key type name of a key type ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa").
std::string_view ssh_key_type_name(config::KeyType type);

/// The newest OpenSSL error as text, for messages.
std::string openssl_error();

}  // namespace sshcert
