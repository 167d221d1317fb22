// SPDX-License-Identifier: Apache-2.0
// CurlTransport against a small HTTP server on 127.0.0.1 (plain sockets, one
// thread per connection, port chosen at run time) that answers with canned
// raw responses: well-formed, cut off, hung, oversized, slow.
#include <doctest/doctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>

#include "c_handles.hpp"
#include "curl_alloc.hpp"
#include "curl_transport.hpp"
#include "limits.hpp"
#include "vault_client.hpp"

using namespace sshcert;
using namespace std::chrono_literals;

namespace {

const CurlGlobal curl_global;  // as main does, before any transport exists

struct SeenRequest {
    std::string head;  ///< request line and headers, as sent
    std::string body;
    bool has_header(std::string_view line) const { return head.find(std::string(line) + "\r\n") != std::string::npos; }
    bool has_header_named(std::string_view name) const {
        std::string lower = head;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        return lower.find("\r\n" + std::string(name) + ":") != std::string::npos;
    }
};

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string response(int status, std::string_view body, std::string_view headers = "Content-Type: application/json\r\n") {
    return "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           std::string(headers) + "\r\n" + std::string(body);
}

/// A listening socket on 127.0.0.1 at a port the kernel chose, and that port.
int listen_on_loopback(int& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 64) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

class TestServer {
public:
    /// Answers one request on connection `fd`; returns false to close the connection.
    using Handler = std::function<bool(TestServer&, int fd, const SeenRequest&)>;

    explicit TestServer(Handler handler) : handler_(std::move(handler)) {
        listen_fd_ = listen_on_loopback(port_);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~TestServer() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
            for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
        }
        stopped_.notify_all();
        acceptor_.join();
        for (auto& w : workers_) w.join();
        for (int fd : clients_) ::close(fd);
        ::close(listen_fd_);
    }

    int port() const { return port_; }
    std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string url(std::string_view path = "/v1/sys/thing") const { return origin() + std::string(path); }
    std::size_t connections() {
        std::lock_guard lock(mutex_);
        return clients_.size();
    }
    std::vector<SeenRequest> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    /// Sleeps `d`, or less when the server is being torn down; false then.
    bool pause(std::chrono::milliseconds d) {
        std::unique_lock lock(mutex_);
        return !stopped_.wait_for(lock, d, [this] { return stop_; });
    }
    std::atomic<std::size_t> bytes_sent{0};

private:
    void accept_loop() {
        for (;;) {
            pollfd p{listen_fd_, POLLIN, 0};
            ::poll(&p, 1, 20);
            std::lock_guard lock(mutex_);
            if (stop_) return;
            if (!(p.revents & POLLIN)) continue;
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            clients_.push_back(fd);
            workers_.emplace_back([this, fd] { serve(fd); });
        }
    }

    void serve(int fd) {
        std::string buf;
        char chunk[4096];
        for (;;) {
            std::size_t end;
            while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
                if (!buf.empty() && buf[0] == '\x16') {  // a TLS ClientHello: answer as a plain HTTP server does
                    send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                    return;
                }
                ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
                if (n <= 0) return;
                buf.append(chunk, static_cast<std::size_t>(n));
            }
            SeenRequest req;
            req.head = buf.substr(0, end + 2);
            buf.erase(0, end + 4);
            std::size_t length = 0;
            std::string lower = req.head;
            std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
            if (auto cl = lower.find("\r\ncontent-length:"); cl != std::string::npos)
                length = std::stoul(lower.substr(cl + 17));
            while (buf.size() < length) {
                ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
                if (n <= 0) return;
                buf.append(chunk, static_cast<std::size_t>(n));
            }
            req.body = buf.substr(0, length);
            buf.erase(0, length);
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(req);
            }
            if (!handler_(*this, fd, req)) {
                ::shutdown(fd, SHUT_RDWR);
                return;
            }
        }
    }

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::mutex mutex_;
    std::condition_variable stopped_;
    bool stop_ = false;
    std::vector<int> clients_;
    std::vector<SeenRequest> requests_;
    std::thread acceptor_;
    std::vector<std::thread> workers_;
};

TestServer::Handler always(std::string raw) {
    return [raw](TestServer&, int fd, const SeenRequest&) { return send_all(fd, raw); };
}

