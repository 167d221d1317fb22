// SPDX-License-Identifier: Apache-2.0
// A Unix-socket server for length-prefixed protocols (agent and control).
//
//   accept -> peer uid check -> read (4 KiB at a time) -> frame complete?
//        ^                                               | yes
//        +---- write reply <---- handler (may reply later)
//
// One message is handled at a time per connection, and nothing more is read
// until its reply is written: a client that does not read its replies stops
// being read from, so it cannot make the daemon buffer without bound. The
// length prefix is checked before the body is buffered.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "asio.hpp"
#include "ssh_wire.hpp"

namespace sshcert {

struct FramedProtocol {
    std::string name;  ///< for log lines: "agent" or "control"
    std::size_t max_body = 0;
    std::chrono::steady_clock::duration idle_timeout{};
    using Reply = std::function<void(wire::Bytes frame)>;
    /// Handles one message body from connection `id` (unique in the process); calls `reply`
    /// exactly once, now or later, with a complete frame.
    std::function<void(std::uint64_t id, wire::ByteView body, Reply reply)> on_message;
    /// Optional: connection `id` is gone.
    std::function<void(std::uint64_t id)> on_close;
    /// The reply to a zero-length frame (the connection stays open).
    std::function<wire::Bytes()> empty_frame_reply;
    /// Optional last words before an oversized frame closes the connection.
    std::function<wire::Bytes(std::size_t length)> oversize_reply;
};

class FramedServer {
public:
    FramedServer(asio::io_context& io, stream_protocol::acceptor acceptor, FramedProtocol protocol);
    FramedServer(const FramedServer&) = delete;
    FramedServer& operator=(const FramedServer&) = delete;
    ~FramedServer();

    void start();
    /// Closes the listener and every connection.
    void stop();
    /// Connections accepted since start.
    std::uint64_t connections_accepted() const noexcept { return accepted_; }

    class Connection;

private:
    void do_accept();

    stream_protocol::acceptor acceptor_;
    FramedProtocol protocol_;
    std::set<std::shared_ptr<Connection>> connections_;
    std::uint64_t accepted_ = 0;
};

/// Marks a descriptor close-on-exec (Asio does not for accepted sockets).
void set_cloexec(int fd);

}  // namespace sshcert
