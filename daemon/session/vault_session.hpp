// SPDX-License-Identifier: Apache-2.0
// One Vault and our standing with it: the client, the login (TokenKeeper)
// and the clock skew measured against Vault's sys/health. A profile's
// certificates are signed through its session. Replaced whole when the
// Vault settings change on reload.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "asio.hpp"
#include "config.hpp"
#include "token_keeper.hpp"
#include "vault_client.hpp"

namespace sshcert {

class VaultSession {
public:
    VaultSession(asio::io_context& io, std::shared_ptr<VaultClient> vault, TokenKeeper::Changed changed);
    VaultSession(const VaultSession&) = delete;
    VaultSession& operator=(const VaultSession&) = delete;

    const std::shared_ptr<VaultClient>& vault() const noexcept { return vault_; }
    TokenKeeper& tokens() noexcept { return tokens_; }
    const TokenKeeper& tokens() const noexcept { return tokens_; }

    /// Vault's clock minus ours, in seconds, once measured.
    std::optional<std::int64_t> clock_skew() const noexcept { return skew_; }
    /// Unix time on Vault's clock: ours plus the measured skew.
    std::uint64_t vault_now() const;
    /// Reads sys/health's server_time_utc and records the skew (logged when over 30 s,
    /// Vault's backdating of certificates).
    void measure_clock_skew();

    void stop();

private:
    std::shared_ptr<VaultClient> vault_;
    TokenKeeper tokens_;
    std::optional<std::int64_t> skew_;
};

}  // namespace sshcert