HttpRequest get(std::string url, std::chrono::milliseconds timeout = 5s) {
    HttpRequest r;
    r.method = "GET";
    r.url = std::move(url);
    r.timeout = timeout;
    return r;
}

struct Harness {
    asio::io_context io;
    config::VaultSettings settings;
    std::unique_ptr<CurlTransport> transport = std::make_unique<CurlTransport>(io, settings);

    /// Sends one request and runs the loop until it is answered.
    Result<HttpReply> exchange(HttpRequest request) {
        std::optional<Result<HttpReply>> out;
        transport->send(std::move(request), [&](Result<HttpReply> r) { out.emplace(std::move(r)); });
        io.restart();
        io.run();
        REQUIRE(out.has_value());
        return std::move(*out);
    }
};

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

/// A port on 127.0.0.1 with nobody listening.
int closed_port() {
    int port = 0;
    ::close(listen_on_loopback(port));
    return port;
}

/// This process's descriptors connected to 127.0.0.1:`port`.
std::vector<int> sockets_to(int port) {
    std::vector<int> out;
    DIR* d = ::opendir("/proc/self/fd");
    while (dirent* e = d ? ::readdir(d) : nullptr) {
        int fd = std::atoi(e->d_name);
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        if (fd > 2 && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 && peer.sin_family == AF_INET &&
            ntohs(peer.sin_port) == port)
            out.push_back(fd);
    }
    if (d) ::closedir(d);
    return out;
}

/// A self-signed certificate for `san` (IP 127.0.0.1 by default), made at run time, and its PEM in a file.
struct SelfSigned {
    explicit SelfSigned(const char* san = "IP:127.0.0.1") {
        key.reset(EVP_EC_gen("P-256"));
        REQUIRE(key);
        cert.reset(X509_new());
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
        X509_set_pubkey(cert.get(), key.get());
        X509_NAME* name = X509_get_subject_name(cert.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("sshcert test"), -1, -1, 0);
        X509_set_issuer_name(cert.get(), name);
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
        for (auto [nid, value] : {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
            X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
            REQUIRE(ext);
            X509_add_ext(cert.get(), ext, -1);
            X509_EXTENSION_free(ext);
        }
        REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
        char tmpl[] = "/tmp/sshcert-test-ca-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        path = tmpl;
        FILE* f = ::fdopen(fd, "w");
        PEM_write_X509(f, cert.get());
        std::fclose(f);
    }
    ~SelfSigned() {
        std::remove(path.c_str());
        if (!with_key_path.empty()) std::remove(with_key_path.c_str());
    }
    /// The certificate and its private key in one PEM file, as a client certificate is often kept.
    const std::string& write_with_key() {
        with_key_path = path + ".with-key";
        FILE* f = std::fopen(with_key_path.c_str(), "w");
        REQUIRE(f);
        PEM_write_X509(f, cert.get());
        PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(f);
        return with_key_path;
    }

    EvpPkey key;
    std::unique_ptr<X509, CFree<X509_free>> cert;
    std::string path;
    std::string with_key_path;
};

/// An HTTPS server on 127.0.0.1 answering every request with `raw`, one connection at a time.
class TlsServer {
public:
    /// With `client`, the handshake demands a client certificate and trusts only that one.
    TlsServer(const SelfSigned& id, std::string raw, const SelfSigned* client = nullptr)
        : ctx_(SSL_CTX_new(TLS_server_method())), raw_(std::move(raw)) {
        std::signal(SIGPIPE, SIG_IGN);  // as sshcertd runs: a peer that hung up is an error, not a death
        SSL_CTX_use_certificate(ctx_.get(), id.cert.get());
        SSL_CTX_use_PrivateKey(ctx_.get(), id.key.get());
        if (client) {
            X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), client->cert.get());
            SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        }
        listen_fd_ = listen_on_loopback(port_);
        thread_ = std::thread([this] { serve(); });
    }
    ~TlsServer() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/v1/sys/thing"; }
    /// The SNI name and the request head of the last exchange.
    std::pair<std::string, std::string> last_seen() const {
        std::lock_guard<std::mutex> lock(seen_mutex_);
        return {last_sni_, last_request_};
    }

