// SPDX-License-Identifier: Apache-2.0
// A login as a conversation: login MFA challenges held by the TokenKeeper,
// answered through sys/mfa/validate, expiring at their deadline, over a
// scripted Vault with the daemon's clock stepped.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "keeper_harness.hpp"

using namespace sshcert;
using namespace sshcert::test;
using Json = nlohmann::json;

namespace {

constexpr const char* kTotpId = "820997b3-110e-c251-7e8b-ff4aa428a6e1";
constexpr const char* kOktaId = "3b5a2f6c-2d3e-4f70-8a91-0c1d2e3f4a5b";

Json totp_method() { return {{"type", "totp"}, {"id", kTotpId}, {"uses_passcode", true}, {"name", "my_totp"}}; }
/// Vault leaves uses_passcode out when it is false (omitempty), and name when empty.
Json okta_method() { return {{"type", "okta"}, {"id", kOktaId}}; }

/// A login reply subject to MFA, as Vault sends it: no token, the requirement, the warning.
std::string mfa_reply(Json constraints) {
    Json auth{{"client_token", ""}, {"accessor", ""}, {"policies", nullptr}, {"metadata", nullptr},
              {"lease_duration", 0}, {"renewable", false}, {"entity_id", ""}, {"token_type", "default"},
              {"orphan", false}, {"num_uses", 0},
              {"mfa_requirement", {{"mfa_request_id", "d0c9eec7-6921-8cc0-be62-202b289ef163"}, {"mfa_constraints", constraints}}}};
    return Json{{"auth", auth},
                {"warnings", {"A login request was issued that is subject to MFA validation. Please make sure to validate "
                              "the login by sending another request to mfa/validate endpoint."}}}
        .dump();
}
std::string one_factor(Json method) { return mfa_reply({{"corp", {{"any", {method}}}}}); }

/// The reply a login or an answer gets, whenever it comes.
struct Answer {
    std::shared_ptr<std::optional<KeeperReply>> got = std::make_shared<std::optional<KeeperReply>>();
    TokenKeeper::LoginDone sink() const {
        return [got = got](KeeperReply r) { *got = std::move(r); };
    }
    bool arrived() const { return got->has_value(); }
    const KeeperReply& reply() const {
        REQUIRE(arrived());
        return **got;
    }
    const control::LoginChallenge& challenge() const {
        REQUIRE(reply());
        REQUIRE(std::holds_alternative<control::LoginChallenge>(*reply()));
        return std::get<control::LoginChallenge>(*reply());
    }
    const Error& error() const {
        REQUIRE_FALSE(reply());
        return reply().error();
    }
};

struct Conversation : Harness {
    /// A login whose reply is `vault_reply`: its first step.
    control::LoginChallenge start(const std::string& vault_reply, std::chrono::seconds lifetime = 300s,
                                  std::string method = "ldap") {
        transport->push(http_reply(200, vault_reply));
        Answer a;
        keeper.login(LoginRequest{.method = std::move(method),
                                  .username = "alice",
                                  .secret = SecretString("pw"),
                                  .challenge_lifetime = lifetime},
                     a.sink());
        settle();
        return a.challenge();
    }
    Answer answer(const std::string& id, std::string_view text) {
        Answer a;
        keeper.resume(id, SecretString(text), a.sink());
        settle();
        return a;
    }
    /// The JSON body of the last request sent to `path`.
    Json body_sent_to(std::string_view path) const {
        for (auto it = transport->sent.rbegin(); it != transport->sent.rend(); ++it)
            if (it->request.url.ends_with(path)) return Json::parse(it->request.body.reveal());
        FAIL("nothing was sent to " << path);
        return {};
    }
};

}  // namespace

