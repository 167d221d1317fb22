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

// --- the token's life (token_life.hpp) ---

#include <keyutils.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "login_store.hpp"
#include "token_life.hpp"

namespace {
nlohmann::json lookup_data(std::int64_t ttl, const char* issue, const char* expire, std::int64_t explicit_max,
                           bool renewable = true) {
    return {{"ttl", ttl}, {"issue_time", issue}, {"expire_time", expire}, {"explicit_max_ttl", explicit_max},
            {"renewable", renewable}};
}
std::string capped_renew_reply(std::int64_t ttl) {
    return R"({"warnings":["TTL of \"1h0m0s\" exceeded the effective max_ttl of \")" + std::to_string(ttl) +
           R"(s\"; TTL value is capped accordingly"],"auth":{"client_token":"hvs.fresh","lease_duration":)" +
           std::to_string(ttl) + R"(,"renewable":true}})";
}
}  // namespace

TEST_CASE("token life: RFC 3339 times as Vault writes them") {
    using token_life::parse_rfc3339;
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
    CHECK(parse_rfc3339("2018-05-19T11:35:54.466476215-04:00") == 1526744154);
    CHECK(parse_rfc3339("2026-12-02T07:35:54+01:00") == 1796193354);
    CHECK(parse_rfc3339("2024-02-29T23:59:59Z") == 1709251199);
    CHECK_FALSE(parse_rfc3339("2026-12-02 07:35:54Z"));
    CHECK_FALSE(parse_rfc3339("2026-12-02T07:35:54"));  // no zone: ambiguous
    CHECK_FALSE(parse_rfc3339("2026-13-02T07:35:54Z"));
    CHECK_FALSE(parse_rfc3339("2026-12-02T07:35:54.Z"));
    CHECK_FALSE(parse_rfc3339("2026-12-02T07:35:54Zjunk"));
    CHECK_FALSE(parse_rfc3339(""));
}

TEST_CASE("token life: an explicit max TTL ends the login at issue_time plus it, on Vault's own clock") {
    // Issued 100 min before Vault's now (expire_time - ttl), explicit max 2 h: 20 min are left,
    // whatever our clock says.
    auto t = token_life::token_times(
        lookup_data(1200, "2026-12-02T06:00:00Z", "2026-12-02T08:00:00Z", 7200));
    CHECK(t.age == 6000);
    CHECK(t.login_left == 1200);
    // The explicit max counts from the issue, not from a renewal.
    t = token_life::token_times(lookup_data(600, "2026-12-02T06:00:00Z", "2026-12-02T07:50:00Z", 86400));
    CHECK(t.login_left == 86400 - 6000);
}

TEST_CASE("token life: without an explicit max the end is not claimed, unless the token cannot be renewed") {
    auto t = token_life::token_times(lookup_data(3600, "2026-12-02T06:00:00Z", "2026-12-02T08:00:00Z", 0));
    CHECK_FALSE(t.login_left);  // the mount's max TTL shows only in a capped renewal
    t = token_life::token_times(lookup_data(3600, "2026-12-02T06:00:00Z", "2026-12-02T08:00:00Z", 0, false));
    CHECK(t.login_left == 3600);
    t = token_life::token_times({{"ttl", 0}, {"expire_time", nullptr}, {"explicit_max_ttl", 0}});
    CHECK_FALSE(t.login_left);  // never expires (a root token)
    CHECK_FALSE(token_life::token_times(nlohmann::json::array()).login_left);
}

TEST_CASE("token life: a warning within the last hour, or the last quarter of a short login") {
    CHECK(token_life::end_is_near(3600, 8 * 3600));
    CHECK_FALSE(token_life::end_is_near(3601, 8 * 3600));
    CHECK(token_life::end_is_near(900, 3600));
    CHECK_FALSE(token_life::end_is_near(901, 3600));
    CHECK(token_life::renewal_capped(nlohmann::json::parse(capped_renew_reply(100))));
    CHECK_FALSE(token_life::renewal_capped(nlohmann::json::parse(renew_reply(100))));
    CHECK_FALSE(token_life::renewal_capped(nlohmann::json::parse(
        R"({"warnings":["period of \"48h\" exceeded the effective max_ttl of \"24h\"; period value is capped accordingly"]})")));
}