private:
    void serve() {
        while (!stop_) {
            pollfd p{listen_fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            timeval tv{2, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            SSL* ssl = SSL_new(ctx_.get());
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) == 1) {  // fails when the client refuses our certificate
                std::string got;
                char buf[4096];
                int n;
                while (got.find("\r\n\r\n") == std::string::npos && (n = SSL_read(ssl, buf, sizeof buf)) > 0) got.append(buf, n);
                {
                    std::lock_guard<std::mutex> lock(seen_mutex_);
                    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
                    last_sni_ = sni ? sni : "";
                    last_request_ = got;
                }
                SSL_write(ssl, raw_.data(), static_cast<int>(raw_.size()));
                SSL_shutdown(ssl);
            }
            SSL_free(ssl);
            ::close(fd);
        }
    }

    std::unique_ptr<SSL_CTX, CFree<SSL_CTX_free>> ctx_;
    std::string raw_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex seen_mutex_;
    std::string last_sni_, last_request_;
    std::thread thread_;
};

/// One GET of `url` through a transport made with `settings`.
Result<HttpReply> exchange_with(const config::VaultSettings& settings, const std::string& url) {
    asio::io_context io;
    CurlTransport transport(io, settings);
    std::optional<Result<HttpReply>> out;
    transport.send(get(url), [&](Result<HttpReply> r) { out.emplace(std::move(r)); });
    io.run();
    REQUIRE(out.has_value());
    return std::move(*out);
}

}  // namespace

TEST_CASE("curl transport: a 200 with its body and the headers Vault's conventions need") {
    TestServer server([](TestServer&, int fd, const SeenRequest&) {
        return send_all(fd, response(200, R"({"data":{}})",
                                     "Content-Type: application/json\r\nRetry-After: 7\r\nDate: Sun, 06 Nov 1994 "
                                     "08:49:37 GMT\r\nLocation: https://active:8200/v1/x\r\n"));
    });
    Harness h;
    HttpRequest req = get(server.url("/v1/auth/userpass/login/alice"));
    req.method = "POST";
    req.body = SecretString(R"({"password":"pw"})");
    req.token = SecretString("hvs.secret-token");
    req.namespace_name = "team/";
    auto r = h.exchange(std::move(req));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body.reveal() == R"({"data":{}})");
    CHECK(r->content_type == "application/json");
    CHECK(r->retry_after == "7");
    CHECK(r->date == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(r->location == "https://active:8200/v1/x");

    auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].head.starts_with("POST /v1/auth/userpass/login/alice HTTP/1.1\r\n"));
    CHECK(seen[0].has_header("X-Vault-Request: true"));
    CHECK(seen[0].has_header("X-Vault-Token: hvs.secret-token"));
    CHECK(seen[0].has_header("X-Vault-Namespace: team/"));
    CHECK(seen[0].has_header("Content-Type: application/json"));
    CHECK_FALSE(seen[0].has_header_named("expect"));
    CHECK(seen[0].body == R"({"password":"pw"})");
}

TEST_CASE("curl transport: no token, namespace or body means none of their headers") {
    TestServer server(always(response(204, "")));
    Harness h;
    auto r = h.exchange(get(server.url()));
    REQUIRE(r.ok());
    CHECK(r->status == 204);
    CHECK(r->body.empty());
    auto seen = server.requests().at(0);
    CHECK(seen.head.starts_with("GET /v1/sys/thing HTTP/1.1\r\n"));
    CHECK_FALSE(seen.has_header_named("x-vault-token"));
    CHECK_FALSE(seen.has_header_named("x-vault-namespace"));
    CHECK_FALSE(seen.has_header_named("content-type"));
}

TEST_CASE("curl transport: a body-less POST and a LIST go out with their own method") {
    TestServer server(always(response(200, "{}")));
    Harness h;
    HttpRequest post = get(server.url("/v1/auth/token/revoke-self"));
    post.method = "POST";
    REQUIRE(h.exchange(std::move(post)).ok());
    HttpRequest list = get(server.url("/v1/ssh/roles"));
    list.method = "LIST";
    REQUIRE(h.exchange(std::move(list)).ok());
    auto seen = server.requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].head.starts_with("POST /v1/auth/token/revoke-self "));
    CHECK(seen[0].has_header("Content-Length: 0"));
    CHECK(seen[1].head.starts_with("LIST /v1/ssh/roles "));
}

TEST_CASE("curl transport: a redirect is returned, not followed") {
    TestServer server(always(response(307, "", "Location: http://127.0.0.1:1/v1/sys/thing\r\n")));
    Harness h;
    auto r = h.exchange(get(server.url()));
    REQUIRE(r.ok());
    CHECK(r->status == 307);
    CHECK(r->location == "http://127.0.0.1:1/v1/sys/thing");
    CHECK(server.requests().size() == 1);
}

