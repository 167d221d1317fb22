// SPDX-License-Identifier: Apache-2.0
// FramedServer in-process: a real listening socket in a temporary directory,
// clients on plain non-blocking sockets, and the event loop run in small steps
// on this thread until what a test waits for has happened.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framed_server.hpp"
#include "framing.hpp"
#include "limits.hpp"
#include "unix_listener.hpp"

using namespace sshcert;
using namespace std::chrono_literals;

namespace {

/// A temporary directory holding the server's socket, removed at the end.
struct SocketDir {
    SocketDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "framed-test-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~SocketDir() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    std::string socket() const { return dir + "/s.sock"; }
    std::string dir;
};

/// A client socket; reads never block.
struct Client {
    explicit Client(const std::string& path) {
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path.copy(addr.sun_path, sizeof addr.sun_path - 1);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~Client() { ::close(fd); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void send(const wire::Bytes& b) const { REQUIRE(::send(fd, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size())); }
    /// Reads what has arrived; false once the server closed the connection.
    bool poll() {
        std::uint8_t buf[65536];
        for (;;) {
            ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                received.insert(received.end(), buf, buf + n);
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
            return !closed;
        }
    }
    int fd = -1;
    wire::Bytes received;
    bool closed = false;
};

/// Runs the loop in small steps until `done` or the (generous) timeout.
bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        io.restart();
        io.run_for(5ms);
    }
    return true;
}

void run_for(asio::io_context& io, std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
}

const wire::Bytes kRequest = encode_frame(wire::Bytes{0x0b});

/// A protocol that answers every message with `reply_size` bytes, or holds the replies in `held`.
struct TestProtocol {
    FramedProtocol make() {
        return FramedProtocol{
            .name = "test",
            .max_body = 1024,
            .idle_timeout = 60s,
            .on_message =
                [this](std::uint64_t, wire::ByteView, FramedProtocol::Reply reply) {
                    ++messages;
                    if (hold) return held.push_back(std::move(reply));
                    reply(encode_frame(wire::Bytes(reply_size, 0x5a)));
                },
            .on_close = [this](std::uint64_t) { ++closes; },
            .empty_frame_reply = [] { return encode_frame(wire::Bytes{5}); },
            .oversize_reply = nullptr,
        };
    }
    std::size_t reply_size = 1;
    bool hold = false;
    std::vector<FramedProtocol::Reply> held;
    int messages = 0;
    int closes = 0;
};

}  // namespace

TEST_CASE("framed server: destroying it under a pending reply write touches nothing of it") {
    // As a reload that removes a profile does to agent-<profile>.sock while a client floods it without reading.
    SocketDir dir;
    asio::io_context io;
    TestProtocol t;
    t.reply_size = 4 * 1024 * 1024;  // far more than a socket buffer: the write stays pending
    auto server = std::make_unique<FramedServer>(io, bind_private_socket(io, dir.socket()), t.make());
    server->start();
    Client flooder(dir.socket());
    Client idle(dir.socket());
    flooder.send(kRequest);
    REQUIRE(run_until(io, [&] { return t.messages == 1 && server->connections_accepted() == 2; }));
    run_for(io, 50ms);  // the reply's write fills the socket buffer and waits

    server.reset();
    CHECK(t.closes == 2);
    run_for(io, 200ms);  // the aborted write, read and timer completions run now
    CHECK(t.closes == 2);
    CHECK(t.messages == 1);
    CHECK(io.poll() == 0);  // nothing left behind
}

TEST_CASE("framed server: at the connection cap the longest-idle connection makes room, never one being served") {
    SocketDir dir;
    asio::io_context io;
    TestProtocol t;
    FramedServer server(io, bind_private_socket(io, dir.socket()), t.make());
    server.start();
    std::vector<std::unique_ptr<Client>> holders;
    for (std::size_t i = 0; i < limits::kMaxConnections; ++i) {
        holders.push_back(std::make_unique<Client>(dir.socket()));
        if (i == 0) REQUIRE(run_until(io, [&] { return server.connections_accepted() == 1; }));  // the oldest
    }
    REQUIRE(run_until(io, [&] { return server.connections_accepted() == limits::kMaxConnections; }));

    Client newcomer(dir.socket());
    newcomer.send(kRequest);
    CHECK(run_until(io, [&] { return !newcomer.poll() || newcomer.received.size() == 5; }));
    CHECK(newcomer.received == encode_frame(wire::Bytes{0x5a}));
    CHECK(run_until(io, [&] { return !holders[0]->poll(); }, 2s));  // the one that waited longest
    for (std::size_t i = 1; i < holders.size(); ++i) CHECK(holders[i]->poll());

    SUBCASE("connections whose requests are being handled are not closed to make room") {
        t.hold = true;
        holders.erase(holders.begin());  // the newcomer took its place: the cap is full again
        newcomer.send(kRequest);
        for (auto& h : holders) h->send(kRequest);
        REQUIRE(run_until(io, [&] { return t.held.size() == limits::kMaxConnections; }));
        Client refused(dir.socket());
        CHECK(run_until(io, [&] { return !refused.poll(); }));
        CHECK(refused.received.empty());
        for (auto& reply : t.held) reply(encode_frame(wire::Bytes{1}));
        CHECK(run_until(io, [&] {
            for (auto& h : holders) h->poll();
            return std::all_of(holders.begin(), holders.end(), [](const auto& h) { return h->received.size() == 5; });
        }));
        CHECK(newcomer.poll());
        CHECK(newcomer.received.size() == 10);
    }
}

TEST_CASE("framed server: deadlines are per message, not per byte") {
    SocketDir dir;
    asio::io_context io;
    TestProtocol t;
    auto protocol = t.make();
    protocol.idle_timeout = 400ms;
    protocol.message_deadline = 300ms;
    FramedServer server(io, bind_private_socket(io, dir.socket()), std::move(protocol));
    server.start();

    SUBCASE("one byte at a time does not keep a frame alive past the message deadline") {
        Client slow(dir.socket());
        wire::Bytes frame = encode_frame(wire::Bytes(16, 0x0b));
        std::size_t sent = 0;
        while (sent < frame.size() && slow.poll()) {
            slow.send(wire::Bytes{frame[sent++]});
            run_for(io, 100ms);
        }
        CHECK_MESSAGE(slow.closed, "a frame trickling in over 2 s outlived the 300 ms message deadline");
        CHECK(sent < frame.size());
        CHECK(t.messages == 0);
    }
    SUBCASE("whole messages keep a connection open past the idle timeout, silence does not") {
        Client busy(dir.socket());
        Client quiet(dir.socket());
        auto start = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - start < 1200ms) {
            busy.send(kRequest);
            run_for(io, 100ms);
            REQUIRE(busy.poll());
        }
        CHECK(run_until(io, [&] { return busy.poll() && busy.received.size() == static_cast<std::size_t>(t.messages) * 5; }));
        CHECK_FALSE(quiet.poll());
    }
    SUBCASE("a client that does not take its reply is closed at the message deadline") {
        t.reply_size = 4 * 1024 * 1024;
        Client hog(dir.socket());
        hog.send(kRequest);
        CHECK(run_until(io, [&] { return t.messages == 1; }));
        CHECK(run_until(io, [&] { return t.closes == 1; }, 5s));  // never read: its reply is stuck in the socket
    }
}
