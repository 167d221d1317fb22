// SPDX-License-Identifier: Apache-2.0
// When to try a Vault call again and how long to wait: 412, 429 and 5xx but
// 501, as Vault's Go client (go-retryablehttp) does; a sealed Vault is not
// retried. Waits are jittered exponential backoff, or Retry-After when Vault
// sends one, parsed without exceptions and capped; the total is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace sshcert {

/// Retry-After as delta-seconds, capped at `cap` (a number too large for 64 bits is the cap);
/// an HTTP-date counts only against the reply's own Date (`date`), so clock skew does not
/// matter; nullopt for anything else (garbage, negative, empty). Never throws, never overflows.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::seconds cap,
                                                      std::string_view date = {});

struct RetryPolicy {
    int max_retries = 2;                              ///< three tries in all, the Go client's default
    std::chrono::milliseconds base_delay{250};        ///< first backoff step
    std::chrono::milliseconds max_delay{5000};        ///< a person may be waiting at a prompt
    std::chrono::seconds max_retry_after{5};          ///< Retry-After beyond this is cut to it
    std::chrono::milliseconds total_budget{15000};    ///< no retry once the call's elapsed time plus the wait would exceed this

    static bool retryable_status(long status) { return status == 412 || status == 429 || (status >= 500 && status != 501); }
    /// The wait before retry number `attempt` (0-based): Retry-After when given (see
    /// parse_retry_after), else base * 2^attempt capped at max_delay, jittered in [50%, 100%].
    std::chrono::milliseconds delay(int attempt, std::string_view retry_after, std::mt19937_64& rng,
                                    std::string_view date = {}) const;
};

}  // namespace sshcert
