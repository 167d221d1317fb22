// SPDX-License-Identifier: Apache-2.0
// Makes keys for new certificates. Ed25519 and ECDSA take microseconds and
// are made on the loop; RSA takes up to seconds and is made on a worker, so
// no agent client waits behind it.
#pragma once

#include <functional>
#include <memory>

#include "asio.hpp"
#include "config.hpp"
#include "ssh_key.hpp"

namespace sshcert {

class KeyMaker {
public:
    using Done = std::function<void(Result<std::shared_ptr<const SshKey>>)>;
    KeyMaker(asio::io_context& io, asio::thread_pool& workers) : io_(io), workers_(workers) {}
    /// `done` runs on the loop, never inside make().
    void make(config::KeyType type, Done done);

private:
    asio::io_context& io_;
    asio::thread_pool& workers_;
};

}  // namespace sshcert
