// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "control_codec.hpp"

using namespace sshcert;
using control::Json;

namespace {
Result<Json> decode_text(const std::string& s) { return control::decode(wire::view(s)); }
}  // namespace

TEST_CASE("control codec: a request survives encode and decode") {
    auto req = control::make_request(control::op::kEnsure, {{"host", "web-1"}});
    auto frame = control::encode(req);
    CHECK(wire::load_be32(frame.data()) == frame.size() - 4);
    auto back = control::decode(wire::ByteView(frame).subspan(4));
    REQUIRE(back.ok());
    CHECK((*back)["op"] == "ensure");
    CHECK((*back)["host"] == "web-1");
}

TEST_CASE("control codec: non-JSON, non-objects and other versions are rejected with a reason") {
    CHECK(decode_text("{").error().code == Errc::InvalidMessage);
    CHECK(decode_text("[1,2]").error().message.find("not a JSON object") != std::string::npos);
    CHECK(decode_text("{\"op\":\"status\"}").error().message.find("no version") != std::string::npos);
    auto v2 = decode_text("{\"version\":2,\"op\":\"status\"}");
    REQUIRE_FALSE(v2.ok());
    CHECK(v2.error().message.find("same version") != std::string::npos);
}

TEST_CASE("control codec: error replies carry code and message to the other side") {
    auto reply = control::make_error_reply({Errc::VaultDenied, "permission denied"});
    auto r = control::reply_result(reply);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::VaultDenied);
    CHECK(r.error().message == "permission denied");
    CHECK(control::reply_result(Json{{"ok", false}}).error().code == Errc::InvalidMessage);
}

TEST_CASE("control codec: field reader reports the first missing or mistyped field") {
    Json j{{"host", 5}, {"user", "bob"}};
    control::FieldReader f(j);
    CHECK(f.string("user") == "bob");
    CHECK(f.string("host").empty());
    REQUIRE(f.error());
    CHECK(f.error()->message.find("'host' must be a string") != std::string::npos);
    CHECK_FALSE(f.optional_string("profile").has_value());
}

TEST_CASE("control codec: certificate summaries round trip and reject missing fields") {
    control::CertSummary c{.profile = "prod", .key_type = "ssh-ed25519", .fingerprint = "SHA256:x", .key_id = "id",
                           .serial = "ab", .principals = {"ubuntu"}, .valid_after = 1, .valid_before = 2,
                           .extensions = {"permit-pty"}};
    auto back = control::cert_summary_from_json(control::to_json(c));
    REQUIRE(back.ok());
    CHECK(back->principals == c.principals);
    CHECK(back->valid_before == 2);
    Json broken = control::to_json(c);
    broken.erase("serial");
    CHECK_FALSE(control::cert_summary_from_json(broken).ok());
}

TEST_CASE("control codec: the token summary carries when the login ends, and an older daemon's reply still reads") {
    control::TokenSummary t{.vault_addr = "https://vault:8200", .display_name = "userpass-alice", .policies = {"default"},
                            .ttl_seconds = 600, .renewable = true, .login_required_at = 1796193354, .login_end_near = true};
    auto back = control::token_summary_from_json(control::to_json(t));
    REQUIRE(back.ok());
    CHECK(back->login_required_at == 1796193354);
    CHECK(back->login_end_near);
    auto old = control::Json{{"vault_addr", "v"}, {"display_name", "d"}, {"policies", control::Json::array()},
                             {"ttl_seconds", 5}, {"renewable", false}};
    auto read = control::token_summary_from_json(old);
    REQUIRE(read.ok());
    CHECK(read->login_required_at == 0);
    CHECK_FALSE(read->login_end_near);
    old["login_required_at"] = "soon";
    CHECK_FALSE(control::token_summary_from_json(old).ok());
}
