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
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

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
    std::optional<Json> body;     ///< sent as JSON; its strings are wiped once serialized, inside call()
    /// Query parameters (name, value), escaped into the URL. Their values may be secrets (an OIDC
    /// code): they are kept wiped, never logged, and cut from error texts like the body's.
    std::vector<std::pair<std::string, SecretString>> query;
    SecretString token;           ///< empty: an unauthenticated call
    bool text = false;            ///< the reply body is text (public_key), not a JSON envelope
    /// Zero: each try may take [vault] timeout. Otherwise the whole call, retries included, ends this
    /// long after it began: a call Vault holds until a person acts (push MFA) ends at its deadline.
    std::chrono::milliseconds deadline{0};
};

/// A decoded reply: the envelope (an empty object for 204), or the raw text
/// for `text` calls. Every string in it is wiped when it is destroyed.
class VaultReply {
public:
    VaultReply() = default;
    VaultReply(long status, Json envelope, std::string text, std::optional<std::int64_t> server_time = std::nullopt);
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
    /// Vault's clock (its Date header, Unix seconds) when it sent one: the measure of clock skew.
    std::optional<std::int64_t> server_time() const noexcept { return server_time_; }

private:
    long status_ = 0;
    Json json_ = Json::object();
    std::string text_;
    std::optional<std::int64_t> server_time_;
};

/// Overwrites every string in a JSON tree (keys excluded) before it is freed.
void wipe_strings(Json& j) noexcept;

/// Event-loop thread only. The transport serves this client alone: shutdown() cancels all of it.
class VaultClient {
public:
    using Done = std::function<void(Result<VaultReply>)>;

    /// Addresses: settings.address, then settings.fallback_addresses. One that is not an
    /// http(s) URL makes every call fail with InvalidArgument saying which.
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
    /// and what to do, and Error::detail holds Vault's own text. `done` may destroy the client.
    void call(VaultCall call, Done done);

    /// Abandons every call in flight and every retry waiting: none of their `done` runs,
    /// ever. Calls made afterwards run normally (the destructor calls this).
    void shutdown();
    /// Calls in flight or waiting to retry.
    std::size_t pending() const noexcept { return attempts_.size(); }

    /// Vault failing: since when (Unix seconds) every call ended unreachable, unavailable or
    /// with a reply that is not Vault's (malformed, too large, cut off), and the last such
    /// error. Any usable answer from Vault, a refusal included, ends it.
    struct Outage {
        std::int64_t since = 0;
        Error last;
    };
    const std::optional<Outage>& outage() const noexcept { return outage_; }

private:
    struct Attempt;
    void start(std::shared_ptr<Attempt> attempt);
    void on_reply(std::shared_ptr<Attempt> attempt, Result<HttpReply> reply);
    void on_unreachable(const std::shared_ptr<Attempt>& attempt, Error error);
    void on_success(const std::shared_ptr<Attempt>& attempt, HttpReply reply);
    void follow_redirect(const std::shared_ptr<Attempt>& attempt, const HttpReply& reply);
    void retry_or_fail(const std::shared_ptr<Attempt>& attempt, Error error, std::string_view retry_after,
                       std::string_view date);
    void begin_round(const std::shared_ptr<Attempt>& attempt);
    void finish(const std::shared_ptr<Attempt>& attempt, Result<VaultReply> result);

    asio::io_context& io_;
    config::VaultSettings settings_;
    std::shared_ptr<Transport> transport_;
    RetryPolicy policy_;
    EndpointSet endpoints_;
    std::optional<Error> bad_address_;                             ///< set when an address is not http(s)
    std::mt19937_64 rng_{std::random_device{}()};                  ///< backoff jitter
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  ///< callbacks check it after shutdown
    std::set<std::shared_ptr<Attempt>> attempts_;                  ///< calls in flight or waiting to retry
    std::optional<Outage> outage_;
};

/// Process-wide libcurl setup; construct once in main before any thread starts. Every block
/// curl frees (header lists, request and reply buffers) is cleansed first, so tokens and
/// passwords curl copied do not linger in freed memory. Throws std::runtime_error if
/// curl cannot initialise (in main, before the loop runs).
class CurlGlobal {
public:
    CurlGlobal();
    ~CurlGlobal();
    CurlGlobal(const CurlGlobal&) = delete;
    CurlGlobal& operator=(const CurlGlobal&) = delete;
};

}  // namespace sshcert
