// SPDX-License-Identifier: Apache-2.0
// VaultClient over a scripted transport: retries, failover, redirects, decoding,
// escaping and shutdown; and the pure parts it is built on.
#include <doctest/doctest.h>

#include "endpoint_set.hpp"
#include "fake_transport.hpp"
#include "retry_policy.hpp"
#include "vault_client.hpp"
#include "vault_decode.hpp"
#include "vault_error.hpp"
#include "vault_path.hpp"

using namespace sshcert;
using namespace std::chrono_literals;
using test::http_reply;
using test::unreachable;
using test::vault_error;

namespace {

/// Waits short enough for a test, long enough to be seen.
RetryPolicy fast_policy() {
    RetryPolicy p;
    p.base_delay = 1ms;
    p.max_delay = 5ms;
    p.max_retry_after = 1s;
    p.total_budget = 10s;
    return p;
}

struct Harness {
    explicit Harness(std::vector<std::string> addresses = {"https://vault-a:8200"}, RetryPolicy policy = fast_policy()) {
        settings.address = addresses.at(0);
        settings.fallback_addresses.assign(addresses.begin() + 1, addresses.end());
        client = std::make_unique<VaultClient>(io, settings, fake, policy);
    }

    /// Runs one call to its end; fails the test if `done` did not run.
    Result<VaultReply> run(VaultCall call) {
        std::optional<Result<VaultReply>> out;
        client->call(std::move(call), [&](Result<VaultReply> r) { out.emplace(std::move(r)); });
        io.restart();
        io.run();
        REQUIRE(out.has_value());
        return std::move(*out);
    }

    /// How long the client waited after `first` before asking again (and getting a 200).
    std::chrono::milliseconds wait_after(HttpReply first) {
        fake->push(std::move(first));
        fake->push(http_reply(200, R"({"data":{}})"));
        REQUIRE(run(VaultCall{"GET", "sys/thing"}).ok());
        return gap(1);
    }

    std::chrono::milliseconds gap(std::size_t i) const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(fake->sent.at(i).at - fake->sent.at(i - 1).at);
    }

    asio::io_context io;
    std::shared_ptr<test::FakeTransport> fake = std::make_shared<test::FakeTransport>(io);
    config::VaultSettings settings;
    std::unique_ptr<VaultClient> client;
};

VaultCall get(std::string path) {
    VaultCall c;
    c.path = std::move(path);
    return c;
}

VaultCall post(std::string path, Json body, std::string_view token = "") {
    VaultCall c;
    c.method = "POST";
    c.path = std::move(path);
    c.body = std::move(body);
    c.token = SecretString(token);
    return c;
}

HttpReply with_header(HttpReply r, std::string HttpReply::*field, std::string value) {
    r.*field = std::move(value);
    return r;
}

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

const char* kOk = R"({"data":{"ok":true}})";

}  // namespace

// --- retries ---

TEST_CASE("vault client: 412, 429, 500 and 503 are retried until Vault answers") {
    for (long status : {412L, 429L, 500L, 503L}) {
        CAPTURE(status);
        Harness h;
        h.fake->push(vault_error(status, "try later"));
        h.fake->push(vault_error(status, "try later"));
        h.fake->push(http_reply(200, kOk));
        auto r = h.run(get("sys/thing"));
        REQUIRE(r.ok());
        CHECK(r->json()["data"]["ok"] == true);
        CHECK(h.fake->sent.size() == 3);
    }
}

TEST_CASE("vault client: 501, 400 and a sealed Vault are answered at once, not retried") {
    SUBCASE("501") {
        Harness h;
        h.fake->push(vault_error(501, "not initialized"));
        auto r = h.run(get("sys/thing"));
        CHECK(r.error().code == Errc::VaultUnavailable);
        CHECK(h.fake->sent.size() == 1);
    }
    SUBCASE("400") {
        Harness h;
        h.fake->push(vault_error(400, "invalid username or password"));
        auto r = h.run(get("auth/userpass/login/alice"));
        CHECK(r.error().code == Errc::VaultRefused);
        CHECK(r.error().detail == "invalid username or password");
        CHECK(h.fake->sent.size() == 1);
    }
    SUBCASE("sealed") {
        Harness h;
        h.fake->push(vault_error(503, "Vault is sealed"));
        auto r = h.run(get("sys/thing"));
        CHECK(r.error().code == Errc::VaultUnavailable);
        CHECK(contains(r.error().message, "ask your Vault operator to unseal it"));
        CHECK(h.fake->sent.size() == 1);
    }
}

