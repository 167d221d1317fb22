// SPDX-License-Identifier: Apache-2.0
// TokenKeeper over a scripted Vault, with the daemon's clock stepped.
#include <doctest/doctest.h>

#include "keeper_harness.hpp"

using namespace sshcert;
using namespace std::chrono_literals;
using test::as_token;
using test::Harness;
using test::http_reply;
using test::KeeperReply;
using test::login_reply;
using test::lookup_reply;
using test::vault_error;

namespace {
std::string renew_reply(std::int64_t ttl) {
    return R"({"auth":{"client_token":"hvs.fresh","lease_duration":)" + std::to_string(ttl) + R"(,"renewable":true}})";
}
std::string legacy_denied() { return "permission denied"; }  // Vault before 1.17 and OpenBao, for a dead token
}  // namespace

TEST_CASE("token keeper: a userpass login is looked up and becomes the active token") {
    Harness h;
    auto r = h.login(3600);
    REQUIRE(r);
    CHECK(r->display_name == "userpass-alice");
    CHECK(h.sent_to("/v1/auth/userpass/login/alice") == 1);
    CHECK(h.sent_to("/v1/auth/token/lookup-self") == 1);
    REQUIRE(h.keeper.active());
    CHECK(h.keeper.active()->token.reveal() == "hvs.fresh");
    CHECK(h.changes == 1);
}

TEST_CASE("token keeper: renewed at about two thirds of the TTL, and not before") {
    Harness h;
    REQUIRE(h.login(3600));
    h.pass(2100s);  // 58 %: the jitter window is 60-70 %
    CHECK(h.sent_to("/v1/auth/token/renew-self") == 0);
    h.transport->push(http_reply(200, renew_reply(3600)));
    h.pass(500s);  // 72 %
    CHECK(h.sent_to("/v1/auth/token/renew-self") == 1);
    REQUIRE(h.keeper.summary());
    CHECK(h.keeper.summary()->ttl_seconds > 3000);  // renewed somewhere in 2160-2520 s; 1000 s left without it
}

TEST_CASE("token keeper: once Vault caps the token, renewal stops and the login ends with the token") {
    Harness h;
    REQUIRE(h.login(600));
    h.transport->push(http_reply(200, renew_reply(100)));  // less than was left: the max TTL
    h.pass(450s);
    REQUIRE(h.sent_to("/v1/auth/token/renew-self") == 1);
    CHECK(h.keeper.active());
    h.pass(200s);
    CHECK(h.sent_to("/v1/auth/token/renew-self") == 1);
    CHECK_FALSE(h.keeper.active());
    CHECK_FALSE(h.keeper.summary());
}

TEST_CASE("token keeper: a 204 from renew-self is not an error; the token lasts its TTL") {
    Harness h;
    REQUIRE(h.login(600));
    h.transport->push(http_reply(204));
    h.pass(450s);
    REQUIRE(h.sent_to("/v1/auth/token/renew-self") == 1);
    REQUIRE(h.keeper.summary());
    CHECK_FALSE(h.keeper.summary()->renewable);
    h.pass(300s);
    CHECK(h.sent_to("/v1/auth/token/renew-self") == 1);  // not retried as if the reply were bad
    CHECK_FALSE(h.keeper.active());
}

TEST_CASE("token keeper: a failed renewal is retried with backoff while the token lasts") {
    Harness h;
    REQUIRE(h.login(3600));
    h.transport->push(test::unreachable("http://127.0.0.1:8200"));
    h.transport->push(test::unreachable("http://127.0.0.1:8200"));  // the client's own retry across addresses
    h.transport->push(test::unreachable("http://127.0.0.1:8200"));
    h.pass(2600s);
    CHECK(h.transport->scripted() == 0);  // the first renewal used up its tries
    CHECK(h.transport->held() == 1);      // and the keeper tried again
    REQUIRE(h.keeper.active());           // the token still has time left
    h.transport->push(http_reply(200, renew_reply(3600)));
    h.settle();
    CHECK(h.keeper.summary()->ttl_seconds > 3500);
}

TEST_CASE("token keeper: a huge TTL from Vault is believed only up to ten years") {
    Harness h;
    auto r = h.login(9223372036854775807LL);
    REQUIRE(r);
    CHECK(r->ttl_seconds <= 10LL * 365 * 24 * 3600);
    h.pass(60s);
    CHECK(h.keeper.active());
}

