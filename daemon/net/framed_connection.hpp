// SPDX-License-Identifier: Apache-2.0
// One connection of a FramedServer (internal to framed_server.cpp and
// framed_connection.cpp). Its life is a cycle of phases, each with its own
// deadline:
//
//   Idle --first byte--> Receiving --whole frame--> Serving --reply--> Replying --taken--> Idle
//   idle_timeout         message_deadline           (none)             message_deadline
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "framed_server.hpp"

namespace sshcert {

/// What a connection needs of its server: to leave its registry when it closes.
/// Held by weak_ptr, so a server that is gone is never touched.
struct ConnectionOwner {
    virtual ~ConnectionOwner() = default;
    virtual void connection_closed(std::uint64_t id) = 0;
};

class FramedServer::Connection : public std::enable_shared_from_this<Connection> {
public:
    using Clock = std::chrono::steady_clock;

    Connection(stream_protocol::socket socket, std::shared_ptr<const FramedProtocol> protocol,
               std::weak_ptr<ConnectionOwner> owner, std::uint64_t id);

    void start();
    /// Closes the socket (on_close once) without telling the owner: for the owner itself.
    void stop();
    /// Closes and leaves the owner's registry.
    void close();

    std::uint64_t id() const noexcept { return id_; }
    /// True while we wait for the client's next request (Idle or Receiving), not while serving one.
    bool waiting_for_request() const noexcept { return phase_ == Phase::Idle || phase_ == Phase::Receiving; }
    /// Since when the connection has been waiting for its next request.
    Clock::time_point waiting_since() const noexcept { return waiting_since_; }

private:
    enum class Phase { Idle, Receiving, Serving, Replying };

    void arm_deadline(Clock::duration d);
    void disarm_deadline();
    void set_timer();  ///< to deadline_
    void deadline_passed();
    void do_read();
    void process();
    void consume(std::size_t n);
    void do_write(wire::Bytes reply, bool then_close = false);
    /// After a reply was taken: Idle again, or Receiving when the next frame has begun.
    void await_next();

    stream_protocol::socket socket_;
    asio::steady_timer timer_;
    std::uint64_t timer_generation_ = 0;  ///< a wait that expired just before a re-set must not act
    bool timer_pending_ = false;
    Clock::time_point deadline_ = Clock::time_point::max();  ///< of the current phase; max: none
    std::shared_ptr<const FramedProtocol> protocol_;
    std::weak_ptr<ConnectionOwner> owner_;
    std::uint64_t id_;
    Phase phase_ = Phase::Idle;
    Clock::time_point waiting_since_ = Clock::now();
    wire::Bytes buffer_;
};

}  // namespace sshcert
