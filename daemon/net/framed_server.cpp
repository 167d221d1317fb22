// SPDX-License-Identifier: Apache-2.0
#include "framed_server.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>

#include "framing.hpp"
#include "limits.hpp"
#include "log.hpp"
#include "unix_listener.hpp"

namespace sshcert {

namespace {
std::uint64_t next_connection_id() {
    static std::uint64_t counter = 0;  // event-loop thread only
    return ++counter;
}
}  // namespace

void set_cloexec(int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

class FramedServer::Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(stream_protocol::socket socket, const FramedProtocol& protocol,
               std::set<std::shared_ptr<Connection>>& owner, std::uint64_t id)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), protocol_(protocol), owner_(owner), id_(id) {}

    void start() { do_read(); }

    void stop() {
        if (socket_.is_open() && protocol_.on_close) protocol_.on_close(id_);
        boost::system::error_code ignored;
        socket_.close(ignored);
        timer_.cancel();
        OPENSSL_cleanse(buffer_.data(), buffer_.size());  // control frames carry passwords
        buffer_.clear();
    }

private:
    void arm_timer() {
        timer_.expires_after(protocol_.idle_timeout);
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;  // re-armed or stopped
            log::debug(self->protocol_.name, " connection ", self->id_, " idle, closing");
            self->close();
        });
    }

    void close() {
        stop();
        owner_.erase(shared_from_this());
    }

    /// The idle deadline runs only while we wait for the client, never while a request is being handled.
    void do_read() {
        arm_timer();
        std::size_t old = buffer_.size();
        buffer_.resize(old + limits::kReadChunkBytes);
        socket_.async_read_some(asio::buffer(buffer_.data() + old, limits::kReadChunkBytes),
                                [self = shared_from_this(), old](boost::system::error_code ec, std::size_t n) {
                                    self->buffer_.resize(old + n);
                                    if (ec) {
                                        if (ec != asio::error::operation_aborted) self->close();
                                        return;
                                    }
                                    self->process();
                                });
    }

    /// Handles the next buffered frame, or reads more when none is complete.
    void process() {
        FrameCheck f = check_frame(buffer_, protocol_.max_body);
        switch (f.kind) {
            case FrameCheck::Kind::NeedMore:
                return do_read();
            case FrameCheck::Kind::Empty:
                consume(4);
                return do_write(protocol_.empty_frame_reply());
            case FrameCheck::Kind::TooLarge:
                log::warn(protocol_.name, " connection ", id_, ": frame of ", f.body_size, " bytes exceeds the ",
                          protocol_.max_body, "-byte limit; closing it");
                if (protocol_.oversize_reply) return do_write(protocol_.oversize_reply(f.body_size), /*then_close=*/true);
                return close();
            case FrameCheck::Kind::Complete: {
                timer_.cancel();
                wire::Bytes body(buffer_.begin() + 4, buffer_.begin() + 4 + static_cast<std::ptrdiff_t>(f.body_size));
                consume(4 + f.body_size);
                protocol_.on_message(id_, body,
                                     [self = shared_from_this()](wire::Bytes reply) { self->do_write(std::move(reply)); });
                OPENSSL_cleanse(body.data(), body.size());
                return;
            }
        }
    }

    void consume(std::size_t n) {
        OPENSSL_cleanse(buffer_.data(), n);
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    }

    void do_write(wire::Bytes reply, bool then_close = false) {
        if (!socket_.is_open()) return;
        arm_timer();  // a client that never reads its replies is dropped, not waited on forever
        auto data = std::make_shared<wire::Bytes>(std::move(reply));
        asio::async_write(socket_, asio::buffer(*data),
                          [self = shared_from_this(), data, then_close](boost::system::error_code ec, std::size_t) {
                              if (ec || then_close) return self->close();
                              self->process();
                          });
    }

    stream_protocol::socket socket_;
    asio::steady_timer timer_;
    const FramedProtocol& protocol_;
    std::set<std::shared_ptr<Connection>>& owner_;
    std::uint64_t id_;
    wire::Bytes buffer_;
};

FramedServer::FramedServer(asio::io_context&, stream_protocol::acceptor acceptor, FramedProtocol protocol)
    : acceptor_(std::move(acceptor)), protocol_(std::move(protocol)) {
    set_cloexec(acceptor_.native_handle());
}

FramedServer::~FramedServer() { stop(); }

void FramedServer::start() { do_accept(); }

void FramedServer::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    auto conns = std::move(connections_);
    for (const auto& c : conns) c->stop();
}

void FramedServer::do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
            set_cloexec(socket.native_handle());
            ucred cred{};
            if (!peer_allowed(socket, cred)) {
                log::warn(protocol_.name, ": refused a connection from uid ", cred.uid, " pid ", cred.pid);
            } else if (connections_.size() >= limits::kMaxConnections) {
                log::warn(protocol_.name, ": ", connections_.size(), " connections open, refusing another");
            } else {
                ++accepted_;
                auto c = std::make_shared<Connection>(std::move(socket), protocol_, connections_, next_connection_id());
                connections_.insert(c);
                c->start();
            }
        } else {
            log::warn(protocol_.name, ": accept failed: ", ec.message());
        }
        do_accept();
    });
}

}  // namespace sshcert