TEST_CASE("vault client: three tries in all by default, then Vault's own error") {
    RetryPolicy p = fast_policy();
    p.max_retries = RetryPolicy{}.max_retries;
    Harness h({"https://vault-a:8200"}, p);
    for (int i = 0; i < 5; ++i) h.fake->push(vault_error(500, "internal error"));
    auto r = h.run(get("sys/thing"));
    CHECK(h.fake->sent.size() == 3);
    CHECK(r.error().code == Errc::VaultUnavailable);
    CHECK(contains(r.error().message, "HTTP 500"));
    CHECK(r.error().detail == "internal error");
}

TEST_CASE("vault client: Retry-After is waited for") {
    RetryPolicy p = fast_policy();
    p.max_retry_after = 5s;
    Harness h({"https://vault-a:8200"}, p);
    auto waited = h.wait_after(with_header(vault_error(429, "rate limit quota exceeded"), &HttpReply::retry_after, "1"));
    CHECK(waited >= 990ms);
    CHECK(waited < 3s);
}

TEST_CASE("vault client: a Retry-After too large for any integer is cut to the cap, not a crash") {
    // The old client's std::stol threw on this and the exception ended the daemon.
    Harness h;  // max_retry_after 1 s
    auto waited = h.wait_after(with_header(vault_error(503, "overloaded"), &HttpReply::retry_after, "99999999999999999999"));
    CHECK(waited >= 990ms);
    CHECK(waited < 3s);
}

TEST_CASE("vault client: Retry-After on a 500 is ignored, as Vault's Go client ignores it") {
    Harness h;
    CHECK(h.wait_after(with_header(vault_error(500, "internal error"), &HttpReply::retry_after, "1")) < 900ms);
}

TEST_CASE("vault client: the waits between tries grow") {
    RetryPolicy p;
    p.base_delay = 40ms;
    p.max_delay = 10s;
    p.max_retries = 3;
    Harness h({"https://vault-a:8200"}, p);
    for (int i = 0; i < 3; ++i) h.fake->push(vault_error(500, "internal error"));
    h.fake->push(http_reply(200, kOk));
    REQUIRE(h.run(get("sys/thing")).ok());
    REQUIRE(h.fake->sent.size() == 4);
    CHECK(h.gap(1) >= 20ms);   // 40 ms jittered down to half at most
    CHECK(h.gap(2) >= 40ms);
    CHECK(h.gap(3) >= 80ms);   // more than the first wait can be
}

TEST_CASE("vault client: retries stop once the total budget would be exceeded") {
    RetryPolicy p;
    p.base_delay = 100ms;
    p.max_delay = 10s;
    p.max_retries = 10;
    p.total_budget = 350ms;
    Harness h({"https://vault-a:8200"}, p);
    for (int i = 0; i < 11; ++i) h.fake->push(vault_error(503, "overloaded, try again later"));
    auto started = std::chrono::steady_clock::now();
    auto r = h.run(get("sys/thing"));
    CHECK(r.error().code == Errc::VaultUnavailable);
    CHECK(h.fake->sent.size() >= 2);
    CHECK(h.fake->sent.size() <= 4);
    CHECK(std::chrono::steady_clock::now() - started < 1s);
}

TEST_CASE("vault client: a call with its own deadline gives each try what is left, and is not retried past it") {
    RetryPolicy p = fast_policy();
    p.base_delay = 100ms;
    p.max_delay = 100ms;
    Harness h({"https://vault-a:8200"}, p);
    for (int i = 0; i < 3; ++i) h.fake->push(vault_error(503, "overloaded"));
    VaultCall call = post("sys/mfa/validate", Json::object());
    call.deadline = 95ms;  // waits are 50-100 ms: one may fit, two (at least 100 ms) never do
    auto r = h.run(std::move(call));
    CHECK(r.error().code == Errc::VaultUnavailable);
    CHECK(h.fake->scripted() >= 1);  // a third try would start after the deadline (a slow machine may not get to two)
    CHECK(h.fake->sent.at(0).request.timeout <= 95ms);
    if (h.fake->sent.size() == 2) CHECK(h.fake->sent[1].request.timeout < 100ms);
}

