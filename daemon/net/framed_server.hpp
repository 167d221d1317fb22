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
//
// Deadlines are per message, not per byte: `idle_timeout` runs between
// messages; once a frame's first byte arrives the whole frame, and later the
// client's taking of the reply, must each happen within `message_deadline`.
// At `max_connections` the connection that has waited longest for a request
// is closed to make room; connections being served are never closed for that.
// When accept fails for want of descriptors or memory, accepting pauses (one
// log line) and resumes after a backoff or as soon as a connection closes.
//
// Connections hold the protocol by shared_ptr and the server's registry by
// weak_ptr, so a completion that runs after the server was stopped or
// destroyed touches neither.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "asio.hpp"
#include "limits.hpp"
#include "ssh_wire.hpp"

namespace sshcert {

struct FramedProtocol {
    std::string name;  ///< for log lines: "agent" or "control"
    std::size_t max_body = 0;
    /// How long a connection may sit between messages (after accept, or after a reply was taken).
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
    /// From a frame's first byte to its last, and for the client to take a reply.
    std::chrono::steady_clock::duration message_deadline = limits::kMessageDeadline;
    /// Live connections on this socket at most.
    std::size_t max_connections = limits::kMaxConnections;
};

class FramedServer {
public:
    FramedServer(asio::io_context& io, stream_protocol::acceptor acceptor, FramedProtocol protocol);
    FramedServer(const FramedServer&) = delete;
    FramedServer& operator=(const FramedServer&) = delete;
    ~FramedServer();

    void start();
    /// Closes the listener and every connection (each gets on_close); nothing of the
    /// protocol is called after this returns.
    void stop();
    /// Connections accepted since start.
    std::uint64_t connections_accepted() const noexcept;

    class Connection;

private:
    struct Registry;
    std::shared_ptr<Registry> registry_;
};

/// Marks a descriptor close-on-exec (Asio does not for accepted sockets).
void set_cloexec(int fd);

}  // namespace sshcert
