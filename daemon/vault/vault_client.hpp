// SPDX-License-Identifier: Apache-2.0
// Vault's HTTP API, asynchronous on the event loop. A call is queued on no
// other call: each runs on the Transport at once, so a slow login never
// delays a signature. The client speaks Vault's conventions: headers, the
// envelope, `errors` bodies classified once into an Error, escaped path
// segments, retries (RetryPolicy), several addresses and one standby
// redirect (EndpointSet).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config.hpp"
#include "endpoint_set.hpp"
#include "http.hpp"
#include "asio.hpp"
#include "result.hpp"
#include "retry_policy.hpp"
#include "secure_bytes.hpp"

namespace sshcert {

using Json = nlohmann::json;

struct VaultCall {
    std::string method = "GET";   ///< GET, POST, LIST
    std::string path;             ///< after /v1/, built with vault_path() so every segment is escaped
    std::optional<Json> body;     ///< sent as JSON; its strings are wiped once sent
    SecretString token;           ///< empty: an unauthenticated call
    bool text = false;            ///< the reply body is text (public_key), not a JSON envelope
};

/// A decoded reply: the envelope (an empty object for 204), or the raw text
/// for `text` calls. Every string in it is wiped when it is destroyed.
class VaultReply {
public:
    VaultReply() = default;
    VaultReply(long status, Json envelope, std::string text);
    VaultReply(VaultReply&&) noexcept = default;
    VaultReply& operator=(VaultReply&&) noexcept;
    VaultReply(const VaultReply&) = delete;
    VaultReply& operator=(const VaultReply&) = delete;
    ~VaultReply();

    long status() const noexcept { return status_; }
    const Json& json() const noexcept { return json_; }
    const std::string& text() const noexcept { return text_; }
    /// Vault's `warnings`, sanitized; empty when none.
    std::vector<std::string> warnings() const;

private:
    long status_ = 0;
    Json json_ = Json::object();
    std::string text_;
};

/// Overwrites every string in a JSON tree (keys excluded) before it is freed.
void wipe_strings(Json& j) noexcept;

class VaultClient {
public:
    using Done = std::function<void(Result<VaultReply>)>;

    VaultClient(asio::io_context& io, config::VaultSettings settings, std::shared_ptr<Transport> transport,
                RetryPolicy policy = {});
    VaultClient(const VaultClient&) = delete;
    VaultClient& operator=(const VaultClient&) = delete;
    ~VaultClient();

    /// The address in use: the first that answered, else the first configured.
    const std::string& address() const noexcept;
    const config::VaultSettings& settings() const noexcept { return settings_; }

    /// Runs one call with retries; `done` runs once, on the loop, never inside call().
    /// Errors are classified once (see vault_error.hpp): their message says what went wrong
    /// and what to do, and Error::detail holds Vault's own text.
    void call(VaultCall call, Done done);

    /// Abandons every call in flight and every retry waiting; no `done` runs after this.
    void shutdown();
    /// Calls in flight or waiting to retry.
    std::size_t pending() const noexcept;

private:
    struct Attempt;
    void start(std::shared_ptr<Attempt> attempt);
    void on_reply(std::shared_ptr<Attempt> attempt, Result<HttpReply> reply);

    asio::io_context& io_;
    config::VaultSettings settings_;
    std::shared_ptr<Transport> transport_;
    RetryPolicy policy_;
    EndpointSet endpoints_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  ///< callbacks check it after shutdown
    std::size_t pending_ = 0;
};

/// Process-wide libcurl setup; construct once in main before any thread starts.
class CurlGlobal {
public:
    CurlGlobal();
    ~CurlGlobal();
    CurlGlobal(const CurlGlobal&) = delete;
    CurlGlobal& operator=(const CurlGlobal&) = delete;
};

}  // namespace sshcert