TEST_CASE("token keeper: a bare 'permission denied' is confirmed with lookup-self before the token is dropped") {
    Harness h;
    REQUIRE(h.login(3600));
    Error denial{Errc::VaultDenied, "Vault denied the request: permission denied", "permission denied"};
    SUBCASE("the token is dead (Vault before 1.17)") {
        h.transport->push(vault_error(403, legacy_denied()));
        std::optional<bool> dead;
        h.keeper.confirm_denial(h.keeper.generation(), denial, [&](bool d) { dead = d; });
        h.settle();
        CHECK(dead == true);
        CHECK_FALSE(h.keeper.active());
    }
    SUBCASE("the token is fine: the policy refused") {
        h.transport->push(http_reply(200, lookup_reply(3000)));
        std::optional<bool> dead;
        h.keeper.confirm_denial(h.keeper.generation(), denial, [&](bool d) { dead = d; });
        h.settle();
        CHECK(dead == false);
        CHECK(h.keeper.active());
    }
    SUBCASE("Vault 1.17 says invalid token: no lookup needed") {
        auto before = h.transport->sent.size();
        Error invalid{Errc::VaultDenied, "no longer accepts", "permission denied; invalid token"};
        std::optional<bool> dead;
        h.keeper.confirm_denial(h.keeper.generation(), invalid, [&](bool d) { dead = d; });
        h.settle();
        CHECK(dead == true);
        CHECK(h.transport->sent.size() == before);
    }
}

TEST_CASE("token keeper: a token without the default policy logs in on the login reply's word") {
    Harness h;
    std::optional<Result<control::TokenSummary>> out;
    h.transport->push(http_reply(200, login_reply(3600)));
    h.transport->push(vault_error(403, "1 error occurred:\n\t* permission denied\n\n"));
    h.keeper.login(LoginRequest{.method = "userpass", .username = "alice", .secret = SecretString("pw")},
                   [&](KeeperReply r) { out = as_token(std::move(r)); });
    h.settle();
    REQUIRE(out.has_value());
    REQUIRE(*out);
    CHECK((*out)->ttl_seconds == 3600);
    CHECK((*out)->display_name == "alice");
    // A later denial cannot be confirmed with lookup-self, so it is taken as the policy's.
    std::optional<bool> dead;
    h.keeper.confirm_denial(h.keeper.generation(), Error{Errc::VaultDenied, "denied", "permission denied"},
                            [&](bool d) { dead = d; });
    h.settle();
    CHECK(dead == false);
}

TEST_CASE("token keeper: logout says revoked only when Vault confirmed it") {
    Harness h;
    REQUIRE(h.login(3600));
    SUBCASE("confirmed") {
        h.transport->push(http_reply(204));
        std::optional<TokenKeeper::LogoutOutcome> out;
        h.keeper.logout([&](TokenKeeper::LogoutOutcome o) { out = o; });
        CHECK_FALSE(h.keeper.active());  // forgotten at once, before Vault answers
        h.settle();
        REQUIRE(out);
        CHECK(out->revoked);
    }
    SUBCASE("the reply never came") {
        h.transport->push(test::unreachable("http://127.0.0.1:8200"));
        h.transport->push(test::unreachable("http://127.0.0.1:8200"));
        h.transport->push(test::unreachable("http://127.0.0.1:8200"));
        std::optional<TokenKeeper::LogoutOutcome> out;
        h.keeper.logout([&](TokenKeeper::LogoutOutcome o) { out = o; });
        h.pass(20s);
        REQUIRE(out);
        CHECK_FALSE(out->revoked);
        CHECK(out->warning.find("did not confirm") != std::string::npos);
    }
}

TEST_CASE("token keeper: a login that was under way when the user logged out does not log back in") {
    Harness h;
    std::optional<Result<control::TokenSummary>> out;
    h.keeper.login(LoginRequest{.method = "userpass", .username = "alice", .secret = SecretString("pw")},
                   [&](KeeperReply r) { out = as_token(std::move(r)); });
    h.settle();  // the login request is held: Vault is slow
    h.keeper.logout([](TokenKeeper::LogoutOutcome) {});
    h.transport->push(http_reply(200, login_reply(3600)));
    h.transport->push(http_reply(200, lookup_reply(3600)));
    h.settle();
    REQUIRE(out.has_value());
    CHECK_FALSE(*out);
    CHECK_FALSE(h.keeper.active());
}

TEST_CASE("token keeper: an unknown method is refused, naming the ones there are") {
    Harness h;
    std::optional<Result<control::TokenSummary>> out;
    h.keeper.login(LoginRequest{.method = "kerberos"}, [&](KeeperReply r) { out = as_token(std::move(r)); });
    h.settle();
    REQUIRE(out.has_value());
    REQUIRE_FALSE(*out);
    CHECK(out->error().message.find("userpass") != std::string::npos);
    CHECK(out->error().message.find("ldap") != std::string::npos);
}
