// SPDX-License-Identifier: Apache-2.0
// The browser's way back in an OIDC login, as `vault login -method=oidc` does
// it: a loopback HTTP listener ([auth] oidc_listen_address and
// oidc_listen_port) that the identity provider redirects the browser to, GET
// /oidc/callback?state=...&code=.... The query goes to sshcertd with
// login-continue; the browser gets a short page saying how the login ended.
// Without a browser on this machine (--no-browser), the person pastes the
// address that browser ended on instead.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "result.hpp"

namespace sshcert::client {

/// The parts of an HTTP request line ("GET /oidc/callback?state=x HTTP/1.1") the listener needs.
struct HttpRequestLine {
    std::string method;
    std::string path;   ///< without the query
    std::string query;  ///< after '?', without it; may be empty
};
/// The request line at the start of an HTTP request head; nullopt when it is not one.
std::optional<HttpRequestLine> parse_request_line(std::string_view head);

/// The page the browser is shown once the login has ended; `message` is escaped.
std::string callback_page(bool ok, std::string_view message);

class OidcCallbackListener {
public:
    /// Listens on address:port (a numeric address or a host name such as "localhost"). A port in
    /// use is an error that names the oidc_listen_port setting.
    static Result<OidcCallbackListener> open(const std::string& address, int port);
    OidcCallbackListener(OidcCallbackListener&& o) noexcept;
    OidcCallbackListener& operator=(OidcCallbackListener&&) = delete;
    OidcCallbackListener(const OidcCallbackListener&) = delete;
    ~OidcCallbackListener();

    /// Waits until `deadline` for GET /oidc/callback and returns its query. Other requests (a
    /// favicon) get a 404 and the wait goes on. The browser's connection is kept for answer().
    Result<std::string> wait(std::chrono::steady_clock::time_point deadline);
    /// Shows the browser how the login ended, and closes its connection.
    void answer(bool ok, std::string_view message);

private:
    explicit OidcCallbackListener(int fd) : fd_(fd) {}
    int fd_ = -1;
    int browser_ = -1;  ///< the connection of the callback request, until answered
};

/// Starts $BROWSER (a ':'-separated list of commands, "%s" standing for the URL, else the URL
/// appended), else xdg-open, with `url`, without waiting for it. False when none could be started.
bool open_browser(const std::string& url, const config::Getenv& getenv);

/// The pasted callback address, read from standard input up to its newline.
Result<std::string> read_pasted_callback();

}  // namespace sshcert::client
