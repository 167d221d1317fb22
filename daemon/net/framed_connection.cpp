// SPDX-License-Identifier: Apache-2.0
#include "framed_connection.hpp"

#include <openssl/crypto.h>

#include <string>

#include "framing.hpp"
#include "log.hpp"

namespace sshcert {

namespace {
/// "10 s", or "300 ms" below a second.
std::string span(std::chrono::steady_clock::duration d) {
    using namespace std::chrono;
    if (d < seconds(1)) return std::to_string(duration_cast<milliseconds>(d).count()) + " ms";
    return std::to_string(duration_cast<seconds>(d).count()) + " s";
}
}  // namespace

FramedServer::Connection::Connection(stream_protocol::socket socket, std::shared_ptr<const FramedProtocol> protocol,
                                     std::weak_ptr<ConnectionOwner> owner, std::uint64_t id)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), protocol_(std::move(protocol)), owner_(std::move(owner)), id_(id) {}

void FramedServer::Connection::start() {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);  // for do_write's direct write; asio's own operations do not mind
    waiting_since_ = Clock::now();
    arm_deadline(protocol_->idle_timeout);
    do_read();
}

void FramedServer::Connection::stop() {
    if (socket_.is_open() && protocol_->on_close) protocol_->on_close(id_);
    boost::system::error_code ignored;
    socket_.close(ignored);
    disarm_deadline();
    ++timer_generation_;
    timer_.cancel();  // its wait holds this connection
    OPENSSL_cleanse(buffer_.data(), buffer_.size());  // control frames carry passwords
    buffer_.clear();
}

void FramedServer::Connection::close() {
    auto self = shared_from_this();  // the owner's registry may hold the last other reference
    stop();
    if (auto owner = owner_.lock()) owner->connection_closed(id_);
}

// The timer is moved only when a deadline comes sooner than it is set for; a later one is
// found when it fires. Each message moves the deadline four times, and re-setting the timer
// every time cost three timerfd_settime calls per agent signature.
void FramedServer::Connection::arm_deadline(Clock::duration d) {
    deadline_ = Clock::now() + d;
    if (timer_pending_ && timer_.expiry() <= deadline_) return;
    set_timer();
}

void FramedServer::Connection::disarm_deadline() { deadline_ = Clock::time_point::max(); }

void FramedServer::Connection::set_timer() {
    timer_.expires_at(deadline_);
    timer_pending_ = true;
    timer_.async_wait([self = shared_from_this(), generation = ++timer_generation_](boost::system::error_code ec) {
        if (ec || generation != self->timer_generation_ || !self->socket_.is_open()) return;  // re-set or stopped
        self->timer_pending_ = false;
        if (self->deadline_ == Clock::time_point::max()) return;  // set again when a deadline is
        if (Clock::now() < self->deadline_) return self->set_timer();
        self->deadline_passed();
    });
}

void FramedServer::Connection::deadline_passed() {
    const auto& p = *protocol_;
    switch (phase_) {
        case Phase::Idle:
            log::debug(p.name, " connection ", id_, " idle for ", span(p.idle_timeout), ", closing");
            break;
        case Phase::Receiving:
            log::info(p.name, " connection ", id_, ": a message did not arrive whole within ", span(p.message_deadline),
                      " of its first byte; closing it");
            break;
        case Phase::Replying:
            log::info(p.name, " connection ", id_, ": the client did not take its reply within ",
                      span(p.message_deadline), "; closing it");
            break;
        case Phase::Serving: return;  // no deadline while we work
    }
    close();
}

void FramedServer::Connection::do_read() {
    std::size_t old = buffer_.size();
    buffer_.resize(old + limits::kReadChunkBytes);
    socket_.async_read_some(asio::buffer(buffer_.data() + old, limits::kReadChunkBytes),
                            [self = shared_from_this(), old](boost::system::error_code ec, std::size_t n) {
                                if (!self->socket_.is_open()) return;  // stopped while this completion was queued
                                self->buffer_.resize(old + n);
                                if (ec) return self->close();
                                if (self->phase_ == Phase::Idle && !self->buffer_.empty()) {
                                    // The frame's clock starts at its first byte and is not reset by later ones.
                                    self->phase_ = Phase::Receiving;
                                    self->arm_deadline(self->protocol_->message_deadline);
                                }
                                self->process();
                            });
}

/// Handles the next buffered frame, or reads more when none is complete.
void FramedServer::Connection::process() {
    const auto& p = *protocol_;
    FrameCheck f = check_frame(buffer_, p.max_body);
    switch (f.kind) {
        case FrameCheck::Kind::NeedMore:
            return do_read();
        case FrameCheck::Kind::Empty:
            consume(4);
            return do_write(p.empty_frame_reply());
        case FrameCheck::Kind::TooLarge:
            log::warn(p.name, " connection ", id_, ": frame of ", f.body_size, " bytes exceeds the ", p.max_body,
                      "-byte limit; closing it");
            if (p.oversize_reply) return do_write(p.oversize_reply(f.body_size), /*then_close=*/true);
            return close();
        case FrameCheck::Kind::Complete: {
            phase_ = Phase::Serving;
            disarm_deadline();
            wire::Bytes body(buffer_.begin() + 4, buffer_.begin() + 4 + static_cast<std::ptrdiff_t>(f.body_size));
            consume(4 + f.body_size);
            p.on_message(id_, body, [self = shared_from_this()](wire::Bytes reply) { self->do_write(std::move(reply)); });
            OPENSSL_cleanse(body.data(), body.size());
            return;
        }
    }
}

void FramedServer::Connection::consume(std::size_t n) {
    OPENSSL_cleanse(buffer_.data(), n);
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
}

void FramedServer::Connection::do_write(wire::Bytes reply, bool then_close) {
    if (!socket_.is_open()) return;
    phase_ = Phase::Replying;
    // A reply fits the socket's buffer nearly always: written at once, it skips a trip through
    // the event loop (an epoll_wait per agent signature). The rest, if any, goes asynchronously.
    boost::system::error_code ec;
    std::size_t written = socket_.write_some(asio::buffer(reply), ec);  // non-blocking since start()
    if (ec && ec != asio::error::would_block) return close();
    if (written == reply.size()) {
        if (then_close) return close();
        // With more frames buffered, the next is served from the loop, not from deeper in this stack.
        if (buffer_.empty()) return await_next();
        return asio::post(socket_.get_executor(), [self = shared_from_this()] {
            if (self->socket_.is_open()) self->await_next();
        });
    }
    arm_deadline(protocol_->message_deadline);  // a client that never reads its replies is dropped, not waited on
    auto data = std::make_shared<wire::Bytes>(reply.begin() + static_cast<std::ptrdiff_t>(written), reply.end());
    asio::async_write(socket_, asio::buffer(*data),
                      [self = shared_from_this(), data, then_close](boost::system::error_code ec, std::size_t) {
                          if (!self->socket_.is_open()) return;
                          if (ec || then_close) return self->close();
                          self->await_next();
                      });
}

void FramedServer::Connection::await_next() {
    waiting_since_ = Clock::now();
    if (buffer_.empty()) {
        phase_ = Phase::Idle;
        arm_deadline(protocol_->idle_timeout);
    } else {
        // The next frame's first bytes came while we were busy; its clock starts now.
        phase_ = Phase::Receiving;
        arm_deadline(protocol_->message_deadline);
    }
    process();
}

}  // namespace sshcert
