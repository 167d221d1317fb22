// SPDX-License-Identifier: Apache-2.0
#include "upstream_agent.hpp"

#include <array>
#include <memory>

#include "framed_server.hpp"
#include "limits.hpp"

namespace sshcert {

namespace {

/// Long enough for an upstream agent that asks the user to confirm (ssh-add -c).
constexpr std::chrono::seconds kUpstreamTimeout{30};

/// One request/reply exchange; owns its socket and keeps itself alive through its handlers.
struct Exchange : std::enable_shared_from_this<Exchange> {
    Exchange(asio::io_context& io, wire::Bytes f, std::function<void(Result<wire::Bytes>)> d)
        : socket(io), timer(io), frame(std::move(f)), done(std::move(d)) {}

    void start(const std::string& path) {
        timer.expires_after(kUpstreamTimeout);
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->finish(Error{Errc::Internal, "upstream agent did not answer in time"});
        });
        socket.async_connect(stream_protocol::endpoint(path), [self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return self->finish(Error{Errc::NotFound, "cannot reach upstream agent: " + ec.message()});
            set_cloexec(self->socket.native_handle());
            asio::async_write(self->socket, asio::buffer(self->frame),
                              [self](boost::system::error_code ec2, std::size_t) {
                                  if (ec2) return self->finish(Error{Errc::Internal, "upstream agent: " + ec2.message()});
                                  self->read_header();
                              });
        });
    }

    void read_header() {
        asio::async_read(socket, asio::buffer(header), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->finish(Error{Errc::Internal, "upstream agent closed the connection"});
            std::size_t len = wire::load_be32(self->header.data());
            if (len == 0 || len > limits::kMaxAgentMessageBytes)
                return self->finish(Error{Errc::MessageTooLarge, "upstream agent sent a reply of invalid length"});
            self->body.resize(len);
            asio::async_read(self->socket, asio::buffer(self->body), [self](boost::system::error_code ec2, std::size_t) {
                if (ec2) return self->finish(Error{Errc::Internal, "upstream agent reply cut short"});
                self->finish(std::move(self->body));
            });
        });
    }

    void finish(Result<wire::Bytes> result) {
        if (!done) return;
        auto d = std::move(done);
        done = nullptr;
        boost::system::error_code ignored;
        timer.cancel();
        socket.close(ignored);
        d(std::move(result));
    }

    stream_protocol::socket socket;
    asio::steady_timer timer;
    wire::Bytes frame;
    std::array<std::uint8_t, 4> header{};
    wire::Bytes body;
    std::function<void(Result<wire::Bytes>)> done;
};

}  // namespace

void UpstreamAgent::request(wire::Bytes frame, std::function<void(Result<wire::Bytes>)> done) {
    std::make_shared<Exchange>(io_, std::move(frame), std::move(done))->start(path_);
}

}  // namespace sshcert
