// SPDX-License-Identifier: Apache-2.0
// A blocking HTTP client for Vault's API over libcurl. Call it from worker
// threads only, never from the event loop. It speaks Vault's conventions:
// X-Vault-Token / X-Vault-Namespace / X-Vault-Request headers, the response
// envelope, the `errors` array, one followed HA-standby redirect, and retries
// with backoff and jitter on 412, 429 and 5xx (but 501), as Vault's Go client does.
#pragma once

#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <string_view>

#include "c_handles.hpp"
#include "config.hpp"
#include "result.hpp"
#include "secure_bytes.hpp"

namespace sshcert {

using Json = nlohmann::json;

/// What came back from Vault, before interpretation.
struct HttpReply {
    long status = 0;
    std::string body;
    std::string content_type;
    std::string retry_after;
};

class VaultClient {
public:
    explicit VaultClient(config::VaultSettings settings);
    VaultClient(const VaultClient&) = delete;
    VaultClient& operator=(const VaultClient&) = delete;

    const std::string& address() const noexcept { return settings_.address; }

    /// Calls `<method> /v1/<path>` and returns the decoded envelope on 2xx
    /// (an empty object for 204). Anything else becomes an Error whose
    /// message is Vault's own, cleaned of multierror decoration.
    Result<Json> call(std::string_view method, std::string_view path, const Json* body,
                      const SecretString* token) const;

    /// GET of an endpoint with a non-JSON body, such as `<mount>/public_key`.
    Result<std::string> get_text(std::string_view path) const;

    /// Turns a non-2xx reply into an Error in the user's terms.
    static Error error_from_reply(const HttpReply& reply, const std::string& address);

private:
    Result<HttpReply> perform(std::string_view method, std::string_view path, const std::string* body,
                              const SecretString* token) const;
    Result<HttpReply> perform_once(std::string_view method, const std::string& url, const std::string* body,
                                   const SecretString* token) const;

    config::VaultSettings settings_;
    CurlShare share_;                       ///< connection, DNS and TLS session cache shared by workers
    mutable std::mutex share_locks_[8];     ///< one per curl_lock_data kind
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
