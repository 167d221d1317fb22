// SPDX-License-Identifier: Apache-2.0
#include "unix_listener.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.hpp"

namespace sshcert {

stream_protocol::acceptor bind_private_socket(asio::io_context& io, const std::string& path) {
    constexpr std::size_t kStagingSuffix = 4;  // ".new", below
    if (path.size() + kStagingSuffix >= sizeof(sockaddr_un::sun_path))
        throw StartupError("socket path " + path + " is longer than the " +
                           std::to_string(sizeof(sockaddr_un::sun_path) - 1 - kStagingSuffix) +
                           " bytes Unix sockets allow; use a shorter XDG_RUNTIME_DIR");
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) throw StartupError(path + " exists and is not a socket; remove it");
        // A connect that succeeds means a daemon is serving there: never steal its socket.
        stream_protocol::socket probe(io);
        boost::system::error_code ec;
        probe.connect(stream_protocol::endpoint(path), ec);
        if (!ec) throw StartupError("another sshcertd is already listening on " + path);
        ::unlink(path.c_str());
    }
    stream_protocol::acceptor acceptor(io);
    acceptor.open();
    // Bound under a temporary name and renamed once listening: a client that sees the socket
    // file can connect at once, never meeting "connection refused" between bind and listen.
    std::string staging = path + ".new";
    ::unlink(staging.c_str());
    mode_t old = ::umask(0177);  // bind creates the socket file 0600, as ssh-agent does
    boost::system::error_code ec;
    acceptor.bind(stream_protocol::endpoint(staging), ec);
    ::umask(old);
    if (ec) throw StartupError("cannot bind " + path + ": " + ec.message());
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec || ::rename(staging.c_str(), path.c_str()) != 0) {
        ::unlink(staging.c_str());
        throw StartupError("cannot listen on " + path + ": " + (ec ? ec.message() : std::strerror(errno)));
    }
    return acceptor;
}

stream_protocol::acceptor adopt_listener(asio::io_context& io, int fd, const std::string& expected_path) {
    stream_protocol::acceptor acceptor(io);
    boost::system::error_code ec;
    acceptor.assign(stream_protocol(), fd, ec);
    if (ec) throw StartupError("cannot use the socket systemd passed for " + expected_path + ": " + ec.message());
    log::info("serving ", expected_path, " on the socket systemd passed");
    auto bound = acceptor.local_endpoint(ec).path();
    if (!ec && bound != expected_path)
        log::warn("systemd passed a socket bound to '", bound, "', but clients look for ", expected_path,
                  "; check ListenStream= in the socket unit");
    return acceptor;
}

bool peer_allowed(stream_protocol::socket& socket, ucred& cred) {
    PeerCred opt;
    boost::system::error_code ec;
    socket.get_option(opt, ec);
    if (ec) return false;
    cred = opt.value;
    return cred.uid == ::getuid() || cred.uid == 0;
}

}  // namespace sshcert
