// SPDX-License-Identifier: Apache-2.0
#include "curl_transport.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <set>

#include "c_handles.hpp"
#include "endpoint_set.hpp"
#include "limits.hpp"
#include "log.hpp"
#include "secure_bytes.hpp"
#include "version.hpp"

namespace sshcert {

namespace {

void mark_open_descriptors_cloexec() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return;
    while (dirent* e = ::readdir(dir)) {
        int fd = std::atoi(e->d_name);
        if (fd <= 2 || fd == ::dirfd(dir)) continue;
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    ::closedir(dir);
}

using CurlMulti = std::unique_ptr<CURLM, CFree<curl_multi_cleanup>>;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

/// Appends to a buffer holding a secret without leaving copies behind: when it must grow,
/// the old buffer is wiped before it is freed.
void append_wiping(std::string& s, const char* data, std::size_t n) {
    if (s.size() + n > s.capacity()) {
        std::string bigger;
        bigger.reserve(std::max({s.capacity() * 2, s.size() + n, std::size_t{4096}}));
        bigger.append(s);
        wipe(s);
        s.swap(bigger);
    }
    s.append(data, n);
}

/// "30 s", "0.3 s".
std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    if (ms.count() % 1000 == 0) std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(ms.count() / 1000));
    else std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
    return buf;
}

using CurlUrl = std::unique_ptr<CURLU, CFree<curl_url_cleanup>>;

/// curl has no option for SNI alone: to send `server_name` as SNI and Host and check Vault's certificate
/// against it, the URL names it and CURLOPT_CONNECT_TO ("name:port:host:port") sends curl to the real host.
/// Gives {the URL naming server_name, the CONNECT_TO entry}; nothing for plain http or a bad URL.
std::optional<std::pair<std::string, std::string>> aim_at_server_name(const std::string& url,
                                                                      const std::string& server_name) {
    CurlUrl u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
    auto part = [&](CURLUPart which, unsigned flags) -> std::optional<std::string> {
        char* text = nullptr;
        if (curl_url_get(u.get(), which, &text, flags) != CURLUE_OK) return std::nullopt;
        std::string value(text);
        curl_free(text);
        return value;
    };
    auto scheme = part(CURLUPART_SCHEME, 0);
    auto host = part(CURLUPART_HOST, 0);  // an IPv6 literal keeps its brackets, as CONNECT_TO wants
    auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (!scheme || *scheme != "https" || !host || !port) return std::nullopt;
    if (curl_url_set(u.get(), CURLUPART_HOST, server_name.c_str(), 0) != CURLUE_OK) return std::nullopt;
    auto aimed = part(CURLUPART_URL, 0);
    if (!aimed) return std::nullopt;
    return std::pair{*aimed, server_name + ":" + *port + ":" + *host + ":" + *port};
}

constexpr const char* kCheckAddress = "check VAULT_ADDR or [vault] address, and that Vault is running";

struct Transfer {
    std::uint64_t id = 0;
    HttpRequest request;  ///< curl reads the body from here
    std::string origin;   ///< for messages
    CurlHeaders headers;
    CurlHeaders connect_to;  ///< with a tls_server_name: where curl really connects
    Transport::Done done;
    std::string body;     ///< the reply as it arrives; becomes reply.body
    HttpReply reply;      ///< status and headers
    bool overflow = false;
    char errbuf[CURL_ERROR_SIZE] = {};
    std::optional<Result<HttpReply>> result;  ///< set when curl is done with it
    bool in_multi = false;
    CurlEasy easy;        ///< last: cleaned up before what it points at

    ~Transfer() {
        wipe(body);
        for (auto& header : request.headers) wipe(header.second);  // STS's carry the session token
    }
};

}  // namespace

class CurlTransport::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(asio::io_context& io, const config::VaultSettings& settings);
    ~Impl();

    void send(HttpRequest request, Done done);
    void cancel_all();
    std::size_t in_flight() const { return transfers_.size(); }
    std::size_t open_sockets() const { return open_.size(); }

