// SPDX-License-Identifier: Apache-2.0
// A TokenKeeper over a scripted Vault (FakeTransport) with the daemon's clock
// stepped, shared by the keeper's unit tests.
#pragma once

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "fake_transport.hpp"
#include "token_keeper.hpp"

namespace sshcert::test {

using namespace std::chrono_literals;

inline std::string login_reply(std::int64_t ttl, bool renewable = true) {
    return R"({"auth":{"client_token":"hvs.fresh","policies":["default","ssh"],"metadata":{"username":"alice"},"lease_duration":)" +
           std::to_string(ttl) + R"(,"renewable":)" + (renewable ? "true" : "false") + "}}";
}
inline std::string lookup_reply(std::int64_t ttl, bool renewable = true) {
    return R"({"data":{"display_name":"userpass-alice","policies":["default","ssh"],"ttl":)" + std::to_string(ttl) +
           R"(,"renewable":)" + (renewable ? "true" : "false") + "}}";
}

using KeeperReply = Result<TokenKeeper::LoginStep>;

/// The token's summary a login step ended with, or its error (a challenge is an error here).
inline Result<control::TokenSummary> as_token(KeeperReply r) {
    if (!r) return r.error();
    if (auto* t = std::get_if<control::TokenSummary>(&*r)) return *t;
    return Error{Errc::Internal, "the login asked a question"};
}

struct Harness {
    asio::io_context io;
    std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>(io);
    VaultClient vault{io, config::VaultSettings{.address = "http://127.0.0.1:8200"}, transport};
    int changes = 0;
    TokenKeeper keeper{io, vault, [this](bool) { ++changes; }};

    /// Runs whatever is ready, a few rounds: a timer found due in one round completes in the next.
    void settle() {
        for (int i = 0; i < 20; ++i) {
            io.poll();
            io.restart();
        }
    }
    /// Steps the daemon's clock in small strides so each due timer fires in turn.
    void pass(std::chrono::seconds d) {
        for (auto left = d; left > 0s; left -= std::min<std::chrono::seconds>(left, 5s)) {
            DaemonClock::advance_and_poke(io, std::min<std::chrono::seconds>(left, 5s));
            settle();
        }
    }
    std::size_t sent_to(std::string_view path) const {
        std::size_t n = 0;
        for (const auto& s : transport->sent) n += s.request.url.ends_with(path);
        return n;
    }
    Result<control::TokenSummary> login(std::int64_t ttl, bool renewable = true) {
        std::optional<Result<control::TokenSummary>> out;
        transport->push(http_reply(200, login_reply(ttl, renewable)));
        transport->push(http_reply(200, lookup_reply(ttl, renewable)));
        keeper.login(LoginRequest{.method = "userpass", .username = "alice", .secret = SecretString("pw")},
                     [&](KeeperReply r) { out = as_token(std::move(r)); });
        settle();
        REQUIRE(out.has_value());
        return std::move(*out);
    }
};

}  // namespace sshcert::test
