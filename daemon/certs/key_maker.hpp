// SPDX-License-Identifier: Apache-2.0
// Makes keys for new certificates, one ahead of need: each key type in use has
// a spare, handed out at once and replaced in the background, so no
// connection waits for key generation. Ed25519 and ECDSA take microseconds and
// are made on the loop; RSA takes up to seconds and is made on a worker, and
// its spare is made at start and reload, before the first connection.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "asio.hpp"
#include "config.hpp"
#include "ssh_key.hpp"

namespace sshcert {

class KeyMaker {
public:
    using Done = std::function<void(Result<std::shared_ptr<const SshKey>>)>;
    KeyMaker(asio::io_context& io, asio::thread_pool& workers) : io_(io), workers_(workers) {}
    /// A fresh key, never handed out before: the spare when there is one (then the next spare
    /// is made), else a new one. `done` runs on the loop, never inside make().
    void make(config::KeyType type, Done done);
    /// Makes the spare of every RSA key type these profiles use, unless it exists or is being made.
    void prepare(const std::vector<config::Profile>& profiles);
    /// Spares held now (they live in OpenSSL's secure heap, as every private key).
    std::size_t spares() const noexcept { return spares_.size(); }

private:
    void generate(config::KeyType type, Done done);
    void keep_spare(config::KeyType type);

    asio::io_context& io_;
    asio::thread_pool& workers_;
    std::map<config::KeyType, std::shared_ptr<const SshKey>> spares_;
    std::set<config::KeyType> making_;  ///< a spare of this type is being made
};

}  // namespace sshcert