TEST_CASE("login MFA: a requirement in the login reply is a passcode question; the passcode completes the login") {
    Conversation h;
    auto c = h.start(one_factor(totp_method()));
    CHECK(c.kind == control::challenge_kind::kPasscode);
    CHECK(c.factor == "totp");
    CHECK(c.factor_name == "my_totp");
    CHECK(c.prompt.find("passcode") != std::string::npos);
    CHECK(c.expires_in_seconds >= 299);
    CHECK(c.id.size() == 32);
    CHECK(h.sent_to("/v1/auth/ldap/login/alice") == 1);
    CHECK(h.sent_to("/lookup-self") == 0);  // no token yet
    CHECK_FALSE(h.keeper.active());
    CHECK(h.keeper.pending_logins() == 1);

    h.transport->push(http_reply(200, login_reply(3600)));
    h.transport->push(http_reply(200, lookup_reply(3600)));
    auto a = h.answer(c.id, "123 456");  // as authenticator apps show it
    REQUIRE(as_token(a.reply()));
    CHECK(h.body_sent_to("/v1/sys/mfa/validate") ==
          Json{{"mfa_request_id", "d0c9eec7-6921-8cc0-be62-202b289ef163"}, {"mfa_payload", {{kTotpId, {"123456"}}}}});
    const auto& validate = h.transport->sent.at(1).request;
    CHECK(validate.method == "POST");
    CHECK(validate.token.empty());  // unauthenticated, like every login path
    REQUIRE(h.keeper.active());
    CHECK(h.keeper.active()->token.reveal() == "hvs.fresh");
    CHECK_FALSE(h.keeper.active()->imported);
    CHECK(h.keeper.pending_logins() == 0);
}

TEST_CASE("login MFA: a wrong passcode asks again under the same id, with Vault's reason") {
    Conversation h;
    auto c = h.start(one_factor(totp_method()));
    h.transport->push(vault_error(403, "failed to satisfy enforcement corp. error: 2 errors occurred:\\n\\t* failed to validate "
                                       "TOTP passcode\\n\\t* login MFA validation failed for methodID: [x]\\n\\n"));
    auto again = h.answer(c.id, "000000").challenge();
    CHECK(again.id == c.id);
    CHECK(again.kind == control::challenge_kind::kPasscode);
    CHECK(again.retry_error.find("Vault did not accept the passcode") != std::string::npos);
    CHECK(again.retry_error.find("failed to validate TOTP passcode") != std::string::npos);
    CHECK(h.keeper.pending_logins() == 1);

    h.transport->push(http_reply(200, login_reply(3600)));
    h.transport->push(http_reply(200, lookup_reply(3600)));
    REQUIRE(as_token(h.answer(c.id, "123456").reply()));
    CHECK(h.sent_to("/v1/sys/mfa/validate") == 2);
}

TEST_CASE("login MFA: an empty passcode is asked for again without asking Vault") {
    Conversation h;
    auto c = h.start(one_factor(totp_method()));
    auto again = h.answer(c.id, "  ").challenge();
    CHECK(again.retry_error == "no passcode was given");
    CHECK(h.sent_to("/v1/sys/mfa/validate") == 0);
}

TEST_CASE("login MFA: a pending login expires at its deadline and an answer after it finds nothing") {
    Conversation h;
    auto c = h.start(one_factor(totp_method()), 60s);
    CHECK(c.expires_in_seconds >= 59);
    CHECK(c.expires_in_seconds <= 60);
    h.pass(55s);
    CHECK(h.keeper.pending_logins() == 1);
    h.pass(10s);
    CHECK(h.keeper.pending_logins() == 0);
    auto late = h.answer(c.id, "123456");
    CHECK(late.error().code == Errc::NotFound);
    CHECK(late.error().message.find("sshcert login") != std::string::npos);
    CHECK(h.sent_to("/v1/sys/mfa/validate") == 0);
}

TEST_CASE("login MFA: no challenge outlives Vault's five minutes, whatever the lifetime asked") {
    Conversation h;
    auto c = h.start(one_factor(totp_method()), 3600s);
    CHECK(c.expires_in_seconds <= 300);
}