private:
    /// Asio's view of one of curl's sockets. It never owns the descriptor: release(), never close.
    struct Watch {
        Watch(asio::io_context& io, curl_socket_t fd) : sd(io), fd(fd) {}
        ~Watch() { release(); }
        void release() {
            active = false;
            if (sd.is_open()) (void)sd.release();
        }
        asio::posix::stream_descriptor sd;
        curl_socket_t fd;
        int what = 0;          ///< CURL_POLL_IN / OUT / INOUT
        bool active = true;
        bool reading = false;  ///< an async_wait is pending in that direction
        bool writing = false;
    };

    static int on_socket(CURL*, curl_socket_t fd, int what, void* self, void*);
    static int on_timer(CURLM*, long timeout_ms, void* self);
    static curl_socket_t open_socket(void* self, curlsocktype purpose, curl_sockaddr* addr);
    static int close_socket(void* self, curl_socket_t fd);
    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* transfer);
    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* transfer);

    std::optional<Error> setup(Transfer& t);
    void watch(curl_socket_t fd, int what);
    void unwatch(curl_socket_t fd);
    void arm(const std::shared_ptr<Watch>& w);
    void on_ready(const std::shared_ptr<Watch>& w, int direction, boost::system::error_code ec);
    void drain();
    Result<HttpReply> outcome(Transfer& t, CURLcode rc);
    void post_delivery(std::uint64_t id);
    void deliver(std::uint64_t id);

    asio::io_context& io_;
    config::VaultSettings settings_;
    asio::steady_timer timer_;
    CurlShare share_;  ///< TLS sessions, shared by every easy handle
    CurlMulti multi_;  ///< its connection cache is what makes calls reuse connections
    std::map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;
    std::map<curl_socket_t, std::shared_ptr<Watch>> watches_;
    std::set<curl_socket_t> open_;  ///< sockets opened through open_socket and not yet closed
    std::uint64_t next_id_ = 0;
    bool closing_ = false;
};

CurlTransport::Impl::Impl(asio::io_context& io, const config::VaultSettings& settings)
    : io_(io), settings_(settings), timer_(io), share_(curl_share_init()), multi_(curl_multi_init()) {
    if (share_) curl_share_setopt(share_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (!multi_) return;  // send() reports it
    // curl 7.88 makes the multi handle's wake-up socketpair without SOCK_CLOEXEC: mark it, and
    // anything else open, so no descriptor of ours reaches a program the daemon might run.
    mark_open_descriptors_cloexec();
    curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_.get(), CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi_.get(), CURLMOPT_TIMERDATA, this);
}

CurlTransport::Impl::~Impl() {
    closing_ = true;
    cancel_all();
    multi_.reset();  // closes cached connections through close_socket
    share_.reset();
    for (auto& [fd, w] : watches_) w->release();
    watches_.clear();
}

// --- curl's callbacks (never call back into curl from these) ---

int CurlTransport::Impl::on_socket(CURL*, curl_socket_t fd, int what, void* self, void*) {
    auto* impl = static_cast<Impl*>(self);
    if (what == CURL_POLL_REMOVE) impl->unwatch(fd);
    else impl->watch(fd, what);
    return 0;
}

int CurlTransport::Impl::on_timer(CURLM*, long timeout_ms, void* self) {
    auto* impl = static_cast<Impl*>(self);
    if (timeout_ms < 0 || impl->closing_) {
        impl->timer_.cancel();
        return 0;
    }
    impl->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    impl->timer_.async_wait([weak = impl->weak_from_this()](boost::system::error_code ec) {
        auto me = weak.lock();
        if (ec || !me || !me->multi_) return;
        int running = 0;
        curl_multi_socket_action(me->multi_.get(), CURL_SOCKET_TIMEOUT, 0, &running);
        me->drain();
    });
    return 0;
}

curl_socket_t CurlTransport::Impl::open_socket(void* self, curlsocktype purpose, curl_sockaddr* addr) {
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    // Every descriptor of the daemon is close-on-exec, Vault connections included.
    int fd = ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    static_cast<Impl*>(self)->open_.insert(fd);
    return fd;
}

int CurlTransport::Impl::close_socket(void* self, curl_socket_t fd) {
    auto* impl = static_cast<Impl*>(self);
    impl->unwatch(fd);  // curl said CURL_POLL_REMOVE already; this is for certainty
    impl->open_.erase(fd);
    return ::close(fd);
}

