// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>

#include "outage_gate.hpp"

using namespace sshcert;
using Admission = OutageGate::Admission;

namespace {
const Error kDown{Errc::VaultUnreachable, "cannot reach Vault"};
const Error kRefused{Errc::VaultRefused, "role prod does not allow principal root"};
}  // namespace

TEST_CASE("outage gate: while a Vault is down one renewal probes it and the rest wait") {
    std::uint64_t now = 1000;
    OutageGate gate([&] { return now; });
    REQUIRE(gate.admit("dev") == Admission::Go);
    REQUIRE(gate.admit("dev") == Admission::Go);  // both started before anything failed
    auto wait = gate.record("dev", Admission::Go, &kDown);
    REQUIRE(wait);
    CHECK(*wait == 1);
    CHECK_FALSE(gate.record("dev", Admission::Go, &kDown));  // the second failure is the same outage
    CHECK(gate.admit("dev") == Admission::Wait);
    CHECK(gate.admit("prod") == Admission::Go);  // another Vault is not held back
    now += 1;
    CHECK(gate.admit("dev") == Admission::Probe);
    CHECK(gate.admit("dev") == Admission::Wait);  // one probe at a time
    CHECK(gate.not_before("dev") == UINT64_MAX);
    gate.record("dev", Admission::Probe, nullptr);  // Vault is back: everyone goes
    CHECK(gate.admit("dev") == Admission::Go);
    CHECK(gate.not_before("dev") == 0);
}

TEST_CASE("outage gate: waits double to 5 minutes, each drawn from the whole wait") {
    std::uint64_t now = 1000;
    OutageGate gate([&] { return now; });
    gate.record("dev", Admission::Go, &kDown);
    std::map<int, std::uint64_t> longest;
    for (int failure = 2; failure <= 14; ++failure) {
        now = gate.not_before("dev");
        REQUIRE(gate.admit("dev") == Admission::Probe);
        auto wait = gate.record("dev", Admission::Probe, &kDown);
        REQUIRE(wait);
        std::uint64_t full = std::min<std::uint64_t>(300, std::uint64_t{1} << (failure - 1));
        CHECK(*wait >= 1);
        CHECK(*wait <= full);
        CHECK(gate.not_before("dev") == now + *wait);
    }
}

TEST_CASE("outage gate: a probe Vault refuses for its own reasons lets the next one try at once") {
    std::uint64_t now = 1000;
    OutageGate gate([&] { return now; });
    gate.record("dev", Admission::Go, &kDown);
    now += 1;
    REQUIRE(gate.admit("dev") == Admission::Probe);
    CHECK_FALSE(gate.record("dev", Admission::Probe, &kRefused));
    CHECK(gate.admit("dev") == Admission::Probe);  // Vault answers, but the outage ends only on a success
}

TEST_CASE("outage gate: a team of daemons comes back at Vault spread out, not in the first seconds") {
    // 200 daemons, Vault down from t=0 to t=60; each daemon's first renewal fails at a random
    // moment of the first 38 s (when one of its certificates came due), then it probes on its gate.
    std::mt19937_64 rng(7);
    std::map<std::uint64_t, int> first_success;  // second after the restart -> daemons
    for (int d = 0; d < 200; ++d) {
        std::uint64_t now = std::uniform_int_distribution<std::uint64_t>(0, 38)(rng);
        OutageGate gate([&] { return now; });
        gate.record("dev", Admission::Go, &kDown);
        for (now = gate.not_before("dev"); now < 60; now = gate.not_before("dev")) {
            REQUIRE(gate.admit("dev") == Admission::Probe);
            gate.record("dev", Admission::Probe, &kDown);
        }
        ++first_success[now - 60];
    }
    int in_first_five = 0;
    for (auto [second, n] : first_success)
        if (second < 5) in_first_five += n;
    MESSAGE("daemons back in the first 5 s: ", in_first_five, " of 200; the last after ", first_success.rbegin()->first, " s");
    CHECK(in_first_five < 60);                    // without the gate every certificate due in the outage retried here
    CHECK(first_success.rbegin()->first >= 20);  // the rest are spread over the backoff
}