TEST_CASE("curl transport: a body cut off after the headers is an error, not a short success") {
    TestServer server([](TestServer&, int fd, const SeenRequest&) {
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"data\":");
        return false;
    });
    Harness h;
    auto r = h.exchange(get(server.url()));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::VaultUnreachable);
    CHECK(contains(r.error().message, "cannot reach Vault at " + server.origin()));
}

TEST_CASE("curl transport: a hung Vault is an error once the request's timeout passes") {
    TestServer server([](TestServer& s, int, const SeenRequest&) { return s.pause(60s); });
    Harness h;
    auto started = std::chrono::steady_clock::now();
    auto r = h.exchange(get(server.url(), 300ms));
    auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::VaultUnreachable);
    CHECK(contains(r.error().message, "timed out after 0.3 s"));
    CHECK(contains(r.error().message, server.origin()));
    CHECK(took >= 250ms);
    CHECK(took < 3s);
}

TEST_CASE("curl transport: cancel_all() abandons a hung exchange at once, and the loop ends") {
    TestServer server([](TestServer& s, int, const SeenRequest&) { return s.pause(60s); });
    Harness h;
    bool called = false;
    h.transport->send(get(server.url(), 30s), [&](auto) { called = true; });
    h.transport->send(get(server.url(), 30s), [&](auto) { called = true; });
    asio::steady_timer later(h.io, 200ms);
    std::chrono::steady_clock::time_point cancelled;
    later.async_wait([&](auto) {
        REQUIRE(h.transport->in_flight() == 2);
        cancelled = std::chrono::steady_clock::now();
        h.transport->cancel_all();
        CHECK(h.transport->in_flight() == 0);
    });
    h.io.run();
    CHECK(std::chrono::steady_clock::now() - cancelled < 1s);
    CHECK_FALSE(called);
    CHECK(h.transport->open_sockets() == 0);  // abandoned connections are closed, not cached
}

TEST_CASE("curl transport: destroying the transport with exchanges in flight runs none of them") {
    TestServer server([](TestServer& s, int, const SeenRequest&) { return s.pause(60s); });
    Harness h;
    bool called = false;
    h.transport->send(get(server.url(), 30s), [&](auto) { called = true; });
    h.io.run_for(200ms);
    h.transport.reset();
    auto started = std::chrono::steady_clock::now();
    h.io.restart();
    h.io.run();
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    CHECK_FALSE(called);
    CHECK(sockets_to(server.port()).empty());
}

TEST_CASE("curl transport: a body over the cap is a clean error, and reading stops there") {
    SUBCASE("announced by Content-Length") {
        TestServer server([](TestServer&, int fd, const SeenRequest&) {
            send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(limits::kMaxVaultResponseBytes + 1) +
                             "\r\n\r\n");
            return false;
        });
        Harness h;
        auto r = h.exchange(get(server.url()));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::VaultBadResponse);
        CHECK(contains(r.error().message, "larger than 1048576 bytes"));
    }
    SUBCASE("streamed without a length") {
        constexpr std::size_t kOffered = 64u << 20;
        TestServer server([](TestServer& s, int fd, const SeenRequest&) {
            if (!send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) return false;
            const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
            while (s.bytes_sent < kOffered && send_all(fd, chunk)) s.bytes_sent += 0x10000;
            return false;
        });
        Harness h;
        auto r = h.exchange(get(server.url(), 20s));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::VaultBadResponse);
        CHECK(contains(r.error().message, "larger than"));
        CHECK(server.bytes_sent < kOffered / 4);  // the transfer was stopped, not read to the end
    }
}

TEST_CASE("curl transport: one connection serves consecutive requests") {
    TestServer server(always(response(200, "{}")));
    Harness h;
    for (int i = 0; i < 3; ++i) REQUIRE(h.exchange(get(server.url())).ok());
    CHECK(server.requests().size() == 3);
    CHECK(server.connections() == 1);
    CHECK(h.transport->open_sockets() == 1);
}