std::size_t CurlTransport::Impl::on_body(char* data, std::size_t size, std::size_t n, void* transfer) {
    auto* t = static_cast<Transfer*>(transfer);
    std::size_t len = size * n;
    if (t->body.size() + len > limits::kMaxVaultResponseBytes) {
        t->overflow = true;
        return 0;  // fails the transfer: memory stays bounded whatever the server sends
    }
    append_wiping(t->body, data, len);
    return len;
}

std::size_t CurlTransport::Impl::on_header(char* data, std::size_t size, std::size_t n, void* transfer) {
    auto& reply = static_cast<Transfer*>(transfer)->reply;
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {  // a new response (after a 1xx): forget the last one's headers
        reply.content_type.clear();
        reply.retry_after.clear();
        reply.location.clear();
        reply.date.clear();
        return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    if (iequals(name, "content-type")) reply.content_type = value;
    else if (iequals(name, "retry-after")) reply.retry_after = value;
    else if (iequals(name, "location")) reply.location = value;
    else if (iequals(name, "date")) reply.date = value;
    return size * n;
}

// --- sockets and timer on the loop ---

void CurlTransport::Impl::watch(curl_socket_t fd, int what) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) {
        auto w = std::make_shared<Watch>(io_, fd);
        boost::system::error_code ec;
        w->sd.assign(fd, ec);
        if (ec) {
            log::warn("cannot watch a socket of the Vault connection: ", ec.message());
            return;
        }
        it = watches_.emplace(fd, std::move(w)).first;
    }
    it->second->what = what;
    arm(it->second);
}

void CurlTransport::Impl::unwatch(curl_socket_t fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return;
    it->second->release();  // pending waits complete with operation_aborted and see !active
    watches_.erase(it);
}

void CurlTransport::Impl::arm(const std::shared_ptr<Watch>& w) {
    if (!w->active) return;
    auto wait = [this, w](asio::posix::stream_descriptor::wait_type type, int direction, bool& pending) {
        pending = true;
        w->sd.async_wait(type, [weak = weak_from_this(), w, direction, &pending](boost::system::error_code ec) {
            pending = false;
            if (auto me = weak.lock()) me->on_ready(w, direction, ec);
        });
    };
    if ((w->what & CURL_POLL_IN) && !w->reading) wait(asio::posix::stream_descriptor::wait_read, CURL_CSELECT_IN, w->reading);
    if ((w->what & CURL_POLL_OUT) && !w->writing)
        wait(asio::posix::stream_descriptor::wait_write, CURL_CSELECT_OUT, w->writing);
}

void CurlTransport::Impl::on_ready(const std::shared_ptr<Watch>& w, int direction, boost::system::error_code ec) {
    if (!w->active || ec == asio::error::operation_aborted || !multi_) return;
    int running = 0;
    curl_multi_socket_action(multi_.get(), w->fd, ec ? CURL_CSELECT_ERR : direction, &running);
    drain();
    arm(w);  // curl may have changed what it waits for, or stopped watching (then !active)
}

// --- exchanges ---

