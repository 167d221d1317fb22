// SPDX-License-Identifier: Apache-2.0
#include "framed_server.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <string>

#include "framed_connection.hpp"
#include "log.hpp"
#include "unix_listener.hpp"

namespace sshcert {

namespace {
std::uint64_t next_connection_id() {
    static std::uint64_t counter = 0;  // event-loop thread only
    return ++counter;
}

/// Errors that say the process, not the client, is short of something: retrying at once only spins.
bool out_of_resources(const boost::system::error_code& ec) {
    if (ec.category() != boost::system::system_category()) return false;
    int e = ec.value();
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

/// A client that gave up before we accepted it; the next one is unaffected.
bool client_side(const boost::system::error_code& ec) {
    return ec == asio::error::connection_aborted || (ec.category() == boost::system::system_category() &&
                                                     (ec.value() == EPROTO || ec.value() == EPERM || ec.value() == EINTR));
}

long long ms(std::chrono::steady_clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
}  // namespace

void set_cloexec(int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/// The listener and its connections, shared with the pending accept and retry
/// completions (strongly) and with the connections (weakly).
struct FramedServer::Registry : ConnectionOwner, std::enable_shared_from_this<Registry> {
    using Clock = std::chrono::steady_clock;

    Registry(stream_protocol::acceptor a, FramedProtocol p)
        : acceptor(std::move(a)), retry_timer(acceptor.get_executor()),
          protocol(std::make_shared<const FramedProtocol>(std::move(p))) {}

    void accept();
    void accepted(boost::system::error_code ec, stream_protocol::socket socket);
    void admit(stream_protocol::socket socket);
    /// Makes room at the cap: closes the connection that has waited longest for a request.
    bool evict_longest_waiting();
    void pause(const boost::system::error_code& ec);
    void retry_later();
    void stop();
    void connection_closed(std::uint64_t id) override;

    stream_protocol::acceptor acceptor;
    asio::steady_timer retry_timer;
    std::shared_ptr<const FramedProtocol> protocol;
    std::map<std::uint64_t, std::shared_ptr<Connection>> connections;
    std::uint64_t accepted_count = 0;
    bool stopped = false;
    bool accept_pending = false;
    std::optional<Clock::time_point> paused_since;  ///< accepting paused for want of resources
    Clock::duration backoff{};
    bool pause_logged = false;                        ///< this pause was logged, so its end is too
    std::optional<Clock::time_point> last_pause_log;
    std::optional<Clock::time_point> last_cap_warning;
};

void FramedServer::Registry::accept() {
    if (stopped || accept_pending) return;
    accept_pending = true;
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, stream_protocol::socket socket) {
        self->accept_pending = false;
        self->accepted(ec, std::move(socket));
    });
}

void FramedServer::Registry::accepted(boost::system::error_code ec, stream_protocol::socket socket) {
    if (stopped || ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec && !client_side(ec)) return pause(ec);
    if (ec) {
        log::debug(protocol->name, ": accept failed: ", ec.message());
    } else {
        if (paused_since) {
            if (pause_logged) log::info(protocol->name, ": accepting connections again after ", ms(Clock::now() - *paused_since), " ms");
            paused_since.reset();
        }
        admit(std::move(socket));
    }
    accept();
}

void FramedServer::Registry::admit(stream_protocol::socket socket) {
    set_cloexec(socket.native_handle());
    ucred cred{};
    if (!peer_allowed(socket, cred)) {
        log::warn(protocol->name, ": refused a connection from uid ", cred.uid, " pid ", cred.pid);
        return;
    }
    if (connections.size() >= protocol->max_connections && !evict_longest_waiting()) {
        log::warn(protocol->name, ": all ", connections.size(), " connections are being served; refusing another");
        return;
    }
    ++accepted_count;
    auto id = next_connection_id();
    auto c = std::make_shared<Connection>(std::move(socket), protocol, weak_from_this(), id);
    connections.emplace(id, c);
    c->start();
}

bool FramedServer::Registry::evict_longest_waiting() {
    std::shared_ptr<Connection> victim;
    for (const auto& [id, c] : connections)
        if (c->waiting_for_request() && (!victim || c->waiting_since() < victim->waiting_since())) victim = c;
    if (!victim) return false;
    auto now = Clock::now();
    if (!last_cap_warning || now - *last_cap_warning > std::chrono::minutes(1)) {
        log::warn(protocol->name, ": ", connections.size(), " connections open, the most allowed; closing the one that has waited",
                  " longest for a request to make room for each new client");
        last_cap_warning = now;
    }
    log::debug(protocol->name, " connection ", victim->id(), " waited ", ms(now - victim->waiting_since()),
               " ms for a request; closed to make room");
    victim->close();
    return true;
}

void FramedServer::Registry::pause(const boost::system::error_code& ec) {
    if (!paused_since) {
        auto now = Clock::now();
        paused_since = now;
        backoff = limits::kAcceptRetryFirst;
        // Once a minute at most: a process at its limit may pause again at every connection that closes.
        pause_logged = !last_pause_log || now - *last_pause_log >= std::chrono::minutes(1);
        if (!pause_logged) return retry_later();
        last_pause_log = now;
        auto retry = std::to_string(ms(limits::kAcceptRetryFirst)) + "-" + std::to_string(ms(limits::kAcceptRetryMax)) + " ms";
        if (!out_of_resources(ec))
            log::error(protocol->name, ": accept failed: ", ec.message(), "; retrying every ", retry);
        else
            log::error(protocol->name, ": cannot accept connections: ", ec.message(), " (", connections.size(),
                       " open here); new clients wait until one of ours closes (retrying every ", retry, ")",
                       ec.value() == ENOMEM || ec.value() == ENOBUFS
                           ? ""
                           : "; if this happens in normal use, raise the descriptor limit (LimitNOFILE= in the unit)");
    } else {
        backoff = std::min<Clock::duration>(backoff * 2, limits::kAcceptRetryMax);
    }
    retry_later();
}

void FramedServer::Registry::retry_later() {
    retry_timer.expires_after(backoff);
    retry_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec) self->accept();
    });
}

void FramedServer::Registry::connection_closed(std::uint64_t id) {
    connections.erase(id);
    if (paused_since && !stopped) {
        retry_timer.cancel();  // a descriptor was just freed: try now
        accept();
    }
}

void FramedServer::Registry::stop() {
    stopped = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    retry_timer.cancel();
    auto open = std::move(connections);
    connections.clear();
    for (const auto& [id, c] : open) c->stop();
}

FramedServer::FramedServer(asio::io_context&, stream_protocol::acceptor acceptor, FramedProtocol protocol)
    : registry_(std::make_shared<Registry>(std::move(acceptor), std::move(protocol))) {
    set_cloexec(registry_->acceptor.native_handle());
}

FramedServer::~FramedServer() { stop(); }

void FramedServer::start() { registry_->accept(); }

void FramedServer::stop() { registry_->stop(); }

std::uint64_t FramedServer::connections_accepted() const noexcept { return registry_->accepted_count; }

}  // namespace sshcert