TEST_CASE("token keeper: status tells when an explicit max TTL ends the login, and when it is near") {
    Harness h;
    h.transport->push(http_reply(200, login_reply(7200)));
    h.transport->push(http_reply(
        200, R"({"data":{"display_name":"userpass-alice","policies":["default"],"ttl":7200,"renewable":true,)"
             R"("issue_time":"2026-12-02T06:00:00Z","expire_time":"2026-12-02T08:00:00Z","explicit_max_ttl":10800}})"));
    std::optional<KeeperReply> out;
    h.keeper.login(LoginRequest{.method = "userpass", .username = "alice", .secret = SecretString("pw")},
                   [&](KeeperReply r) { out = std::move(r); });
    h.settle();
    REQUIRE(h.keeper.summary());
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    CHECK(h.keeper.login_left() == 10800);
    CHECK(std::llabs(h.keeper.summary()->login_required_at - (now + 10800)) <= 2);
    CHECK_FALSE(h.keeper.summary()->login_end_near);
    int before = h.changes;
    h.transport->push(http_reply(200, renew_reply(7200)));
    h.pass(8200s);  // 3 h life: the last 45 min are worth a warning
    CHECK(h.keeper.summary()->login_end_near);
    CHECK(h.changes > before);  // told, so the systemd status line says it
}

TEST_CASE("token keeper: a renewal Vault capped at the max TTL tells when the login ends") {
    Harness h;
    REQUIRE(h.login(600));
    CHECK_FALSE(h.keeper.login_left());
    CHECK(h.keeper.summary()->login_required_at == 0);
    h.transport->push(http_reply(200, capped_renew_reply(500)));  // more than was left, but Vault says capped
    h.pass(450s);
    REQUIRE(h.sent_to("/v1/auth/token/renew-self") == 1);
    REQUIRE(h.keeper.login_left());
    CHECK(*h.keeper.login_left() > 400);  // renewed at 360-420 s for 500 s; the clock is now at 450 s
    CHECK(*h.keeper.login_left() <= 500);
    CHECK_FALSE(h.keeper.summary()->renewable);
}

TEST_CASE("token keeper: a token that cannot be renewed ends the login with its TTL") {
    Harness h;
    REQUIRE(h.login(900, false));
    REQUIRE(h.keeper.login_left());
    CHECK(*h.keeper.login_left() == 900);
    CHECK(h.keeper.summary()->login_end_near == false);
    h.pass(700s);
    CHECK(h.keeper.summary()->login_end_near);
}

// --- the login kept in the kernel keyring: this process's own keyring, gone when it exits ---

namespace {
/// The test process's own keyring, so nothing is left behind; says so when the kernel has none.
std::optional<LoginStore> process_store() {
    long k = keyctl_get_keyring_ID(KEY_SPEC_PROCESS_KEYRING, 1);
    if (k < 0) {
        MESSAGE("the kernel keyring is not usable here; skipped");
        return std::nullopt;
    }
    return LoginStore(static_cast<std::int32_t>(k));
}
}  // namespace

