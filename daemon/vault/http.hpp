// SPDX-License-Identifier: Apache-2.0
// One HTTP exchange with Vault, and the Transport that carries it. The
// transport knows nothing of Vault's conventions: VaultClient builds the
// request and reads the reply. CurlTransport is the real one; unit tests use
// a fake that answers from a script.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.hpp"
#include "secure_bytes.hpp"

namespace sshcert {

struct HttpRequest {
    std::string method;             ///< GET, POST, LIST...
    std::string url;                ///< absolute: <address>/v1/<escaped path>[?query]
    SecretString body;              ///< JSON text; may carry a password. Empty: no body
    SecretString token;             ///< X-Vault-Token; empty: none
    std::string namespace_name;     ///< X-Vault-Namespace; empty: none
    /// More headers, in order (AWS STS's signed ones); a Content-Type here replaces the JSON one.
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds timeout{30000};  ///< whole exchange, connect included
};

struct HttpReply {
    long status = 0;
    SecretString body;           ///< at most limits::kMaxVaultResponseBytes; login replies carry tokens
    std::string content_type;
    std::string retry_after;     ///< raw header value, parsed by RetryPolicy
    std::string location;        ///< raw header value, for 3xx
    std::string date;            ///< raw header value (RFC 7231 IMF-fixdate)
};

/// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", what Vault and every current server
/// sends) as Unix seconds; nullopt for anything else. Never throws.
std::optional<std::int64_t> parse_http_date(std::string_view value);

class Transport {
public:
    using Done = std::function<void(Result<HttpReply>)>;
    virtual ~Transport() = default;
    /// Starts one exchange. `done` runs exactly once, on the event loop, never inside send():
    /// with the reply (any status), or an Error (Errc::VaultUnreachable for connection, TLS
    /// and timeout failures, naming the address and what to check; Errc::VaultBadResponse
    /// for a body over the cap). Redirects are not followed here. Event-loop thread only.
    virtual void send(HttpRequest request, Done done) = 0;
    /// Abandons every exchange in flight at once, completed ones whose `done` has not run
    /// yet included; their `done` is never called (it is destroyed). A transport serves one
    /// VaultClient, whose shutdown() calls this.
    virtual void cancel_all() = 0;
    /// Exchanges in flight.
    virtual std::size_t in_flight() const = 0;
};

}  // namespace sshcert