TEST_CASE("retry policy: backoff doubles from the base, stays under the cap, and is jittered") {
    RetryPolicy p;
    p.base_delay = 100ms;
    p.max_delay = 1000ms;
    std::mt19937_64 rng(42);
    for (int attempt = 0; attempt < 8; ++attempt) {
        CAPTURE(attempt);
        const auto step = std::min<std::int64_t>(100 << attempt, 1000);
        std::set<std::int64_t> seen;
        for (int i = 0; i < 200; ++i) {
            auto d = p.delay(attempt, "", rng).count();
            CHECK(d >= step / 2);
            CHECK(d <= step);
            seen.insert(d);
        }
        CHECK(seen.size() > 10);  // jittered, so clients do not retry in lockstep
    }
    CHECK(p.delay(1000, "", rng) <= 1000ms);  // no overflow however many tries
    CHECK(p.delay(0, "3", rng) == 3000ms);    // Retry-After wins over backoff
}

TEST_CASE("retry policy: only 412, 429 and 5xx but 501 are retryable") {
    for (long s : {412L, 429L, 500L, 502L, 503L, 504L}) CHECK(RetryPolicy::retryable_status(s));
    for (long s : {200L, 204L, 307L, 400L, 403L, 404L, 501L}) CHECK_FALSE(RetryPolicy::retryable_status(s));
}

TEST_CASE("parse_retry_after: seconds, capped; everything else is no answer, never an exception") {
    const auto cap = 5s;
    CHECK(parse_retry_after("2", cap) == 2s);
    CHECK(parse_retry_after(" 3\t", cap) == 3s);
    CHECK(parse_retry_after("0", cap) == 0s);
    CHECK(parse_retry_after("120", cap) == 5s);
    CHECK(parse_retry_after("99999999999999999999", cap) == 5s);
    CHECK(parse_retry_after("18446744073709551616", cap) == 5s);  // 2^64
    CHECK(parse_retry_after(std::string(400, '9'), cap) == 5s);
    CHECK_FALSE(parse_retry_after("-1", cap));
    CHECK_FALSE(parse_retry_after("+1", cap));
    CHECK_FALSE(parse_retry_after("1.5", cap));
    CHECK_FALSE(parse_retry_after("1 2", cap));
    CHECK_FALSE(parse_retry_after("", cap));
    CHECK_FALSE(parse_retry_after("soon", cap));
    // An HTTP-date counts against Vault's own Date, not our clock.
    CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", cap));
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", cap, "Sun, 06 Nov 1994 08:49:37 GMT") == 3s);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", cap, "Sun, 06 Nov 1994 08:49:37 GMT") == 0s);
    CHECK(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", cap, "Sun, 06 Nov 1994 08:49:37 GMT") == 5s);
}

// --- addresses and redirects ---

TEST_CASE("vault client: when the first address is down the next is used, and remembered") {
    Harness h({"https://vault-a:8200", "https://vault-b:8200"});
    h.fake->push(unreachable("https://vault-a:8200"));
    h.fake->push(http_reply(200, kOk));
    REQUIRE(h.run(get("sys/thing")).ok());
    REQUIRE(h.fake->sent.size() == 2);
    CHECK(h.fake->sent[0].request.url == "https://vault-a:8200/v1/sys/thing");
    CHECK(h.fake->sent[1].request.url == "https://vault-b:8200/v1/sys/thing");
    CHECK(h.client->address() == "https://vault-b:8200");
    h.fake->push(http_reply(200, kOk));
    REQUIRE(h.run(get("sys/other")).ok());
    CHECK(h.fake->last().url == "https://vault-b:8200/v1/sys/other");
}

TEST_CASE("vault client: each address is tried once per try, and the error says so") {
    RetryPolicy p = fast_policy();
    p.max_retries = 1;
    Harness h({"https://vault-a:8200", "https://vault-b:8200/", "https://vault-c:8200"}, p);
    for (int i = 0; i < 8; ++i) h.fake->push(unreachable("https://vault-x:8200"));
    auto r = h.run(get("sys/thing"));
    CHECK(r.error().code == Errc::VaultUnreachable);
    CHECK(contains(r.error().message, "other 2 configured addresses"));
    REQUIRE(h.fake->sent.size() == 6);
    const char* expected[] = {"https://vault-a", "https://vault-b", "https://vault-c"};
    for (std::size_t i = 0; i < 6; ++i) CHECK(h.fake->sent[i].request.url.starts_with(expected[i % 3]));
    CHECK(h.fake->scripted() == 2);
}

