// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <set>

#include "key_maker.hpp"

using namespace sshcert;

namespace {

struct Harness {
    asio::io_context io;
    asio::thread_pool workers{1};
    KeyMaker keys{io, workers};

    ~Harness() { workers.join(); }

    /// Runs the loop until `done` says so (RSA keys come from the worker).
    template <typename Pred>
    void run_until(Pred done) {
        while (!done()) {
            io.restart();
            io.run_for(std::chrono::milliseconds(20));
        }
    }

    std::shared_ptr<const SshKey> take(config::KeyType type) {
        std::shared_ptr<const SshKey> got;
        keys.make(type, [&](Result<std::shared_ptr<const SshKey>> k) { got = std::move(k).value(); });
        run_until([&] { return got != nullptr; });
        return got;
    }
};

config::Profile profile(config::KeyType type) {
    config::Profile p;
    p.key_type = type;
    return p;
}

}  // namespace

TEST_CASE("key maker: an RSA profile's spare is made ahead, handed out without waiting for a worker, then replaced") {
    Harness h;
    h.keys.prepare({profile(config::KeyType::Ed25519), profile(config::KeyType::Rsa3072)});
    h.run_until([&] { return h.keys.spares() == 1; });  // RSA only: Ed25519 takes microseconds when asked
    std::shared_ptr<const SshKey> got;
    h.keys.make(config::KeyType::Rsa3072, [&](Result<std::shared_ptr<const SshKey>> k) { got = std::move(k).value(); });
    h.io.restart();
    h.io.poll();  // only what is ready now: an RSA-3072 key takes the worker far longer than this
    REQUIRE(got != nullptr);
    CHECK(got->type() == config::KeyType::Rsa3072);
    h.run_until([&] { return h.keys.spares() == 1; });
    CHECK(h.take(config::KeyType::Rsa3072)->public_blob() != got->public_blob());
}

TEST_CASE("key maker: no key is handed out twice, with or without a spare") {
    Harness h;
    std::set<wire::Bytes> seen;
    for (int i = 0; i < 8; ++i) seen.insert(h.take(config::KeyType::Ed25519)->public_blob());
    CHECK(seen.size() == 8);
    h.run_until([&] { return h.keys.spares() == 1; });  // the one after the last use
    // Two asked at once: one gets the spare, the other a new key.
    std::vector<std::shared_ptr<const SshKey>> got;
    for (int i = 0; i < 2; ++i)
        h.keys.make(config::KeyType::Ed25519, [&](Result<std::shared_ptr<const SshKey>> k) { got.push_back(std::move(k).value()); });
    h.run_until([&] { return got.size() == 2; });
    CHECK(got[0]->public_blob() != got[1]->public_blob());
    CHECK_FALSE(seen.count(got[0]->public_blob()));
    CHECK_FALSE(seen.count(got[1]->public_blob()));
}
