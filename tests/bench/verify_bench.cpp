// SPDX-License-Identifier: Apache-2.0
// The cost of one session-bind check on the event loop: the host's signature
// over the session identifier, verified with the key loaded afresh (as every
// check did before the host key cache) and with the key from the cache.
//
//   verify_bench [SECONDS_PER_CASE]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "agent_codec.hpp"
#include "ssh_key.hpp"
#include "ssh_verify.hpp"

namespace {
/// Microseconds per call of `check`, run for `seconds`.
double per_call_us(double seconds, const std::function<bool()>& check) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + std::chrono::duration<double>(seconds);
    long n = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!check()) std::exit(1);
        ++n;
    }
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(n);
}
}  // namespace

int main(int argc, char** argv) {
    using namespace sshcert;
    double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
    wire::Bytes sid(32, 0x5a);
    std::printf("%-12s %14s %14s\n", "host key", "fresh key", "cached key");
    for (auto type : {config::KeyType::Ed25519, config::KeyType::EcdsaP256, config::KeyType::EcdsaP384,
                      config::KeyType::Rsa3072, config::KeyType::Rsa4096}) {
        auto host = SshKey::generate(type);
        if (!host) return 1;
        auto sig = host->sign(sid, agent::kFlagRsaSha2_512);
        if (!sig) return 1;
        double fresh = per_call_us(seconds, [&] { return VerifyKeyCache(1).verify(host->public_blob(), *sig, sid).ok(); });
        VerifyKeyCache cache(1);
        double cached = per_call_us(seconds, [&] { return cache.verify(host->public_blob(), *sig, sid).ok(); });
        std::printf("%-12s %11.1f us %11.1f us\n", std::string(config::to_string(type)).c_str(), fresh, cached);
    }
    return 0;
}