TEST_CASE("vault client: a standby's 307 is followed once, with the same method, body and token") {
    Harness h;
    const std::string active = "https://vault-active:8200/v1/auth/userpass/login/alice";
    h.fake->push(with_header(http_reply(307, ""), &HttpReply::location, active));
    h.fake->push(http_reply(200, R"({"auth":{"client_token":"hvs.new"}})"));
    auto r = h.run(post("auth/userpass/login/alice", Json{{"password", "pw"}}, "hvs.token"));
    REQUIRE(r.ok());
    CHECK(vault::decode_login(r->json())->reveal() == "hvs.new");
    REQUIRE(h.fake->sent.size() == 2);
    const auto& again = h.fake->sent[1].request;
    CHECK(again.url == active);
    CHECK(again.method == "POST");
    CHECK(again.body.reveal() == h.fake->sent[0].request.body.reveal());
    CHECK(Json::parse(again.body.reveal()) == Json{{"password", "pw"}});
    CHECK(again.token.reveal() == "hvs.token");
    CHECK(h.client->address() == "https://vault-a:8200");  // the standby is still the address that answered
}

TEST_CASE("vault client: a second redirect in one call is refused") {
    Harness h;
    h.fake->push(with_header(http_reply(307, ""), &HttpReply::location, "https://vault-b:8200/v1/sys/thing"));
    h.fake->push(with_header(http_reply(307, ""), &HttpReply::location, "https://vault-c:8200/v1/sys/thing"));
    auto r = h.run(get("sys/thing"));
    CHECK(r.error().code == Errc::VaultBadResponse);
    CHECK(contains(r.error().message, "again"));
    CHECK(h.fake->sent.size() == 2);
}

TEST_CASE("vault client: a redirect from https to http is refused before anything is sent") {
    Harness h;
    h.fake->push(with_header(http_reply(307, ""), &HttpReply::location, "http://vault-b:8200/v1/sys/thing"));
    auto r = h.run(post("sys/thing", Json{{"password", "pw"}}));
    CHECK(r.error().code == Errc::VaultBadResponse);
    CHECK(contains(r.error().message, "downgrade"));
    CHECK(h.fake->sent.size() == 1);
}

TEST_CASE("vault client: a retry after a redirect asks the node it was sent to") {
    Harness h;
    const std::string active = "https://vault-active:8200/v1/sys/thing";
    h.fake->push(with_header(http_reply(307, ""), &HttpReply::location, active));
    h.fake->push(vault_error(503, "overloaded, try again later"));
    h.fake->push(http_reply(200, kOk));
    REQUIRE(h.run(get("sys/thing")).ok());
    REQUIRE(h.fake->sent.size() == 3);
    CHECK(h.fake->sent[2].request.url == active);
}

TEST_CASE("endpoint set: redirect targets") {
    const std::string from = "https://standby:8200/v1/sys/thing?x=1";
    CHECK(*EndpointSet::redirect_target(from, "https://active:8200/v1/sys/thing") == "https://active:8200/v1/sys/thing");
    CHECK(*EndpointSet::redirect_target(from, " HTTPS://active:8200/v1/a ") == "HTTPS://active:8200/v1/a");
    CHECK(*EndpointSet::redirect_target(from, "/v1/sys/other") == "https://standby:8200/v1/sys/other");
    CHECK(*EndpointSet::redirect_target("http://standby:8200/v1/a", "https://active:8200/v1/a") ==
          "https://active:8200/v1/a");
    for (const char* bad : {"", "http://active:8200/v1/a", "ftp://active/v1/a", "https://", "//active/v1/a",
                            "https://active:8200/v1/a b", "https://active/\x1b[2J", "v1/relative"}) {
        CAPTURE(bad);
        auto r = EndpointSet::redirect_target(from, bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::VaultBadResponse);
        CHECK(contains(r.error().message, "Vault at https://standby:8200"));
    }
}

TEST_CASE("endpoint set: addresses lose their trailing '/', and origins are what messages name") {
    EndpointSet e({"https://a:8200/", "http://b:8200//"});
    CHECK(e.current() == "https://a:8200");
    CHECK(e.at(1) == "http://b:8200");
    CHECK(e.index_after(1) == 1);
    e.answered(1);
    CHECK(e.current() == "http://b:8200");
    CHECK(e.index_after(1) == 0);
    CHECK(EndpointSet::origin("https://vault:8200/v1/sys/health?x") == "https://vault:8200");
    CHECK(EndpointSet::origin("http://vault?x") == "http://vault");
}

