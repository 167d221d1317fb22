// SPDX-License-Identifier: Apache-2.0
// OIDC login: reading the callback the browser ends on (URL or query), its
// state checked against the login's, the client listener's request line and
// page, the redirect_uri the config gives, and the conversation over a
// scripted Vault (auth_url, then the callback as a GET with its query).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "keeper_harness.hpp"
#include "oidc_callback.hpp"
#include "oidc_callback_check.hpp"
#include "url_query.hpp"

using namespace sshcert;
using namespace sshcert::test;
using Json = nlohmann::json;

namespace {

constexpr const char* kRedirect = "http://localhost:8250/oidc/callback";

std::string auth_url_reply(const std::string& url) { return Json{{"data", {{"auth_url", url}}}}.dump(); }
std::string provider_url(const std::string& state) {
    return "https://idp.example.com/authorize?client_id=sshcert&nonce=n1&redirect_uri=http%3A%2F%2Flocalhost%3A8250%2Foidc%2Fcallback"
           "&response_type=code&scope=openid&state=" + state;
}

struct OidcConversation : Harness {
    KeeperReply start(const std::string& vault_reply, std::string role = "dev", long status = 200) {
        transport->push(http_reply(status, vault_reply));
        std::optional<KeeperReply> out;
        keeper.login(LoginRequest{.method = "oidc", .role = std::move(role), .redirect_uri = kRedirect},
                     [&](KeeperReply r) { out = std::move(r); });
        settle();
        REQUIRE(out.has_value());
        return std::move(*out);
    }
    KeeperReply answer(const std::string& id, std::string_view text) {
        std::optional<KeeperReply> out;
        keeper.resume(id, SecretString(text), [&](KeeperReply r) { out = std::move(r); });
        settle();
        REQUIRE(out.has_value());
        return std::move(*out);
    }
};

const control::LoginChallenge& challenge_of(const KeeperReply& r) {
    REQUIRE(r);
    REQUIRE(std::holds_alternative<control::LoginChallenge>(*r));
    return std::get<control::LoginChallenge>(*r);
}

}  // namespace

TEST_CASE("url query: the query of a callback URL, of a bare query, and of a URL without one") {
    CHECK(query_of("http://localhost:8250/oidc/callback?state=s1&code=c1") == "state=s1&code=c1");
    CHECK(query_of("  http://localhost:8250/oidc/callback?state=s1&code=c1#frag\r\n") == "state=s1&code=c1");
    CHECK(query_of("state=s1&code=c1") == "state=s1&code=c1");
    CHECK(query_of("http://localhost:8250/oidc/callback").empty());
    CHECK(query_of("/oidc/callback").empty());
    CHECK(query_param("state=s1&code=a%2Fb+c", "code") == "a/b c");
    CHECK(query_param("state=s1&code=", "code") == "");
    CHECK(query_param("state=s1", "code") == std::nullopt);
    CHECK(query_param("code=%zz", "code") == std::nullopt);
    CHECK(query_param("code=%4", "code") == std::nullopt);
    CHECK(query_param("xcode=1&code=2", "code") == "2");
}

TEST_CASE("oidc callback: the code of this login's callback; another state, no code, or the provider's refusal are errors") {
    auto ok = check_oidc_callback("http://localhost:8250/oidc/callback?state=st_1&code=c%2B1", "st_1");
    REQUIRE(ok);
    CHECK(ok->code.reveal() == "c+1");
    CHECK(check_oidc_callback("code=c1&state=st_1", "st_1"));  // the query alone, in any order

    auto other = check_oidc_callback("state=st_2&code=c1", "st_1");
    REQUIRE_FALSE(other);
    CHECK(other.error().message.find("belongs to another login") != std::string::npos);
    CHECK(check_oidc_callback("state=st_1&code=c1", "st_1x").error().message.find("another login") != std::string::npos);

    auto none = check_oidc_callback("http://localhost:8250/oidc/callback", "st_1");
    REQUIRE_FALSE(none);
    CHECK(none.error().message.find("has no state and code") != std::string::npos);
    CHECK_FALSE(check_oidc_callback("state=st_1&code=", "st_1"));

    auto refused = check_oidc_callback("error=access_denied&error_description=not+in+the+group&state=st_1", "st_1");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("the identity provider refused the sign-in (access_denied: not in the group)") == 0);
}

TEST_CASE("oidc callback listener: the request line and the page the browser gets") {
    auto line = client::parse_request_line("GET /oidc/callback?state=s&code=c HTTP/1.1\r\nHost: localhost\r\n\r\n");
    REQUIRE(line);
    CHECK(line->method == "GET");
    CHECK(line->path == "/oidc/callback");
    CHECK(line->query == "state=s&code=c");
    auto favicon = client::parse_request_line("GET /favicon.ico HTTP/1.1\r\n\r\n");
    REQUIRE(favicon);
    CHECK(favicon->path == "/favicon.ico");
    CHECK(favicon->query.empty());
    CHECK_FALSE(client::parse_request_line("hello"));
    CHECK_FALSE(client::parse_request_line("GET http://x/ HTTP/1.1\r\n"));
    CHECK_FALSE(client::parse_request_line("GET /oidc/callback\r\n"));

    std::string page = client::callback_page(false, "Vault said <b>no</b> & more");
    CHECK(page.find("The Vault login failed") != std::string::npos);
    CHECK(page.find("Vault said &lt;b&gt;no&lt;/b&gt; &amp; more") != std::string::npos);
    CHECK(page.find("You can close this window") != std::string::npos);
}

