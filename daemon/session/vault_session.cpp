// SPDX-License-Identifier: Apache-2.0
#include "vault_session.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "log.hpp"
#include "vault_decode.hpp"

namespace sshcert {

namespace {
std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }
/// Vault backdates certificates by not_before_duration, 30 s by default: skew beyond it matters.
constexpr std::int64_t kNoticeableSkewSeconds = 30;
}  // namespace

VaultSession::VaultSession(asio::io_context& io, std::shared_ptr<VaultClient> vault, TokenKeeper::Changed changed)
    : vault_(std::move(vault)), tokens_(io, *vault_, std::move(changed)) {}

std::uint64_t VaultSession::vault_now() const {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, unix_now() + skew_.value_or(0)));
}

void VaultSession::measure_clock_skew() {
    // Every status code 200, so a standby, sealed or uninitialised Vault still tells its time.
    VaultCall call{.path = "sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200&drsecondarycode=200"};
    auto sent = unix_now();
    vault_->call(std::move(call), [this, sent](Result<VaultReply> r) {
        if (!r) return log::debug("clock skew: ", r.error().message);
        auto t = vault::decode_server_time(r->json());
        if (!t) return;
        skew_ = *t - (sent + unix_now()) / 2;
        if (std::llabs(*skew_) > kNoticeableSkewSeconds)
            log::warn("this machine's clock is ", std::llabs(*skew_), " s ", *skew_ > 0 ? "behind" : "ahead of",
                      " Vault's; certificates are judged by Vault's clock, but sync this clock (NTP) for ssh servers' sake");
    });
}

void VaultSession::stop() { tokens_.stop(); }

}  // namespace sshcert