TEST_CASE("vault client: an address that is not an http(s) URL fails every call, after call() returns") {
    Harness h({"vault.example.com:8200"});
    bool called = false;
    Error error{Errc::Internal, ""};
    h.client->call(get("sys/thing"), [&](Result<VaultReply> r) {
        called = true;
        error = r.error();
    });
    CHECK_FALSE(called);
    h.io.run();
    CHECK(called);
    CHECK(error.code == Errc::InvalidArgument);
    CHECK(contains(error.message, "'vault.example.com:8200' must start with https://"));
    CHECK(h.fake->sent.empty());
}

// --- decoding ---

TEST_CASE("vault client: 204, and 200 without a body, are an empty object") {
    Harness h;
    h.fake->push(http_reply(204, ""));
    h.fake->push(http_reply(200, ""));
    for (int i = 0; i < 2; ++i) {
        auto r = h.run(post("auth/token/revoke-self", Json::object(), "hvs.t"));
        REQUIRE(r.ok());
        CHECK(r->json() == Json::object());
    }
}

TEST_CASE("vault client: a 2xx that is not a JSON object is a bad response") {
    for (const char* body : {"<html>hello</html>", "[1,2]", "\"text\"", "{\"truncated\":"}) {
        CAPTURE(body);
        Harness h;
        h.fake->push(http_reply(200, body, "text/html"));
        auto r = h.run(get("auth/token/lookup-self"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::VaultBadResponse);
        CHECK(contains(r.error().message, "is VAULT_ADDR pointing at Vault?"));
    }
}

TEST_CASE("vault client: a text call returns the body as it is") {
    Harness h;
    VaultCall c = get("ssh/public_key");
    c.text = true;
    h.fake->push(http_reply(200, "ssh-ed25519 AAAAC3Nza\n", "text/plain"));
    auto r = h.run(c);
    REQUIRE(r.ok());
    CHECK(r->text() == "ssh-ed25519 AAAAC3Nza\n");
    h.fake->push(vault_error(404, ""));
    auto missing = h.run(c);
    CHECK(missing.error().code == Errc::NotFound);
}

TEST_CASE("vault client: the request carries path, method, token, namespace, timeout and the JSON body") {
    Harness h;
    h.settings.namespace_name = "team/";
    h.settings.timeout = 7s;
    h.client = std::make_unique<VaultClient>(h.io, h.settings, h.fake, fast_policy());
    Json body{{"password", "p\"w\\\n\x01\xC3\xA9"}, {"n", 3}, {"list", {"a", true, nullptr}}, {"nested", {{"k", 1.5}}}};
    Json copy = body;
    h.fake->push(http_reply(200, kOk));
    REQUIRE(h.run(post("/auth/userpass/login/alice", std::move(body), "hvs.secret")).ok());
    const auto& req = h.fake->last();
    CHECK(req.url == "https://vault-a:8200/v1/auth/userpass/login/alice");
    CHECK(req.method == "POST");
    CHECK(req.token.reveal() == "hvs.secret");
    CHECK(req.namespace_name == "team/");
    CHECK(req.timeout == 7s);
    CHECK(Json::parse(req.body.reveal()) == copy);
}

TEST_CASE("vault client: Vault's error text reaches detail, the request body never reaches the error") {
    Harness h;
    h.fake->push(vault_error(400, "invalid username or password"));
    auto r = h.run(post("auth/userpass/login/alice", Json{{"password", "hunter2-secret"}}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().detail == "invalid username or password");
    CHECK(contains(r.error().message, "invalid username or password"));
    CHECK_FALSE(contains(r.error().message, "hunter2"));
    CHECK_FALSE(contains(r.error().detail, "hunter2"));
}

TEST_CASE("vault client: a Vault that echoes the request in its error cannot pass the password on") {
    Harness h;
    h.fake->push(vault_error(400, R"(could not decode {\"password\":\"hunter2-secret\",\"user\":\"alice\"})"));
    auto r = h.run(post("auth/userpass/login/alice", Json{{"password", "hunter2-secret"}, {"user", "alice"}}));
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(contains(r.error().detail, "hunter2"));
    CHECK_FALSE(contains(r.error().message, "hunter2"));
    CHECK(contains(r.error().detail, "<redacted>"));
    CHECK(contains(r.error().detail, "alice"));  // only secret fields are cut
}

TEST_CASE("vault client: an MFA passcode and request ID echoed in an error are cut out") {
    Harness h;
    h.fake->push(vault_error(400, R"(found an invalid MFA cred: 12=3456 for request 5c9a-secret-id)"));
    auto r = h.run(post("sys/mfa/validate", Json{{"mfa_request_id", "5c9a-secret-id"}, {"mfa_payload", {{"m1", {"12=3456"}}}}}));
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(contains(r.error().detail, "12=3456"));
    CHECK_FALSE(contains(r.error().detail, "5c9a-secret-id"));
    CHECK(contains(r.error().detail, "found an invalid MFA cred: <redacted>"));
}

TEST_CASE("vault client: query parameters are escaped into the URL, kept out of the path, and cut from echoing errors") {
    Harness h;
    h.fake->push(vault_error(400, "Vault login failed. Error exchanging oidc code: bad code a/b c-secret."));
    VaultCall call = get("auth/oidc/oidc/callback");
    call.query.emplace_back("state", SecretString("st_1"));
    call.query.emplace_back("code", SecretString("a/b c-secret"));
    call.query.emplace_back("id_token", SecretString());
    auto r = h.run(std::move(call));
    REQUIRE_FALSE(r.ok());
    CHECK(h.fake->sent.at(0).request.url ==
          "https://vault-a:8200/v1/auth/oidc/oidc/callback?state=st_1&code=a%2Fb%20c-secret&id_token=");
    CHECK_FALSE(contains(r.error().detail, "c-secret"));
    CHECK_FALSE(contains(r.error().message, "c-secret"));
    CHECK(contains(r.error().detail, "exchanging oidc code: bad code <redacted>."));
}

TEST_CASE("vault reply: warnings are sanitized, and the Date header gives Vault's clock") {
    Harness h;
    auto reply = http_reply(200, R"({"warnings":["TTL capped\u001b[2J", 7, "plain"]})");
    reply.date = "Sun, 06 Nov 1994 08:49:37 GMT";
    h.fake->push(std::move(reply));
    auto r = h.run(get("auth/token/renew-self"));
    REQUIRE(r.ok());
    CHECK(r->warnings() == std::vector<std::string>{"TTL capped", "plain"});
    CHECK(r->server_time() == 784111777);
    CHECK(VaultReply().warnings().empty());
}

TEST_CASE("parse_http_date: IMF-fixdate only") {
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    CHECK(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT") == 1709208000);
    for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT",
                            "Sun Nov  6 08:49:37 1994", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 30 Feb 1994 08:49:37 GMT",
                            "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, -6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMTX"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_http_date(bad));
    }
}

// --- paths ---

TEST_CASE("vault path: a user name cannot climb to another endpoint") {
    auto login = [](std::string_view user) {
        return vault_path({lit("auth"), mount("userpass"), lit("login"), name(user, "user name")});
    };
    for (const char* bad : {"../../../sys/seal", "..", ".", "", "alice/..", "./x"}) {
        CAPTURE(bad);
        auto r = login(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::InvalidArgument);
        CHECK(contains(r.error().message, "user name"));
    }
    // What cannot be refused is escaped: Vault sees one segment, never sys/seal.
    auto escaped = login("..%2F..%2F..%2Fsys%2Fseal");
    REQUIRE(escaped.ok());
    CHECK(*escaped == "auth/userpass/login/..%252F..%252F..%252Fsys%252Fseal");
    CHECK(*login("a/b c") == "auth/userpass/login/a%2Fb%20c");
    CHECK(*login("alice.smith-2_~") == "auth/userpass/login/alice.smith-2_~");
    CHECK(*login("j\xC3\xA9r\xC3\xB4me") == "auth/userpass/login/j%C3%A9r%C3%B4me");
}

TEST_CASE("vault path: mounts are split on '/', with the config's leading and trailing '/' dropped") {
    CHECK(*vault_path({mount("ssh/"), lit("sign"), name("dev", "role")}) == "ssh/sign/dev");
    CHECK(*vault_path({mount("/team/ssh/"), lit("sign"), name("dev", "role")}) == "team/ssh/sign/dev");
    CHECK(*vault_path({lit("auth/token/lookup-self")}) == "auth/token/lookup-self");
    CHECK(*vault_path({mount("my mount")}) == "my%20mount");
    for (const char* bad : {"", "/", "a//b", "..", "team/../sys"}) {
        CAPTURE(bad);
        auto r = vault_path({mount(bad), lit("sign")});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::InvalidArgument);
        CHECK(contains(r.error().message, "mount"));
    }
}

TEST_CASE("vault client: an escaped path is sent as built") {
    Harness h;
    auto path = vault_path({mount("ssh"), lit("sign"), name("dev team", "role")});
    REQUIRE(path.ok());
    h.fake->push(http_reply(200, kOk));
    REQUIRE(h.run(post(*path, Json{{"public_key", "k"}})).ok());
    CHECK(h.fake->last().url == "https://vault-a:8200/v1/ssh/sign/dev%20team");
}

// --- shutdown and callback guarantees ---

TEST_CASE("vault client: shutdown() with calls in flight and retries waiting runs no callback") {
    RetryPolicy p;
    p.base_delay = 4s;
    p.max_delay = 4s;
    Harness h({"https://vault-a:8200"}, p);
    int callbacks = 0;
    h.fake->push(vault_error(503, "overloaded, try again later"));
    h.client->call(get("sys/retrying"), [&](auto) { ++callbacks; });
    h.client->call(get("sys/in-flight"), [&](auto) { ++callbacks; });
    h.io.run_for(100ms);
    REQUIRE(h.client->pending() == 2);
    REQUIRE(h.fake->held() == 1);
    h.client->shutdown();
    CHECK(h.client->pending() == 0);
    CHECK(h.fake->in_flight() == 0);
    auto started = std::chrono::steady_clock::now();
    h.io.restart();
    h.io.run();  // the retry's timer was cancelled: nothing keeps the loop
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    CHECK(callbacks == 0);

    // The client works again afterwards.
    h.fake->push(http_reply(200, kOk));
    CHECK(h.run(get("sys/after")).ok());
}

TEST_CASE("vault client: an answer already on its way when shutdown() is called is not delivered") {
    Harness h;
    int callbacks = 0;
    h.fake->push(http_reply(200, kOk));
    h.client->call(get("sys/thing"), [&](auto) { ++callbacks; });
    h.client->shutdown();
    h.io.run();
    CHECK(callbacks == 0);
}

TEST_CASE("vault client: destroying the client abandons its calls; done may destroy it too") {
    Harness h;
    int callbacks = 0;
    h.fake->push(vault_error(503, "overloaded, try again later"));
    h.client->call(get("sys/a"), [&](auto) { ++callbacks; });
    h.client->call(get("sys/b"), [&](auto) { ++callbacks; });
    h.io.run_for(20ms);
    h.client.reset();
    h.io.restart();
    h.io.run();
    CHECK(callbacks == 0);

    h.client = std::make_unique<VaultClient>(h.io, h.settings, h.fake, fast_policy());
    h.fake->push(http_reply(200, kOk));
    h.client->call(get("sys/c"), [&](auto r) {
        ++callbacks;
        CHECK(r.ok());
        h.client.reset();
    });
    h.io.restart();
    h.io.run();
    CHECK(callbacks == 1);
}

TEST_CASE("vault client: done never runs inside call()") {
    Harness h;
    h.fake->push(http_reply(200, kOk));
    bool called = false;
    h.client->call(get("sys/thing"), [&](auto) { called = true; });
    CHECK_FALSE(called);
    h.io.run();
    CHECK(called);
}

TEST_CASE("wipe_strings: every string value is emptied; keys, numbers and structure stay") {
    Json j{{"password", "hunter2"}, {"list", {"a", "b", 3}}, {"nested", {{"token", "hvs.x"}, {"n", 1}}}};
    wipe_strings(j);
    CHECK(j["password"] == "");
    CHECK(j["list"] == Json{"", "", 3});
    CHECK(j["nested"]["token"] == "");
    CHECK(j["nested"]["n"] == 1);
    Json s = "alone";
    wipe_strings(s);
    CHECK(s == "");
}

// --- classification and sanitizing ---

TEST_CASE("classify: each status becomes the error a user can act on") {
    const std::string at = "https://vault:8200";
    auto classify = [&](long status, std::string_view body, std::string content_type = "application/json") {
        return classify_vault_reply(http_reply(status, body, std::move(content_type)), at);
    };
    auto denied = classify(403, R"({"errors":["1 error occurred:\n\t* permission denied\n\n"]})");
    CHECK(denied.code == Errc::VaultDenied);
    CHECK(denied.detail == "permission denied");
    CHECK_FALSE(says_invalid_token(denied));

    auto dead = classify(403, R"({"errors":["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]})");
    CHECK(dead.code == Errc::VaultDenied);
    CHECK(says_invalid_token(dead));
    CHECK(contains(dead.message, "log in again"));

    auto sealed = classify(503, R"({"errors":["Vault is sealed"]})");
    CHECK(sealed.code == Errc::VaultUnavailable);
    CHECK(contains(sealed.message, "Vault at https://vault:8200 is sealed; ask your Vault operator to unseal it"));

    auto limited = classify(429, R"({"errors":["request path \"x\": rate limit quota exceeded"]})");
    CHECK(limited.code == Errc::VaultUnavailable);
    CHECK(contains(limited.message, "rate-limiting"));

    CHECK(classify(500, R"({"errors":["internal error"]})").code == Errc::VaultUnavailable);
    CHECK(classify(502, "").code == Errc::VaultUnavailable);

    auto nothing = classify(404, R"({"errors":[]})");
    CHECK(nothing.code == Errc::NotFound);
    auto no_route = classify(404, R"({"errors":["no handler for route \"ssh2/sign/dev\""]})");
    CHECK(no_route.code == Errc::VaultRefused);
    CHECK(contains(no_route.detail, "no handler for route"));

    auto refused = classify(400, R"({"errors":["Unknown role: dev"]})");
    CHECK(refused.code == Errc::VaultRefused);
    CHECK(refused.detail == "Unknown role: dev");
    CHECK(contains(refused.message, "Unknown role: dev"));

    CHECK(classify(302, "").code == Errc::VaultBadResponse);
    CHECK(classify(999, "").code == Errc::VaultBadResponse);

    auto proxy = classify(502, "<html><body>Bad Gateway</body></html>", "text/html");
    CHECK(contains(proxy.message, "not Vault's JSON"));
    CHECK(proxy.detail.empty());
}

