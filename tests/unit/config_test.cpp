// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <memory>

#include "config.hpp"
#include "host_match.hpp"

using namespace sshcert;
using namespace sshcert::config;

namespace {
config::Getenv env(std::map<std::string, std::string> vars) {
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    return [shared](const char* name) -> const char* {
        auto it = shared->find(name);
        return it == shared->end() ? nullptr : it->second.c_str();
    };
}

std::string error_of(const std::string& toml) {
    auto r = parse(toml, "config.toml");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}
}  // namespace

TEST_CASE("config: the example file shipped in config/ loads") {
    auto r = load_file(SSHCERT_SOURCE_DIR "/config/example-config.toml", true);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(r->vault.address == "https://vault.example.com:8200");
    REQUIRE(r->profiles.size() == 2);
    CHECK(r->profiles[0].ttl == std::chrono::hours(1));
    CHECK(r->profiles[0].principals == std::vector<std::string>{"ubuntu"});
    CHECK(r->profiles[1].mount == "ssh");
}

TEST_CASE("config: every profile field is read") {
    auto r = parse(R"(
[[profile]]
name = "prod"
hosts = ["*.prod"]
mount = "ssh-prod"
role = "ops"
principals = ["ubuntu", "ec2-user"]
ttl = 900
key_type = "ecdsa-p384"
extensions = ["permit-pty"]
)", "c.toml");
    REQUIRE(r.ok());
    const Profile& p = r->profiles.at(0);
    CHECK(p.mount == "ssh-prod");
    CHECK(p.ttl == std::chrono::seconds(900));
    CHECK(p.key_type == KeyType::EcdsaP384);
    CHECK(p.extensions == std::vector<std::string>{"permit-pty"});
}

TEST_CASE("config: unknown keys and bad values are reported with file and line") {
    CHECK(error_of("[vault]\naddress = \"x\"\nadress = \"y\"\n") == "config.toml:3: unknown key 'adress' in [vault]");
    CHECK(error_of("[vault]\nskip_verify = \"yes\"\n") == "config.toml:2: [vault] skip_verify must be true or false");
    CHECK(error_of("\n\ncolour = 1\n").starts_with("config.toml:3: unknown key 'colour'"));
    CHECK(error_of("[[profile]]\nname = \"a\"\nrole = \"r\"\nhosts = [\"*\"]\nkey_type = \"dsa\"\n")
              .starts_with("config.toml:5: [[profile]] key_type must be one of"));
    CHECK(error_of("[[profile]]\nname = \"a\"\nrole = \"r\"\nhosts = [\"*\"]\nttl = \"soon\"\n")
              .starts_with("config.toml:5: [[profile]] ttl must be a duration"));
    CHECK(error_of("[[profile]]\nname = \"a\"\nhosts = [\"*\"]\n").find("needs a role") != std::string::npos);
    CHECK(error_of("[vault\n").starts_with("config.toml:1: "));
    CHECK(error_of("[auth]\nmethod = \"kerberos\"\n") == "config.toml:2: [auth] method must be \"token\" or \"userpass\"");
}

TEST_CASE("config: Vault CLI variables override the file") {
    auto c = parse("[vault]\naddress = \"https://file:8200\"\n", "c.toml");
    REQUIRE(c.ok());
    REQUIRE(apply_vault_env(*c, env({{"VAULT_ADDR", "http://127.0.0.1:8200"}, {"VAULT_SKIP_VERIFY", "t"},
                                     {"VAULT_NAMESPACE", "team/"}, {"VAULT_CACERT", "/ca.pem"}}))
                .ok());
    CHECK(c->vault.address == "http://127.0.0.1:8200");
    CHECK(c->vault.skip_verify);
    CHECK(c->vault.namespace_name == "team/");
    CHECK(c->vault.ca_cert == "/ca.pem");
    auto bad = apply_vault_env(*c, env({{"VAULT_SKIP_VERIFY", "maybe"}}));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("VAULT_SKIP_VERIFY") != std::string::npos);
}

TEST_CASE("config: a missing default file means defaults, a missing --config file is an error") {
    auto defaults = load(std::nullopt, env({{"XDG_CONFIG_HOME", "/nonexistent-dir"}}));
    REQUIRE(defaults.ok());
    CHECK(defaults->vault.address == "https://127.0.0.1:8200");
    auto explicit_missing = load(std::string("/nonexistent-dir/c.toml"), env({}));
    REQUIRE_FALSE(explicit_missing.ok());
    CHECK(explicit_missing.error().message.find("/nonexistent-dir/c.toml") != std::string::npos);
}

TEST_CASE("durations: Vault's forms") {
    CHECK(parse_duration("90") == std::chrono::seconds(90));
    CHECK(parse_duration("15m") == std::chrono::seconds(900));
    CHECK(parse_duration("1h30m") == std::chrono::seconds(5400));
    CHECK(parse_duration("2d") == std::chrono::seconds(172800));
    CHECK_FALSE(parse_duration("").has_value());
    CHECK_FALSE(parse_duration("1h30").has_value());
    CHECK_FALSE(parse_duration("5y").has_value());
    CHECK_FALSE(parse_duration("99999999999h").has_value());
}

TEST_CASE("host patterns: ssh_config wildcards, negation and case") {
    CHECK(match_pattern("*.prod.example.com", "web-1.prod.example.com"));
    CHECK_FALSE(match_pattern("*.prod.example.com", "prod.example.com"));
    CHECK(match_pattern("10.0.?.*", "10.0.2.15"));
    CHECK(match_pattern("WEB-*", "web-7"));
    CHECK(match_pattern("*", ""));
    CHECK_FALSE(match_pattern("a*b*c", "aXbY"));
    CHECK(match_pattern("a*b*c", "aXbYbZc"));
    CHECK(match_host({"*.prod", "!bastion.prod"}, "web.prod"));
    CHECK_FALSE(match_host({"*.prod", "!bastion.prod"}, "bastion.prod"));
    CHECK_FALSE(match_host({"!bastion.prod"}, "web.prod"));  // negation alone matches nothing, as in ssh_config
}

TEST_CASE("profiles: the first profile whose hosts match wins") {
    auto c = parse(R"(
[[profile]]
name = "prod"
hosts = ["*.prod", "!bastion.prod"]
role = "prod"
[[profile]]
name = "any"
hosts = ["*"]
role = "dev"
)", "c.toml");
    REQUIRE(c.ok());
    CHECK(c->profile_for_host("web.prod")->name == "prod");
    CHECK(c->profile_for_host("bastion.prod")->name == "any");
    CHECK(c->find_profile("nope") == nullptr);
    CHECK(error_of("[[profile]]\nname=\"a\"\nrole=\"r\"\nhosts=[\"*\"]\n[[profile]]\nname=\"a\"\nrole=\"r\"\nhosts=[\"*\"]\n")
              .find("defined twice") != std::string::npos);
}