TEST_CASE("login store: kept possessor-only with the token's TTL as timeout, read back, removed") {
    auto store = process_store();
    if (!store) return;
    auto name = LoginStore::name_for("/run/user/1000/sshcert", "https://vault:8200", "team");
    CHECK(name == "sshcert:/run/user/1000/sshcert:https://vault:8200#team");
    REQUIRE(store->save(name, SecretString("hvs.kept"), true, 3600));
    long id = keyctl_search(KEY_SPEC_PROCESS_KEYRING, "user", name.c_str(), 0);
    REQUIRE(id >= 0);
    char* desc = nullptr;
    REQUIRE(keyctl_describe_alloc(static_cast<key_serial_t>(id), &desc) >= 0);
    std::string d(desc);
    std::free(desc);
    unsigned perm = std::stoul(d.substr(d.find(';', d.find(';', d.find(';') + 1) + 1) + 1), nullptr, 16);
    CHECK((perm & 0x00FFFFFFu) == 0);  // nothing for the user, group or others who do not possess it
    auto kept = store->load(name);
    REQUIRE(kept);
    CHECK(kept->token.reveal() == "hvs.kept");
    CHECK(kept->imported);
    REQUIRE(store->save(name, SecretString("hvs.newer"), false, 0));  // replaced, not doubled
    kept = store->load(name);
    REQUIRE(kept);
    CHECK(kept->token.reveal() == "hvs.newer");
    CHECK_FALSE(kept->imported);
    CHECK_FALSE(store->load(LoginStore::name_for("/run/user/1000/sshcert", "https://vault:8200", "")));
    store->remove(name);
    CHECK_FALSE(store->load(name));
}

TEST_CASE("login store: a key that is not a kept login is not taken for a token") {
    auto store = process_store();
    if (!store) return;
    std::string name = LoginStore::name_for("/tmp/t", "http://x", "");
    REQUIRE(add_key("user", name.c_str(), "hvs.bare", 8, KEY_SPEC_PROCESS_KEYRING) >= 0);
    CHECK_FALSE(store->load(name));
    CHECK(keyctl_search(KEY_SPEC_PROCESS_KEYRING, "user", name.c_str(), 0) < 0);  // and removed
}

TEST_CASE("token keeper: the login is kept from login to logout, and restored by a new keeper") {
    auto store = process_store();
    if (!store) return;
    std::string name = LoginStore::name_for("/tmp/keeper", "http://127.0.0.1:8200", "");
    {
        Harness h;
        h.keeper.keep_in(&*store, name);
        REQUIRE(h.login(3600));
        REQUIRE(store->load(name));
    }
    Harness again;
    again.keeper.keep_in(&*store, name);
    again.transport->push(http_reply(200, lookup_reply(3000)));
    again.keeper.restore();
    again.settle();
    REQUIRE(again.keeper.active());
    CHECK(again.keeper.active()->token.reveal() == "hvs.fresh");
    CHECK(again.sent_to("/v1/auth/userpass/login/alice") == 0);
    std::optional<TokenKeeper::LogoutOutcome> out;
    again.transport->push(http_reply(204));
    again.keeper.logout([&](TokenKeeper::LogoutOutcome o) { out = o; });
    again.settle();
    CHECK_FALSE(store->load(name));
}

TEST_CASE("token keeper: a kept token Vault rejects is removed; one it cannot check is kept and retried") {
    auto store = process_store();
    if (!store) return;
    std::string name = LoginStore::name_for("/tmp/keeper2", "http://127.0.0.1:8200", "");
    Harness h;
    h.keeper.keep_in(&*store, name);
    REQUIRE(store->save(name, SecretString("hvs.old"), false, 3600));
    for (int i = 0; i < 3; ++i) h.transport->push(test::unreachable("http://127.0.0.1:8200"));
    h.keeper.restore();
    for (int i = 0; i < 60 && h.transport->scripted() > 0; ++i) h.pass(1s);
    REQUIRE(h.transport->scripted() == 0);  // the lookup used up its tries
    CHECK_FALSE(h.keeper.active());
    CHECK(store->load(name));  // Vault was away: the token may be fine
    h.transport->push(vault_error(403, "invalid token"));
    h.pass(10s);
    CHECK(h.sent_to("/v1/auth/token/lookup-self") >= 2);
    CHECK_FALSE(h.keeper.active());
    CHECK_FALSE(store->load(name));
}