TEST_CASE("sanitize_vault_text: nothing reaches a terminal that could drive it") {
    CHECK(sanitize_vault_text("\x1b[31mred\x1b[0m text") == "red text");
    CHECK(sanitize_vault_text("\x1b]0;owned\x07ok") == "ok");
    CHECK(sanitize_vault_text("\x1b]8;;http://x\x1b\\link") == "link");
    CHECK(sanitize_vault_text("a\x1b" "cb") == "ab");
    CHECK(sanitize_vault_text("\xC2\x9B" "31mred") == "red");  // C1 CSI
    CHECK(sanitize_vault_text("line\nnext\ttab\r") == "line next tab");
    CHECK(sanitize_vault_text("nul\x01" "del\x7F") == "nul\xEF\xBF\xBD" "del\xEF\xBF\xBD");
    CHECK(sanitize_vault_text("bad \xFF byte") == "bad \xEF\xBF\xBD byte");
    CHECK(sanitize_vault_text("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong '/'
    CHECK(sanitize_vault_text("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    CHECK(sanitize_vault_text("abc\xE2\x80\xAE" "fed") == "abc\xEF\xBF\xBD" "fed");  // right-to-left override
    CHECK(sanitize_vault_text("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80");
    CHECK(sanitize_vault_text("  padded  ") == "padded");
}

TEST_CASE("sanitize_vault_text: long text is cut at a character boundary, with an ellipsis") {
    auto ascii = sanitize_vault_text(std::string(5000, 'a'));
    CHECK(ascii.size() <= kMaxVaultTextBytes);
    CHECK(ascii.ends_with("\xE2\x80\xA6"));
    std::string accents;
    for (int i = 0; i < 700; ++i) accents += "\xC3\xA9";
    auto cut = sanitize_vault_text(accents);
    CHECK(cut.size() <= kMaxVaultTextBytes);
    CHECK(cut.ends_with("\xE2\x80\xA6"));
    CHECK(sanitize_vault_text(cut) == cut);  // still valid UTF-8: nothing to replace
    CHECK(sanitize_vault_text(std::string(kMaxVaultTextBytes, 'b')) == std::string(kMaxVaultTextBytes, 'b'));
}

TEST_CASE("error_text: Vault's messages come out sanitized") {
    CHECK(vault::error_text(R"({"errors":["\u001b[2Jgone"]})") == "gone");
    CHECK(vault::error_text(R"({"errors":["1 error occurred:\n\t* permission denied\n\n"]})") == "permission denied");
}

TEST_CASE("vault decode: sys/health's server_time_utc is taken only when a real time could be it") {
    using vault::Json;
    CHECK(vault::decode_server_time(Json::parse(R"({"server_time_utc": 1796300000})")) == 1796300000);
    // A hostile or broken Vault: nothing that would overflow the skew computed from it, no type error.
    for (const char* bad : {R"({"server_time_utc": 18446744073709551615})", R"({"server_time_utc": -9223372036854775808})",
                            R"({"server_time_utc": "1796300000"})", R"({"server_time_utc": 1.5})", R"({})", R"([])"})
        CHECK_FALSE(vault::decode_server_time(Json::parse(bad)));
}
