// SPDX-License-Identifier: Apache-2.0
#include "control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "framing.hpp"
#include "limits.hpp"
#include "paths.hpp"
#include "prompt.hpp"

namespace sshcert::client {

namespace {

/// Closes the descriptor when it goes out of scope.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool write_all(int fd, const wire::Bytes& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

bool read_exact(int fd, std::uint8_t* buf, std::size_t len) {
    std::size_t off = 0;
    while (off < len) {
        ssize_t n = ::recv(fd, buf + off, len - off, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

void wipe_strings(control::Json& j) {
    if (j.is_string()) {
        auto& s = j.get_ref<std::string&>();
        wipe(s.data(), s.size());
    } else if (j.is_structured()) {
        for (auto& item : j) wipe_strings(item);
    }
}

/// A login waits for Vault (its timeout and retries); anything longer means the daemon is stuck.
constexpr int kReplyTimeoutSeconds = 120;

}  // namespace

std::string daemon_start_command(const config::Getenv& getenv, bool systemd_booted) {
    if (systemd_booted && !config::find_user_unit(getenv, "sshcertd.socket").empty())
        return "systemctl --user start sshcertd.socket sshcertd-control.socket";
    return "sshcertd &";
}

bool systemd_booted() { return ::access("/run/systemd/system/", F_OK) == 0; }

std::string daemon_not_running_message(const std::string& socket_path, const std::string& detail, const std::string& start_command) {
    std::string msg = "sshcertd is not running (" + detail + " at " + socket_path + "). Start it with `" + start_command + "`";
    if (start_command.starts_with("systemctl")) msg += ", or run `sshcert setup` once to have it start at every login";
    return msg;
}

Result<control::Json> ControlClient::call(const control::Json& request) const {
    return call(request, std::chrono::seconds(0), nullptr);
}

Result<control::Json> ControlClient::call(const control::Json& request, std::chrono::seconds patience,
                                          const std::function<void()>& waiting) const {
    std::string path = config::control_socket_path(runtime_dir_);
    if (auto st = config::check_private_dir(runtime_dir_); !st) {
        if (st.error().code == Errc::NotFound) return Error{Errc::DaemonUnavailable, daemon_not_running_message(path, "no socket directory", start_command_)};
        return Error{Errc::InvalidArgument, "refusing to talk to the daemon: " + st.error().message};
    }
    Fd sock{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return Error{Errc::Internal, std::string("socket: ") + std::strerror(errno)};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return Error{Errc::InvalidArgument, "socket path too long: " + path};
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return Error{Errc::DaemonUnavailable, daemon_not_running_message(path, std::strerror(errno), start_command_)};
    timeval tv{kReplyTimeoutSeconds, 0};
    ::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    wire::Bytes frame;
    if (config_path_ && !request.contains("config")) {
        control::Json with_config = request;
        with_config["config"] = *config_path_;
        frame = control::encode(with_config);
        wipe_strings(with_config);  // the copy holds the request's secrets too
    } else {
        frame = control::encode(request);
    }
    bool sent = write_all(sock.fd, frame);
    wipe(frame.data(), frame.size());  // login requests carry secrets
    if (!sent) return Error{Errc::DaemonUnavailable, "sshcertd closed the connection before the request was sent"};

    if (waiting) {
        // Until the reply starts, tick once a second so the caller can show that it waits.
        auto until = std::chrono::steady_clock::now() + patience;
        pollfd pfd{sock.fd, POLLIN, 0};
        while (std::chrono::steady_clock::now() < until) {
            int n = ::poll(&pfd, 1, 1000);
            if (n > 0 || (n < 0 && errno != EINTR)) break;
            waiting();
        }
    }
    std::uint8_t header[4];
    if (!read_exact(sock.fd, header, 4))
        return Error{Errc::DaemonUnavailable, "sshcertd did not answer (it may have stopped; see its log: journalctl --user -u sshcertd)"};
    std::size_t len = wire::load_be32(header);
    if (len == 0 || len > limits::kMaxControlReplyBytes)
        return Error{Errc::InvalidMessage, "sshcertd sent a reply of invalid length " + std::to_string(len)};
    wire::Bytes body(len);
    if (!read_exact(sock.fd, body.data(), len)) return Error{Errc::DaemonUnavailable, "sshcertd's reply was cut short"};
    auto reply = control::decode(body);
    if (!reply) return reply.error();
    return control::reply_result(*reply);
}

}  // namespace sshcert::client
