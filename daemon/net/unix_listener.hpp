// SPDX-License-Identifier: Apache-2.0
// Listening Unix sockets that only their owner may use: bound with umask
// 077 inside a 0700 directory, a live daemon on the path is never replaced,
// and every accepted peer's uid is checked with SO_PEERCRED.
#pragma once

#include <sys/socket.h>

#include <stdexcept>
#include <string>

#include "asio.hpp"

namespace sshcert {

/// Startup failures; caught once in main, logged, exit 1.
struct StartupError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Binds `path` for listening; a stale socket file is replaced, a live one is an error.
stream_protocol::acceptor bind_private_socket(asio::io_context& io, const std::string& path);
/// Serves a listening socket that systemd bound (and will unlink); warns when it is
/// not at `expected_path`, where clients look for it.
stream_protocol::acceptor adopt_listener(asio::io_context& io, int fd, const std::string& expected_path);

/// SO_PEERCRED as an Asio GettableSocketOption.
struct PeerCred {
    template <class P> int level(const P&) const { return SOL_SOCKET; }
    template <class P> int name(const P&) const { return SO_PEERCRED; }
    template <class P> void* data(const P&) { return &value; }
    template <class P> std::size_t size(const P&) const { return sizeof value; }
    template <class P> void resize(const P&, std::size_t n) {
        if (n != sizeof value) throw std::length_error("SO_PEERCRED");
    }
    ucred value{};
};

/// True when the peer runs as our uid or as root (root can read our memory anyway, as in ssh-agent).
bool peer_allowed(stream_protocol::socket& socket, ucred& cred);

}  // namespace sshcert
