// SPDX-License-Identifier: Apache-2.0
#include "agent_identities.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "limits.hpp"

namespace sshcert::client {

namespace {

/// An agent answers a listing at once; one that does not is stuck.
constexpr int kReplyTimeoutMs = 5000;

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool read_exact(int fd, std::uint8_t* buf, std::size_t len) {
    for (std::size_t off = 0; off < len;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, kReplyTimeoutMs) <= 0) return false;
        ssize_t n = ::recv(fd, buf + off, len - off, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

Result<std::vector<agent::Identity>> list_agent_identities(const std::string& socket_path) {
    sockaddr_un addr{};
    if (socket_path.size() >= sizeof addr.sun_path) return Error{Errc::InvalidArgument, "agent socket path too long: " + socket_path};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return Error{Errc::DaemonUnavailable, "no agent answers at " + socket_path + ": " + std::strerror(errno)};
    wire::Bytes request = agent::encode_request_identities();
    if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        return Error{Errc::DaemonUnavailable, "the agent at " + socket_path + " closed the connection"};
    std::uint8_t head[4];
    if (!read_exact(s.fd, head, sizeof head)) return Error{Errc::DaemonUnavailable, "the agent at " + socket_path + " did not answer"};
    std::uint32_t len = wire::load_be32(head);
    if (len == 0 || len > limits::kMaxAgentMessageBytes)
        return Error{Errc::InvalidMessage, "the agent at " + socket_path + " sent a reply of " + std::to_string(len) + " bytes"};
    wire::Bytes body(len);
    if (!read_exact(s.fd, body.data(), body.size()))
        return Error{Errc::DaemonUnavailable, "the agent at " + socket_path + " did not finish its answer"};
    return agent::decode_identities(body);
}

}  // namespace sshcert::client
