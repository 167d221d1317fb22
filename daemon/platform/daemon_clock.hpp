// SPDX-License-Identifier: Apache-2.0
// The daemon's monotonic clock: steady_clock plus an offset that only unit
// tests move. Timers on it (DaemonTimer) and the TTL arithmetic that reads it
// can then be stepped through hours in microseconds, with the real event loop.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "asio.hpp"

namespace sshcert {

struct DaemonClock {
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<DaemonClock>;
    static constexpr bool is_steady = true;

    static time_point now() noexcept { return time_point(std::chrono::steady_clock::now().time_since_epoch() + skip()); }
    /// Tests only: moves the clock forward. Asio's reactor sleeps on a timerfd set for the
    /// earliest timer, so arm a timer after advancing (see advance_and_poke) for due ones to fire.
    static void advance(duration d) noexcept { skip_.fetch_add(d.count()); }
    /// Tests only: advances, then arms a timer due before every other, so the reactor re-reads
    /// the clock and fires every timer that is now due.
    static void advance_and_poke(asio::io_context& io, duration d) {
        advance(d);
        auto poke = std::make_shared<asio::basic_waitable_timer<DaemonClock>>(io, time_point(duration::zero()));
        poke->async_wait([poke](boost::system::error_code) {});
    }

private:
    static duration skip() noexcept { return duration(skip_.load()); }
    static inline std::atomic<rep> skip_{0};
};

/// A steady timer on DaemonClock. Asio re-reads now() at each poll, so an advance is seen.
using DaemonTimer = asio::basic_waitable_timer<DaemonClock>;

}  // namespace sshcert