TEST_CASE("login MFA: a push is waited for on Vault, to the deadline and no longer") {
    Conversation h;
    auto c = h.start(one_factor(okta_method()), 90s);
    CHECK(c.kind == control::challenge_kind::kPush);
    CHECK(c.factor == "okta");
    CHECK(c.prompt.find("approve") != std::string::npos);

    auto a = h.answer(c.id, "");
    CHECK_FALSE(a.arrived());  // Vault holds sys/mfa/validate until the phone answers
    CHECK(h.body_sent_to("/v1/sys/mfa/validate")["mfa_payload"] == Json{{kOktaId, {""}}});
    auto timeout = h.transport->last().timeout;
    CHECK(timeout <= 90000ms);
    CHECK(timeout > 85000ms);  // the call's own deadline, not [vault] timeout (30 s)

    SUBCASE("approved in time") {
        h.transport->push(http_reply(200, login_reply(3600)));
        h.transport->push(http_reply(200, lookup_reply(3600)));
        h.settle();
        CHECK(as_token(a.reply()));
        CHECK(h.keeper.active());
    }
    SUBCASE("not approved: the answer is an error at the deadline, and a late token is revoked") {
        h.pass(95s);
        CHECK(a.error().message.find("was not approved in time") != std::string::npos);
        CHECK(h.keeper.pending_logins() == 0);
        h.transport->push(http_reply(200, login_reply(3600)));  // the phone answered after all
        h.settle();
        CHECK_FALSE(h.keeper.active());
        CHECK(h.sent_to("/v1/auth/token/revoke-self") == 1);
    }
    SUBCASE("rejected on the phone: Vault's reason, and the login ends") {
        h.transport->push(vault_error(403, "failed to satisfy enforcement corp. error: push verification explicitly rejected"));
        h.settle();
        CHECK(a.error().message.find("push verification explicitly rejected") != std::string::npos);
        CHECK(h.keeper.pending_logins() == 0);
    }
}

TEST_CASE("login MFA: one question per enforcement, then one validate with every answer") {
    Conversation h;
    auto c = h.start(mfa_reply({{"a-totp", {{"any", {totp_method()}}}}, {"b-push", {{"any", {okta_method()}}}}}));
    CHECK(c.kind == control::challenge_kind::kPasscode);
    auto second = h.answer(c.id, "111111").challenge();
    CHECK(second.id == c.id);
    CHECK(second.kind == control::challenge_kind::kPush);
    CHECK(h.sent_to("/v1/sys/mfa/validate") == 0);
    h.transport->push(http_reply(200, login_reply(3600)));
    h.transport->push(http_reply(200, lookup_reply(3600)));
    REQUIRE(as_token(h.answer(c.id, "").reply()));
    CHECK(h.body_sent_to("/v1/sys/mfa/validate")["mfa_payload"] == Json{{kTotpId, {"111111"}}, {kOktaId, {""}}});
}

TEST_CASE("login MFA: when an enforcement offers a push and a passcode, the passcode is asked") {
    Conversation h;
    auto c = h.start(mfa_reply({{"corp", {{"any", {okta_method(), totp_method()}}}}}));
    CHECK(c.kind == control::challenge_kind::kPasscode);
    CHECK(c.factor == "totp");
}

TEST_CASE("login MFA: a login Vault has forgotten ends with what to do") {
    Conversation h;
    auto c = h.start(one_factor(totp_method()));
    h.transport->push(vault_error(400, "invalid request ID"));
    auto a = h.answer(c.id, "123456");
    CHECK(a.error().message.find("no longer waits") != std::string::npos);
    CHECK(a.error().message.find("run sshcert login again") != std::string::npos);
    CHECK(h.keeper.pending_logins() == 0);
}

TEST_CASE("login MFA: a requirement without a request id or methods is Vault's bad reply, not a question") {
    Conversation h;
    h.transport->push(http_reply(200, mfa_reply(Json::object())));
    Answer a;
    h.keeper.login(LoginRequest{.method = "userpass", .username = "alice", .secret = SecretString("pw")}, a.sink());
    h.settle();
    CHECK(a.error().code == Errc::VaultBadResponse);
    CHECK(h.keeper.pending_logins() == 0);
}