TEST_CASE("oidc config: the redirect_uri is the callback host and port, the port the listen port unless given") {
    config::AuthSettings a;
    CHECK(a.oidc_redirect_uri() == kRedirect);
    a.oidc_listen_port = 18250;
    CHECK(a.oidc_redirect_uri() == "http://localhost:18250/oidc/callback");
    a.oidc_callback_host = "127.0.0.1";
    a.oidc_callback_port = 8400;
    CHECK(a.oidc_redirect_uri() == "http://127.0.0.1:8400/oidc/callback");

    auto c = config::parse("[auth]\nmethod = \"oidc\"\nrole = \"dev\"\noidc_listen_port = 9000\n", "config.toml");
    REQUIRE(c);
    CHECK(c->auth.role == "dev");
    CHECK(c->auth.oidc_listen_port == 9000);
    auto named = config::parse("[vault.corp]\naddress = \"https://vault.corp.example.com:8200\"\n[auth.corp]\nmethod = \"oidc\"\n"
                               "role = \"eng\"\noidc_callback_port = 8400\n",
                               "config.toml");
    REQUIRE(named);
    const config::AuthSettings* corp = named->find_auth("corp");
    REQUIRE(corp);
    CHECK(corp->method == "oidc");
    CHECK(corp->role == "eng");
    CHECK(corp->oidc_redirect_uri() == "http://localhost:8400/oidc/callback");
    auto bad = config::parse("[auth]\noidc_listen_port = 70000\n", "config.toml");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("config.toml:2: [auth] oidc_listen_port must be a TCP port number") == 0);
}

TEST_CASE("oidc login: auth_url gives the browser's challenge; the callback's GET completes the login") {
    OidcConversation h;
    auto r = h.start(auth_url_reply(provider_url("st_abc")));
    const auto& c = challenge_of(r);
    CHECK(c.kind == control::challenge_kind::kOidcBrowser);
    CHECK(c.url == provider_url("st_abc"));
    CHECK(c.redirect_uri == kRedirect);
    CHECK(c.expires_in_seconds >= 299);
    const auto& asked = h.transport->sent.at(0).request;
    CHECK(asked.method == "POST");
    CHECK(asked.url == "http://127.0.0.1:8200/v1/auth/oidc/oidc/auth_url");
    Json body = Json::parse(asked.body.reveal());
    CHECK(body["role"] == "dev");
    CHECK(body["redirect_uri"] == kRedirect);
    std::string nonce = body["client_nonce"];
    CHECK(nonce.size() == 20);

    h.transport->push(http_reply(200, login_reply(3600)));
    h.transport->push(http_reply(200, lookup_reply(3600)));
    auto done = h.answer(c.id, std::string(kRedirect) + "?state=st_abc&code=the%2Fcode");
    REQUIRE(as_token(std::move(done)));
    const auto& callback = h.transport->sent.at(1).request;
    CHECK(callback.method == "GET");
    CHECK(callback.body.empty());
    CHECK(callback.url == "http://127.0.0.1:8200/v1/auth/oidc/oidc/callback?state=st_abc&code=the%2Fcode&id_token=&client_nonce=" +
                              nonce);
    CHECK(h.sent_to("/lookup-self") == 1);
    REQUIRE(h.keeper.active());
    CHECK(h.keeper.pending_logins() == 0);
}

TEST_CASE("oidc login: a callback of another login asks Vault nothing; Vault's expired state says to log in again") {
    OidcConversation h;
    auto first = h.start(auth_url_reply(provider_url("st_1")));
    auto wrong = h.answer(challenge_of(first).id, "state=st_2&code=c");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().message.find("belongs to another login") != std::string::npos);
    CHECK(h.transport->sent.size() == 1);

    auto second = h.start(auth_url_reply(provider_url("st_3")));
    h.transport->push(http_reply(400, R"({"errors":["Vault login failed. Expired or missing OAuth state."]})"));
    auto expired = h.answer(challenge_of(second).id, "state=st_3&code=c");
    REQUIRE_FALSE(expired);
    CHECK(expired.error().message ==
          "the OIDC login expired before the browser finished; run `sshcert login --method oidc` again");
}

TEST_CASE("oidc login: the daemon's deadline ends a sign-in the browser never finished") {
    OidcConversation h;
    auto r = h.start(auth_url_reply(provider_url("st_1")));
    std::string id = challenge_of(r).id;
    h.pass(301s);
    CHECK(h.keeper.pending_logins() == 0);
    auto late = h.answer(id, "state=st_1&code=c");
    CHECK_FALSE(late);
    CHECK(h.transport->sent.size() == 1);
}

TEST_CASE("oidc login: auth_url's refusals in the user's terms") {
    OidcConversation h;
    auto no_role = h.start(R"({"errors":["role \"nosuch\" could not be found"]})", "nosuch", 400);
    REQUIRE_FALSE(no_role);
    CHECK(no_role.error().message == "Vault has no OIDC role 'nosuch' at auth/oidc; check [auth] role or --role");

    // Vault answers a redirect_uri the role does not list with an empty URL, not an error.
    auto not_allowed = h.start(auth_url_reply(""));
    REQUIRE_FALSE(not_allowed);
    CHECK(not_allowed.error().message.find("the role's allowed_redirect_uris must list it") != std::string::npos);
}
