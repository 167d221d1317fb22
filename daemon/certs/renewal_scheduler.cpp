// SPDX-License-Identifier: Apache-2.0
#include "renewal_scheduler.hpp"

#include <algorithm>

#include "log.hpp"

namespace sshcert {

namespace {
/// Wake at least this often: the clock may jump (suspend), and "in use" may lapse.
constexpr std::uint64_t kMaxSleepSeconds = 60;
}  // namespace

RenewalScheduler::RenewalScheduler(asio::io_context& io, CertCache& cache, Router router, Window window,
                                   std::function<void(std::size_t)> on_dropped)
    : cache_(cache),
      router_(std::move(router)),
      gate_([&cache] { return cache.now(); }),
      window_(std::move(window)),
      on_dropped_(std::move(on_dropped)),
      timer_(io) {}

void RenewalScheduler::poke() {
    if (stopped_) return;
    // In unsigned seconds first: a certificate valid "forever" (2^64-1) must not become a
    // negative wait that fires at once, for ever. Times are whole seconds, so wake just after.
    auto now = cache_.now();
    std::uint64_t wait = kMaxSleepSeconds;
    if (auto next = cache_.next_wakeup(window_(), [this](const CertKey& k) { return gate_time(k); })) wait = std::min<std::uint64_t>(wait, *next > now ? *next - now + 1 : 1);
    timer_.expires_after(std::chrono::seconds(static_cast<std::int64_t>(wait)));
    timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) wake();
    });
}

void RenewalScheduler::wake() {
    if (auto n = cache_.drop_expired(window_())) {
        log::info(n, " expired certificate(s) dropped and their keys wiped");
        on_dropped_(n);
    }
    for (const auto& key : cache_.due_for_renewal(window_(), [this](const CertKey& k) { return gate_time(k); })) {
        auto route = router_(key);
        if (!route) continue;
        auto admission = gate_.admit(route->vault);
        if (admission == OutageGate::Admission::Wait) continue;  // this wake's probe went first
        log::info("renewing the certificate of profile ", key.profile, " in the background",
                  admission == OutageGate::Admission::Probe ? ", to see whether Vault is back" : "");
        cache_.renew(key, route->generation, [this, vault = route->vault, admission](const Error* failure) {
            if (auto wait = gate_.record(vault, admission, failure))
                log::warn("background renewals against Vault '", vault, "' wait: ", failure->message, "; trying one again in ",
                          *wait, " s, and serving the certificates held until they expire");
            poke();  // the next wake-up moved
        });
    }
    poke();
}

std::uint64_t RenewalScheduler::gate_time(const CertKey& key) const {
    if (gate_.open()) return 0;  // the usual case, asked for every certificate at every wake-up
    auto route = router_(key);
    return route ? gate_.not_before(route->vault) : 0;
}

void RenewalScheduler::stop() {
    stopped_ = true;
    timer_.cancel();
}

}  // namespace sshcert