TEST_CASE("login MFA: one answer at a time per pending login") {
    Conversation h;
    auto c = h.start(one_factor(okta_method()));
    auto first = h.answer(c.id, "");
    auto second = h.answer(c.id, "");
    CHECK(second.error().message.find("still being checked") != std::string::npos);
    CHECK_FALSE(first.arrived());
}

TEST_CASE("login MFA: at most kMaxPendingLogins wait; the one nearest its deadline gives way") {
    Conversation h;
    auto first = h.start(one_factor(totp_method()), 100s);
    for (std::size_t i = 0; i < TokenKeeper::kMaxPendingLogins; ++i) h.start(one_factor(totp_method()), 200s);
    CHECK(h.keeper.pending_logins() == TokenKeeper::kMaxPendingLogins);
    CHECK(h.answer(first.id, "123456").error().code == Errc::NotFound);
}

TEST_CASE("login MFA: logout forgets pending logins and tells an answer under way") {
    Conversation h;
    auto c = h.start(one_factor(okta_method()));
    auto a = h.answer(c.id, "");
    h.keeper.logout([](TokenKeeper::LogoutOutcome) {});
    h.settle();
    CHECK(a.error().code == Errc::NotLoggedIn);
    CHECK(h.keeper.pending_logins() == 0);
    h.transport->push(http_reply(200, login_reply(3600)));  // Vault's late answer
    h.settle();
    CHECK_FALSE(h.keeper.active());
    CHECK(h.sent_to("/v1/auth/token/revoke-self") == 1);
}

TEST_CASE("ldap logs in at auth/<mount>/login/<user> like userpass, its mount configurable") {
    Conversation h;
    h.transport->push(http_reply(200, login_reply(3600)));
    h.transport->push(http_reply(200, lookup_reply(3600)));
    Answer a;
    h.keeper.login(LoginRequest{.method = "ldap", .mount = "corp/ldap", .username = "alice@example.com", .secret = SecretString("pw")},
                   a.sink());
    h.settle();
    REQUIRE(as_token(a.reply()));
    CHECK(h.sent_to("/v1/auth/corp/ldap/login/alice%40example.com") == 1);
    CHECK(h.body_sent_to("/login/alice%40example.com") == Json{{"password", "pw"}});

    h.transport->push(vault_error(400, "ldap operation failed: failed to bind as user"));
    Answer wrong;
    h.keeper.login(LoginRequest{.method = "ldap", .username = "alice", .secret = SecretString("bad")}, wrong.sink());
    h.settle();
    CHECK(wrong.error().message == "Vault rejected the login of 'alice' at auth/ldap: ldap operation failed: failed to bind as user");
}

TEST_CASE("logout keeps a token the user brought valid at Vault, unless asked to revoke it") {
    Harness h;
    auto token_login = [&] {
        h.transport->push(http_reply(200, lookup_reply(3600)));
        Answer a;
        h.keeper.login(LoginRequest{.method = "token", .secret = SecretString("hvs.users-own")}, a.sink());
        h.settle();
        REQUIRE(as_token(a.reply()));
        REQUIRE(h.keeper.active()->imported);
    };
    token_login();
    std::optional<TokenKeeper::LogoutOutcome> out;
    h.keeper.logout([&](TokenKeeper::LogoutOutcome o) { out = o; });
    h.settle();
    REQUIRE(out);
    CHECK(out->imported);
    CHECK_FALSE(out->revoked);
    CHECK_FALSE(h.keeper.active());
    CHECK(h.sent_to("/v1/auth/token/revoke-self") == 0);

    token_login();
    h.transport->push(http_reply(204));
    h.keeper.logout([&](TokenKeeper::LogoutOutcome o) { out = o; }, /*revoke_imported=*/true);
    h.settle();
    CHECK(out->revoked);
    CHECK(h.sent_to("/v1/auth/token/revoke-self") == 1);
    CHECK(h.transport->last().token.reveal() == "hvs.users-own");
}