std::optional<Error> CurlTransport::Impl::setup(Transfer& t) {
    t.easy.reset(curl_easy_init());
    if (!t.easy || !multi_) return Error{Errc::Internal, "cannot start a request to Vault: curl failed to initialise"};
    CURL* c = t.easy.get();
    const HttpRequest& r = t.request;

    auto add = [&t](const char* line) {
        curl_slist* head = t.headers.release();
        curl_slist* grown = curl_slist_append(head, line);
        t.headers.reset(grown ? grown : head);
        return grown != nullptr;
    };
    bool ok = add("X-Vault-Request: true") && add("Expect:");  // no 100-continue round trip
    bool own_type = std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) { return iequals(h.first, "Content-Type"); });
    if (!r.body.empty() && !own_type) ok = ok && add("Content-Type: application/json");
    for (const auto& [name, value] : r.headers) ok = ok && add((name + ": " + value).c_str());
    if (!r.namespace_name.empty()) ok = ok && add(("X-Vault-Namespace: " + r.namespace_name).c_str());
    if (!r.token.empty()) {
        std::string line;
        line.reserve(16 + r.token.reveal().size());
        line = "X-Vault-Token: ";
        line += r.token.reveal();
        ok = ok && add(line.c_str());
        wipe(line);  // the list holds its own copy, wiped when it is freed
    }
    if (!ok) return Error{Errc::Internal, "cannot start a request to Vault: out of memory"};

    const long timeout_ms = static_cast<long>(r.timeout.count());
    curl_easy_setopt(c, CURLOPT_PRIVATE, &t);
    if (auto aimed = settings_.tls_server_name.empty() ? std::nullopt
                                                       : aim_at_server_name(r.url, settings_.tls_server_name)) {
        t.connect_to.reset(curl_slist_append(nullptr, aimed->second.c_str()));
        if (!t.connect_to) return Error{Errc::Internal, "cannot start a request to Vault: out of memory"};
        curl_easy_setopt(c, CURLOPT_URL, aimed->first.c_str());  // curl copies it
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, t.connect_to.get());
    } else {
        curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
    }
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // VaultClient follows a standby's redirect itself
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t.headers.get());
    curl_easy_setopt(c, CURLOPT_USERAGENT, (std::string("sshcertd/") + kVersion).c_str());
    if (r.method == "GET") {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
        if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
            // Not copied: the body lives in the Transfer, and is wiped with it.
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.c_str());
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.reveal().size()));
        }
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &Impl::open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, &Impl::close_socket);
    curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(timeout_ms, kConnectTimeout.count()));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits::kMaxVaultResponseBytes));
#if LIBCURL_VERSION_NUM >= 0x075700
    curl_easy_setopt(c, CURLOPT_QUICK_EXIT, 1L);  // cancelling during a DNS lookup does not wait for it
#endif
    if (share_) curl_easy_setopt(c, CURLOPT_SHARE, share_.get());
    curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    if (!settings_.ca_cert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, settings_.ca_cert.c_str());
    if (!settings_.ca_path.empty()) curl_easy_setopt(c, CURLOPT_CAPATH, settings_.ca_path.c_str());
    if (!settings_.client_cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, settings_.client_cert.c_str());
    if (!settings_.client_key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, settings_.client_key.c_str());
    if (settings_.skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return std::nullopt;
}

void CurlTransport::Impl::send(HttpRequest request, Done done) {
    auto t = std::make_unique<Transfer>();
    t->id = ++next_id_;
    t->origin = EndpointSet::origin(request.url);
    t->request = std::move(request);
    // curl's 0 is "never": a zero or negative timeout gets the default rather than a hang.
    if (t->request.timeout <= std::chrono::milliseconds::zero()) t->request.timeout = HttpRequest{}.timeout;
    t->done = std::move(done);
    auto error = setup(*t);
    if (!error) {
        CURLMcode mc = curl_multi_add_handle(multi_.get(), t->easy.get());
        if (mc == CURLM_OK) t->in_multi = true;
        else error = Error{Errc::Internal, std::string("cannot start a request to Vault: ") + curl_multi_strerror(mc)};
    }
    std::uint64_t id = t->id;
    if (error) t->result = std::move(*error);
    transfers_.emplace(id, std::move(t));
    if (error) post_delivery(id);  // never inside send()
}

void CurlTransport::Impl::cancel_all() {
    auto abandoned = std::move(transfers_);
    transfers_.clear();
    for (auto& [id, t] : abandoned)
        if (t->in_multi) curl_multi_remove_handle(multi_.get(), t->easy.get());  // closes its connection
    abandoned.clear();
    timer_.cancel();  // nothing is left for curl to time, so the loop may end now
}

void CurlTransport::Impl::drain() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_.get(), &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL* easy = m->easy_handle;
        CURLcode rc = m->data.result;  // `m` is invalid once the handle is removed
        char* priv = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        auto* t = reinterpret_cast<Transfer*>(priv);
        curl_multi_remove_handle(multi_.get(), easy);
        t->in_multi = false;
        t->result = outcome(*t, rc);
        post_delivery(t->id);
    }
}

