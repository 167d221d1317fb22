// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "systemd.hpp"

using namespace sshcert;

namespace {

/// An AF_UNIX socket of `type`, autobound to an abstract address, listening when asked.
int unix_socket(int type, bool listening) {
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(sa_family_t)) == 0);
    if (listening) REQUIRE(::listen(fd, 1) == 0);
    return fd;
}

int tcp_listener() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    return fd;
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

}  // namespace

TEST_CASE("systemd sockets: adopted by name when they are listening Unix stream sockets; the rest are closed") {
    int agent = unix_socket(SOCK_STREAM, true);
    int not_listening = unix_socket(SOCK_STREAM, false);
    int datagram = unix_socket(SOCK_DGRAM, false);
    int tcp = tcp_listener();
    int unknown_name = unix_socket(SOCK_STREAM, true);
    int second_agent = unix_socket(SOCK_STREAM, true);
    int control = unix_socket(SOCK_STREAM, true);

    auto adopted = systemd::adopt_listeners({{agent, "agent"},
                                             {not_listening, "control"},
                                             {datagram, "control"},
                                             {tcp, "control"},
                                             {unknown_name, "sshcertd.socket"},
                                             {second_agent, "agent"},
                                             {control, "control"}},
                                            {"agent", "control"});

    CHECK(adopted == std::map<std::string, int>{{"agent", agent}, {"control", control}});
    CHECK(is_open(agent));
    CHECK(is_open(control));
    for (int fd : {not_listening, datagram, tcp, unknown_name, second_agent}) CHECK_FALSE(is_open(fd));
    ::close(agent);
    ::close(control);
}

TEST_CASE("systemd sockets: descriptors meant for another process are not taken, and LISTEN_* are unset either way") {
    ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
    ::setenv("LISTEN_FDS", "2", 1);
    ::setenv("LISTEN_FDNAMES", "agent:control", 1);
    CHECK(systemd::take_passed_fds().empty());
    CHECK(std::getenv("LISTEN_PID") == nullptr);
    CHECK(std::getenv("LISTEN_FDS") == nullptr);
    CHECK(std::getenv("LISTEN_FDNAMES") == nullptr);
}
