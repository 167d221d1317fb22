// SPDX-License-Identifier: Apache-2.0
#include "oidc_callback.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "prompt.hpp"

extern char** environ;

namespace sshcert::client {

namespace {

constexpr std::size_t kMaxRequestHead = 16 * 1024;  ///< a callback URL with a long code fits easily
/// A browser may open a connection it sends nothing on (a preconnect): give up on it soon.
constexpr auto kReadPatience = std::chrono::seconds(3);

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void reply(int fd, const char* status, const std::string& html) {
    std::string head = std::string("HTTP/1.1 ") + status +
                       "\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\n"
                       "Content-Length: " + std::to_string(html.size()) + "\r\n\r\n";
    write_all(fd, head + html);
}

std::string escape_html(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

/// Reads a request head (up to the blank line) within kReadPatience; empty on failure.
std::string read_head(int fd) {
    std::string head;
    auto until = std::chrono::steady_clock::now() + kReadPatience;
    char buf[2048];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxRequestHead) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return {};
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return {};
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
    }
    return head;
}

bool spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // Nothing of the browser's on our stdout (it may be piped), and nothing read from our stdin.
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid = 0;
    int e = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return e == 0;
}

}  // namespace

std::optional<HttpRequestLine> parse_request_line(std::string_view head) {
    std::string_view line = head.substr(0, head.find("\r\n"));
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return std::nullopt;
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/")) return std::nullopt;
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!target.starts_with("/")) return std::nullopt;
    HttpRequestLine r{std::string(line.substr(0, sp1)), std::string(target), ""};
    if (auto q = target.find('?'); q != std::string_view::npos) {
        r.path = std::string(target.substr(0, q));
        r.query = std::string(target.substr(q + 1));
    }
    return r;
}

std::string callback_page(bool ok, std::string_view message) {
    std::string title = ok ? "Signed in to Vault" : "The Vault login failed";
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sshcert: " + title + "</title></head>\n<body><h1>" +
           title + "</h1>\n<p>" + escape_html(message) + "</p>\n<p>You can close this window.</p></body></html>\n";
}

Result<OidcCallbackListener> OidcCallbackListener::open(const std::string& address, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    if (int e = ::getaddrinfo(address.c_str(), service.c_str(), &hints, &found); e != 0)
        return Error{Errc::InvalidArgument, "cannot listen for the OIDC callback on " + address + " ([auth] oidc_listen_address): " +
                                                ::gai_strerror(e)};
    std::string where = address + ":" + service;
    int last_errno = 0;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // a just-closed listener's TIME_WAIT, not a live one
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 8) == 0) {
            ::freeaddrinfo(found);
            return OidcCallbackListener(fd);
        }
        last_errno = errno;
        ::close(fd);
    }
    ::freeaddrinfo(found);
    if (last_errno == EADDRINUSE)
        return Error{Errc::InvalidArgument,
                     "cannot listen for the OIDC callback on " + where +
                         ": the port is in use (another `sshcert login` or `vault login -method=oidc`?); wait for it to "
                         "end, or set [auth] oidc_listen_port to a free port that the Vault role's allowed_redirect_uris "
                         "lists, or log in with --no-browser"};
    return Error{Errc::InvalidArgument, "cannot listen for the OIDC callback on " + where +
                                            " ([auth] oidc_listen_address, oidc_listen_port): " + std::strerror(last_errno)};
}

OidcCallbackListener::OidcCallbackListener(OidcCallbackListener&& o) noexcept : fd_(o.fd_), browser_(o.browser_) {
    o.fd_ = -1;
    o.browser_ = -1;
}

OidcCallbackListener::~OidcCallbackListener() {
    if (browser_ >= 0) ::close(browser_);
    if (fd_ >= 0) ::close(fd_);
}

Result<std::string> OidcCallbackListener::wait(std::chrono::steady_clock::time_point deadline) {
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return Error{Errc::VaultDenied,
                         "the OIDC login expired before the browser finished; run `sshcert login --method oidc` again"};
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (r < 0 && errno != EINTR) return Error{Errc::Internal, std::string("poll: ") + std::strerror(errno)};
        if (r <= 0) continue;
        int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) continue;
        std::string head = read_head(conn);
        auto line = parse_request_line(head);
        std::fill(head.begin(), head.end(), '\0');  // it carries the code
        if (line && line->method == "GET" && line->path == "/oidc/callback") {
            browser_ = conn;
            return std::move(line->query);
        }
        if (line) reply(conn, "404 Not Found", callback_page(false, "sshcert waits for the browser at /oidc/callback only."));
        ::close(conn);
    }
}

void OidcCallbackListener::answer(bool ok, std::string_view message) {
    if (browser_ < 0) return;
    reply(browser_, ok ? "200 OK" : "400 Bad Request", callback_page(ok, message));
    ::close(browser_);
    browser_ = -1;
}

bool open_browser(const std::string& url, const config::Getenv& getenv) {
    if (const char* browsers = getenv("BROWSER"); browsers && *browsers) {
        std::string_view list = browsers;
        while (!list.empty()) {
            auto colon = list.find(':');
            std::string command(list.substr(0, colon));
            list = colon == std::string_view::npos ? std::string_view() : list.substr(colon + 1);
            if (command.empty()) continue;
            // The URL goes in as "$1", never into the command text: it cannot be read as shell syntax.
            if (auto at = command.find("%s"); at != std::string::npos) command.replace(at, 2, "\"$1\"");
            else command += " \"$1\"";
            if (spawn({"/bin/sh", "-c", command, "sh", url})) return true;
        }
    }
    return spawn({"xdg-open", url});
}

Result<std::string> read_pasted_callback() { return read_secret_line_from_stdin("callback address"); }

}  // namespace sshcert::client