Result<HttpReply> CurlTransport::Impl::outcome(Transfer& t, CURLcode rc) {
    const std::string at = "Vault at " + t.origin;
    if (t.overflow || rc == CURLE_FILESIZE_EXCEEDED)
        return Error{Errc::VaultBadResponse, at + " sent a reply larger than " +
                                                 std::to_string(limits::kMaxVaultResponseBytes) +
                                                 " bytes; is VAULT_ADDR pointing at Vault?"};
    if (rc != CURLE_OK) {
        std::string what = t.errbuf[0] ? t.errbuf : curl_easy_strerror(rc);
        std::string hint = kCheckAddress;
        curl_off_t connect_us = 0;
        curl_easy_getinfo(t.easy.get(), CURLINFO_CONNECT_TIME_T, &connect_us);
        switch (rc) {
            case CURLE_PEER_FAILED_VERIFICATION:
                if (what.find("does not match target host name") != std::string::npos ||
                    what.find("no alternative certificate subject name matches") != std::string::npos) {
                    hint = settings_.tls_server_name.empty()
                               ? "Vault's certificate is for another name than VAULT_ADDR's host: use that name in "
                                 "VAULT_ADDR, or set VAULT_TLS_SERVER_NAME or [vault] tls_server_name to it"
                               : "Vault's certificate is not for " + settings_.tls_server_name +
                                     ": check VAULT_TLS_SERVER_NAME or [vault] tls_server_name";
                    break;
                }
                [[fallthrough]];
            case CURLE_SSL_CACERT_BADFILE:
            case CURLE_SSL_ISSUER_ERROR:
                hint = "set VAULT_CACERT or [vault] ca_cert to the CA that signed Vault's certificate";
                break;
            case CURLE_SSL_CERTPROBLEM:
                hint = "check VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, or [vault] client_cert and client_key: they must "
                       "name a readable PEM certificate and its private key";
                break;
            case CURLE_SSL_CONNECT_ERROR:
                hint = "the TLS handshake failed: check that VAULT_ADDR's scheme (https:// or http://) is the one "
                       "Vault listens with";
                break;
            case CURLE_COULDNT_RESOLVE_HOST:
                hint = "check the host name in VAULT_ADDR or [vault] address";
                break;
            case CURLE_OPERATION_TIMEDOUT:
                what = connect_us == 0
                           ? "no connection within " +
                                 seconds_text(std::min(t.request.timeout, std::chrono::milliseconds(kConnectTimeout)))
                           : "timed out after " + seconds_text(t.request.timeout) + " waiting for the answer";
                if (connect_us != 0) hint = "check that Vault is running and not overloaded, or raise [vault] timeout";
                break;
            default:
                break;
        }
        return Error{Errc::VaultUnreachable, "cannot reach Vault at " + t.origin + ": " + what + "; " + hint};
    }
    curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &t.reply.status);
    t.reply.body = SecretString::take(t.body);
    return std::move(t.reply);
}

void CurlTransport::Impl::post_delivery(std::uint64_t id) {
    asio::post(io_, [weak = weak_from_this(), id] {
        if (auto me = weak.lock()) me->deliver(id);
    });
}

void CurlTransport::Impl::deliver(std::uint64_t id) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;  // cancelled after it completed
    auto t = std::move(it->second);
    transfers_.erase(it);
    auto done = std::move(t->done);
    auto result = std::move(*t->result);
    t.reset();  // the easy handle goes before `done` runs, whatever `done` does to us
    done(std::move(result));
}

// --- the interface ---

CurlTransport::CurlTransport(asio::io_context& io, const config::VaultSettings& settings)
    : impl_(std::make_shared<Impl>(io, settings)) {}

CurlTransport::~CurlTransport() { impl_->cancel_all(); }

void CurlTransport::send(HttpRequest request, Done done) { impl_->send(std::move(request), std::move(done)); }
void CurlTransport::cancel_all() { impl_->cancel_all(); }
std::size_t CurlTransport::in_flight() const { return impl_->in_flight(); }
std::size_t CurlTransport::open_sockets() const { return impl_->open_sockets(); }

}  // namespace sshcert