TEST_CASE("curl transport: every socket it opens is close-on-exec") {
    TestServer server(always(response(200, "{}")));
    Harness h;
    REQUIRE(h.exchange(get(server.url())).ok());
    auto fds = sockets_to(server.port());
    REQUIRE(fds.size() == 1);  // the cached connection
    CHECK((::fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("curl transport: concurrent requests are not serialized") {
    TestServer server([](TestServer& s, int fd, const SeenRequest&) {
        s.pause(200ms);
        return send_all(fd, response(200, "{}"));
    });
    Harness h;
    constexpr int kRequests = 20;
    int answered = 0;
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < kRequests; ++i)
        h.transport->send(get(server.url(), 10s), [&](Result<HttpReply> r) { answered += r.ok() && r->status == 200; });
    CHECK(h.transport->in_flight() == kRequests);
    h.io.run();
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(answered == kRequests);
    CHECK(took < 2s);  // one after another would take 4 s
}

TEST_CASE("curl transport: nobody listening is VaultUnreachable naming the address and what to check") {
    Harness h;
    const std::string origin = "http://127.0.0.1:" + std::to_string(closed_port());
    bool called = false;
    std::optional<Result<HttpReply>> out;
    h.transport->send(get(origin + "/v1/sys/thing"), [&](Result<HttpReply> r) {
        called = true;
        out.emplace(std::move(r));
    });
    CHECK_FALSE(called);  // never inside send()
    h.io.run();
    REQUIRE(out.has_value());
    REQUIRE_FALSE(out->ok());
    CHECK(out->error().code == Errc::VaultUnreachable);
    CHECK(contains(out->error().message, "cannot reach Vault at " + origin));
    CHECK(contains(out->error().message, "check VAULT_ADDR or [vault] address, and that Vault is running"));
}

TEST_CASE("curl transport: https:// to a plain-HTTP server says the scheme may be wrong") {
    TestServer server(always(response(200, "{}")));
    Harness h;
    auto r = h.exchange(get("https://127.0.0.1:" + std::to_string(server.port()) + "/v1/sys/thing"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::VaultUnreachable);
    CHECK(contains(r.error().message, "https://127.0.0.1:"));
    CHECK(contains(r.error().message, "scheme"));
}

TEST_CASE("curl transport: TLS is verified against the system roots, [vault] ca_cert, or not at all when told") {
    SelfSigned id;
    TlsServer server(id, response(200, R"({"data":{}})", "Content-Type: application/json\r\nConnection: close\r\n"));
    auto exchange = [&](const config::VaultSettings& settings) { return exchange_with(settings, server.url()); };
    auto untrusted = exchange({});
    REQUIRE_FALSE(untrusted.ok());
    CHECK(untrusted.error().code == Errc::VaultUnreachable);
    CHECK(contains(untrusted.error().message, "set VAULT_CACERT or [vault] ca_cert"));

    config::VaultSettings trusting;
    trusting.ca_cert = id.path;
    auto trusted = exchange(trusting);
    REQUIRE(trusted.ok());
    CHECK(trusted->status == 200);

    config::VaultSettings careless;
    careless.skip_verify = true;
    CHECK(exchange(careless).ok());
}

TEST_CASE("curl transport: the client certificate ([vault] client_cert, VAULT_CLIENT_CERT) is presented") {
    SelfSigned id, client;
    TlsServer server(id, response(200, R"({"data":{}})", "Content-Type: application/json\r\nConnection: close\r\n"), &client);
    auto exchange = [&](const std::string& cert, const std::string& key) {
        config::VaultSettings settings;
        settings.ca_cert = id.path;
        settings.client_cert = cert;
        settings.client_key = key;
        return exchange_with(settings, server.url());
    };
    CHECK_FALSE(exchange("", "").ok());  // the server demands one
    auto with_key = exchange(client.write_with_key(), "");  // the key in the certificate's file
    REQUIRE(with_key.ok());
    CHECK(with_key->status == 200);

    auto missing = exchange("/nonexistent/client.pem", "/nonexistent/client.key");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::VaultUnreachable);
    CHECK(contains(missing.error().message, "VAULT_CLIENT_CERT"));
}

TEST_CASE("curl transport: tls_server_name (VAULT_TLS_SERVER_NAME) is the name checked, sent as SNI and Host") {
    SelfSigned id("DNS:vault.test");  // no IP SAN: VAULT_ADDR's 127.0.0.1 is not the certificate's name
    TlsServer server(id, response(200, R"({"data":{}})", "Content-Type: application/json\r\nConnection: close\r\n"));
    config::VaultSettings settings;
    settings.ca_cert = id.path;
    auto by_address = exchange_with(settings, server.url());
    REQUIRE_FALSE(by_address.ok());
    CHECK(by_address.error().code == Errc::VaultUnreachable);
    CHECK(contains(by_address.error().message, "set VAULT_TLS_SERVER_NAME or [vault] tls_server_name"));

    settings.tls_server_name = "vault.test";
    auto by_name = exchange_with(settings, server.url());
    REQUIRE(by_name.ok());
    CHECK(by_name->status == 200);
    auto [sni, head] = server.last_seen();
    CHECK(sni == "vault.test");
    CHECK(contains(head, "GET /v1/sys/thing HTTP/1.1\r\n"));
    CHECK(contains(head, "\r\nHost: vault.test:"));

    settings.tls_server_name = "other.test";
    auto wrong = exchange_with(settings, server.url());
    REQUIRE_FALSE(wrong.ok());
    CHECK(contains(wrong.error().message, "Vault's certificate is not for other.test"));
    CHECK(contains(wrong.error().message, "127.0.0.1"));  // the address it reached, for the person to compare
}

TEST_CASE("curl transport: a URL curl will not fetch fails after send() returns") {
    Harness h;
    bool called = false;
    std::optional<Result<HttpReply>> out;
    h.transport->send(get("ftp://127.0.0.1/v1/x"), [&](Result<HttpReply> r) {
        called = true;
        out.emplace(std::move(r));
    });
    CHECK_FALSE(called);
    h.io.run();
    REQUIRE(out.has_value());
    CHECK_FALSE(out->ok());
}

TEST_CASE("curl transport: VaultClient over it, end to end") {
    TestServer server([](TestServer&, int fd, const SeenRequest& req) {
        if (req.head.starts_with("GET /v1/sys/missing ")) return send_all(fd, response(404, R"({"errors":[]})"));
        return send_all(fd, response(200, R"({"data":{"signed_key":"ssh-ed25519-cert-v01@openssh.com AAAA\n"}})"));
    });
    asio::io_context io;
    config::VaultSettings settings;
    settings.address = "http://127.0.0.1:" + std::to_string(closed_port());  // down: the fallback answers
    settings.fallback_addresses = {server.origin()};
    VaultClient client(io, settings, std::make_shared<CurlTransport>(io, settings));
    std::vector<Result<VaultReply>> results;
    VaultCall sign;
    sign.method = "POST";
    sign.path = "ssh/sign/dev";
    sign.body = Json{{"public_key", "ssh-ed25519 AAAA"}};
    client.call(sign, [&](Result<VaultReply> r) { results.push_back(std::move(r)); });
    VaultCall missing;
    missing.path = "sys/missing";
    client.call(missing, [&](Result<VaultReply> r) { results.push_back(std::move(r)); });
    io.run();
    REQUIRE(results.size() == 2);
    for (auto& r : results) {
        if (r.ok()) CHECK(r->json()["data"]["signed_key"] == "ssh-ed25519-cert-v01@openssh.com AAAA\n");
        else CHECK(r.error().code == Errc::NotFound);
    }
    CHECK(results[0].ok() != results[1].ok());
    CHECK(client.address() == server.origin());
}

TEST_CASE("curl allocator: realloc keeps the bytes when it moves a block; calloc zeroes; strdup copies") {
    auto* p = static_cast<char*>(curl_alloc::allocate(16));
    REQUIRE(p);
    std::memcpy(p, "0123456789abcdef", 16);
    auto* q = static_cast<char*>(curl_alloc::reallocate(p, 1 << 16));
    REQUIRE(q);
    CHECK(std::memcmp(q, "0123456789abcdef", 16) == 0);
    auto* same = static_cast<char*>(curl_alloc::reallocate(q, 8));  // shrinking never moves
    CHECK(same == q);
    curl_alloc::release(same);
    auto* z = static_cast<unsigned char*>(curl_alloc::allocate_zeroed(64, 4));
    REQUIRE(z);
    CHECK(std::all_of(z, z + 256, [](unsigned char c) { return c == 0; }));
    curl_alloc::release(z);
    char* d = curl_alloc::duplicate("hvs.token");
    CHECK(std::string(d) == "hvs.token");
    curl_alloc::release(d);
    curl_alloc::release(nullptr);
}
