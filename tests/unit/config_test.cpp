// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "config.hpp"
#include "fake_env.hpp"
#include "host_match.hpp"
#include "paths.hpp"

using namespace sshcert;
using sshcert::test::env;
using namespace sshcert::config;

namespace {

std::string error_of(const std::string& toml) {
    auto r = parse(toml, "config.toml");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}
}  // namespace

TEST_CASE("config: the example file, installed as /etc/sshcert/config.toml, sets nothing until uncommented") {
    const std::string path = SSHCERT_SOURCE_DIR "/config/example-config.toml";
    auto as_shipped = load_file(path, true);
    REQUIRE_MESSAGE(as_shipped.ok(), (as_shipped.ok() ? "" : as_shipped.error().message));
    CHECK(as_shipped->vault.address == "https://127.0.0.1:8200");
    CHECK(as_shipped->profiles.empty());

    // Settings are commented out as "#key = value", explanations as "# text".
    std::ifstream in(path);
    std::string uncommented;
    for (std::string line; std::getline(in, line);)
        uncommented += (line.size() > 1 && line[0] == '#' && line[1] != ' ' ? line.substr(1) : line) + "\n";
    auto r = parse(uncommented, "example-config.toml");
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(r->vault.address == "https://vault.example.com:8200");
    CHECK(r->auth.method == "userpass");
    CHECK(r->auth.mfa_timeout == std::chrono::minutes(2));
    REQUIRE(r->profiles.size() == 2);
    CHECK(r->profiles[0].ttl == std::chrono::hours(1));
    CHECK(r->profiles[0].principals == std::vector<std::string>{"ubuntu"});
    CHECK(r->profiles[1].mount == "ssh");
    CHECK(r->profiles[1].vault == "corp");
    CHECK(r->find_auth("corp")->method == "ldap");
}

TEST_CASE("config: without a file of their own, users get the system-wide one, never merged with theirs") {
    auto dir = std::filesystem::temp_directory_path() / ("sshcert-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "home" / "sshcert");
    std::string system_file = (dir / "system.toml").string();
    std::ofstream(system_file) << "[vault]\naddress = \"https://system:8200\"\n[auth]\nmethod = \"userpass\"\n";
    auto e = env({{"XDG_CONFIG_HOME", (dir / "home").string()}});

    auto from_system = load(std::nullopt, e, system_file);
    REQUIRE(from_system.ok());
    CHECK(from_system->source == system_file);
    CHECK(from_system->vault.address == "https://system:8200");

    std::string user_file = (dir / "home" / "sshcert" / "config.toml").string();
    std::ofstream(user_file) << "[vault]\naddress = \"https://mine:8200\"\n";
    auto from_user = load(std::nullopt, e, system_file);
    REQUIRE(from_user.ok());
    CHECK(from_user->source == user_file);
    CHECK(from_user->vault.address == "https://mine:8200");
    CHECK(from_user->auth.method == "token");  // nothing taken from the system file

    auto explicit_missing = load(std::string((dir / "none.toml").string()), e, system_file);
    CHECK_FALSE(explicit_missing.ok());  // --config never falls back
    auto neither = load(std::nullopt, env({{"XDG_CONFIG_HOME", (dir / "empty").string()}}), (dir / "none.toml").string());
    REQUIRE(neither.ok());
    CHECK(neither->source.empty());
    std::filesystem::remove_all(dir);
}

TEST_CASE("paths: the user unit search path is systemd's, in its order") {
    CHECK(user_unit_dirs(env({{"HOME", "/h"}})) ==
          std::vector<std::string>{"/h/.config/systemd/user", "/etc/xdg/systemd/user", "/etc/systemd/user", "/run/systemd/user",
                                   "/h/.local/share/systemd/user", "/usr/local/share/systemd/user", "/usr/share/systemd/user",
                                   "/usr/local/lib/systemd/user", "/usr/lib/systemd/user"});
    CHECK(user_unit_dirs(env({{"HOME", "/h"}, {"XDG_CONFIG_HOME", "/c"}, {"XDG_CONFIG_DIRS", "/c1:relative:/c2"},
                              {"XDG_RUNTIME_DIR", "/r"}, {"XDG_DATA_HOME", "/d"}, {"XDG_DATA_DIRS", "/d1"}})) ==
          std::vector<std::string>{"/c/systemd/user", "/c1/systemd/user", "/c2/systemd/user", "/etc/systemd/user", "/r/systemd/user",
                                   "/run/systemd/user", "/d/systemd/user", "/d1/systemd/user", "/usr/local/lib/systemd/user",
                                   "/usr/lib/systemd/user"});
}

TEST_CASE("paths: a user unit is found in the user's own unit directory") {
    auto dir = std::filesystem::temp_directory_path() / ("sshcert-unit-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "systemd" / "user");
    std::ofstream(dir / "systemd" / "user" / "sshcert-test.socket") << "[Socket]\n";
    auto e = env({{"XDG_CONFIG_HOME", dir.string()}});
    CHECK(find_user_unit(e, "sshcert-test.socket") == (dir / "systemd" / "user" / "sshcert-test.socket").string());
    CHECK(find_user_unit(e, "sshcert-test-nonexistent.socket").empty());
    std::filesystem::remove_all(dir);
}

TEST_CASE("paths: a runtime directory another user created first is refused with who owns it and what to do") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: giving a directory to another user needs root");
        return;
    }
    auto dir = std::filesystem::temp_directory_path() / ("sshcert-taken-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    REQUIRE(std::filesystem::create_directory(dir));
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);  // "nobody" took it before us

    auto st = make_private_dir(dir.string());
    REQUIRE_FALSE(st.ok());
    const std::string& m = st.error().message;
    CHECK_MESSAGE(m.find(dir.string() + " belongs to ") == 0, m);
    CHECK_MESSAGE(m.find("(uid 65534), mode 0700, not to you (uid 0)") != std::string::npos, m);
    CHECK_MESSAGE(m.find("another user may have created it") != std::string::npos, m);
    CHECK_MESSAGE(m.find("set XDG_RUNTIME_DIR") != std::string::npos, m);
    CHECK_MESSAGE(m.find("remove it as root: rm -r " + dir.string()) != std::string::npos, m);

    SUBCASE("a symlink in its place is named as one") {
        std::filesystem::remove(dir);
        std::filesystem::create_directory_symlink("/", dir);
        auto link = make_private_dir(dir.string());
        REQUIRE_FALSE(link.ok());
        CHECK_MESSAGE(link.error().message.find(dir.string() + " is a symlink (user root (uid 0), mode 0777)") == 0,
                      link.error().message);
    }
    SUBCASE("our own directory open to others gets the chmod to run") {
        REQUIRE(::chown(dir.c_str(), 0, 0) == 0);
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::others_read |
                                              std::filesystem::perms::others_exec);
        auto open = make_private_dir(dir.string());
        REQUIRE_FALSE(open.ok());
        CHECK(open.error().message == dir.string() + " is accessible to other users (mode 0705); run: chmod 700 " + dir.string());
    }
    std::filesystem::remove_all(dir);
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
    CHECK_FALSE(p.auto_extensions);
}

TEST_CASE("config: extensions = \"auto\", and another word is an error that names both forms") {
    auto r = parse("[[profile]]\nname = \"a\"\nrole = \"r\"\nhosts = [\"*\"]\nextensions = \"auto\"\n", "c.toml");
    REQUIRE(r.ok());
    CHECK(r->profiles.at(0).auto_extensions);
    CHECK(r->profiles.at(0).extensions.empty());
    CHECK(error_of("[[profile]]\nname = \"a\"\nrole = \"r\"\nhosts = [\"*\"]\nextensions = \"all\"\n") ==
          "config.toml:5: [[profile]] extensions must be a list of strings, e.g. [\"a\", \"b\"], or \"auto\"");
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
    CHECK(error_of("[auth]\nmethod = \"kerberos\"\n") == "config.toml:2: [auth] method must be token, userpass, ldap, oidc, approle, cert or aws");
    auto ldap = parse("[auth]\nmethod = \"ldap\"\nmount = \"corp-ldap\"\n", "config.toml");
    REQUIRE(ldap.ok());
    CHECK(ldap->auth.method == "ldap");
    CHECK(ldap->auth.mfa_timeout == std::chrono::minutes(5));  // Vault's own limit unless told
    CHECK(error_of("[auth]\nmfa_timeout = \"10m\"\n").find("config.toml:2: [auth] mfa_timeout must be between 1s and 5m") == 0);
    CHECK(error_of("[auth]\nmfa_timeout = 0\n").find("mfa_timeout must be between") != std::string::npos);
    CHECK(ldap->auth.persist_login);  // kept in the keyring unless told otherwise
    auto memory_only = parse("[auth]\npersist_login = false\n", "config.toml");
    REQUIRE(memory_only.ok());
    CHECK_FALSE(memory_only->auth.persist_login);
    CHECK(error_of("[auth]\npersist_login = \"no\"\n").starts_with("config.toml:2: "));
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
    REQUIRE(apply_vault_env(*c, env({{"VAULT_CLIENT_CERT", "/me.pem"}, {"VAULT_CLIENT_KEY", "/me.key"}})).ok());
    CHECK(c->vault.client_cert == "/me.pem");
    CHECK(c->vault.client_key == "/me.key");
    auto bad = apply_vault_env(*c, env({{"VAULT_SKIP_VERIFY", "maybe"}}));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("VAULT_SKIP_VERIFY") != std::string::npos);
}

TEST_CASE("config: [vault] client_cert and client_key; a key without its certificate is refused") {
    auto c = parse("[vault]\nclient_cert = \"/me.pem\"\n", "c.toml");
    REQUIRE(c.ok());
    CHECK(c->vault.client_cert == "/me.pem");
    CHECK(c->vault.client_key.empty());  // the key is in the certificate's file
    auto lone_key = parse("[vault]\nclient_key = \"/me.key\"\n", "c.toml");
    REQUIRE_FALSE(lone_key.ok());
    CHECK(lone_key.error().message.find("c.toml:2:") != std::string::npos);
    CHECK(lone_key.error().message.find("client_key needs client_cert") != std::string::npos);
}

TEST_CASE("config: tls_server_name is a host name for https Vaults, from the file or VAULT_TLS_SERVER_NAME") {
    auto c = parse("[vault]\naddress = \"https://10.0.0.5:8200\"\ntls_server_name = \"vault.internal\"\n\n"
                   "[vault.b]\naddress = \"https://10.0.0.6:8200\"\ntls_server_name = \"vault-b.internal\"\n",
                   "c.toml");
    REQUIRE(c.ok());
    CHECK(c->vault.tls_server_name == "vault.internal");
    REQUIRE(c->find_vault("b"));
    CHECK(c->find_vault("b")->tls_server_name == "vault-b.internal");
    REQUIRE(apply_vault_env(*c, env({{"VAULT_TLS_SERVER_NAME", "vault.test"}})).ok());
    CHECK(c->vault.tls_server_name == "vault.test");

    CHECK(error_of("[vault]\naddress = \"https://a:8200\"\ntls_server_name = \"vault internal/\"\n") ==
          "config.toml:3: [vault] tls_server_name 'vault internal/' is not a host name (letters, digits, '-' and '.'), "
          "e.g. vault.example.com");
    CHECK(error_of("[vault]\naddress = \"http://a:8200\"\ntls_server_name = \"vault.internal\"\n").find(
              "config.toml:3: [vault] tls_server_name applies only to https:// addresses, but Vault's address http://a:8200 is "
              "plain http") == 0);
    auto plain = parse("[vault]\naddress = \"https://a:8200\"\n", "c.toml");
    REQUIRE(plain.ok());
    auto bad = apply_vault_env(*plain, env({{"VAULT_ADDR", "http://127.0.0.1:8200"}, {"VAULT_TLS_SERVER_NAME", "vault.test"}}));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("VAULT_TLS_SERVER_NAME applies only to https:// addresses") == 0);
}

TEST_CASE("config: fallback addresses are read, and VAULT_ADDR naming another Vault drops them") {
    auto c = parse("[vault]\naddress = \"https://a:8200\"\nfallback_addresses = [\"https://b:8200\", \"https://c:8200\"]\n", "c.toml");
    REQUIRE(c.ok());
    CHECK(c->vault.fallback_addresses == std::vector<std::string>{"https://b:8200", "https://c:8200"});
    REQUIRE(apply_vault_env(*c, env({{"VAULT_ADDR", "https://a:8200"}})).ok());
    CHECK(c->vault.fallback_addresses.size() == 2);  // the same Vault: kept
    REQUIRE(apply_vault_env(*c, env({{"VAULT_ADDR", "https://elsewhere:8200"}})).ok());
    CHECK(c->vault.fallback_addresses.empty());
    CHECK_FALSE(parse("[vault]\nfallback_addresses = \"https://b:8200\"\n", "c.toml").ok());
}

TEST_CASE("config: [vault.<name>] and [auth.<name>] add Vaults that profiles name") {
    auto c = parse(R"([vault]
address = "https://vault.example.com:8200"
[auth]
method = "userpass"
[vault.corp]
address = "https://vault.corp.example.com:8200"
namespace = "team/"
[auth.corp]
method = "ldap"
username = "bob"
mfa_timeout = "1m"
[vault.lab]
address = "http://127.0.0.1:8200"
[[profile]]
name = "prod"
hosts = ["*.prod"]
role = "ops"
[[profile]]
name = "corp"
hosts = ["*.corp"]
role = "ops"
vault = "corp"
)", "c.toml");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    CHECK(c->vault.address == "https://vault.example.com:8200");  // the default stays where it was
    CHECK(c->auth.method == "userpass");
    CHECK(c->vault_names() == std::vector<std::string>{"default", "corp", "lab"});
    REQUIRE(c->find_vault("corp"));
    CHECK(c->find_vault("corp")->namespace_name == "team/");
    CHECK(c->find_auth("corp")->method == "ldap");
    CHECK(c->find_auth("corp")->username == "bob");
    CHECK(c->find_auth("corp")->mfa_timeout == std::chrono::minutes(1));
    CHECK(c->find_auth("lab")->method == "token");  // no [auth.lab]: the built-in defaults, not [auth]'s
    CHECK(c->find_vault(kDefaultVault) == &c->vault);
    CHECK_FALSE(c->find_vault("nope"));
    CHECK(c->profiles[0].vault == kDefaultVault);
    CHECK(c->profiles[1].vault == "corp");

    // The Vault CLI's environment names one Vault: the default.
    REQUIRE(apply_vault_env(*c, env({{"VAULT_ADDR", "https://other:8200"}, {"VAULT_NAMESPACE", "x/"}})).ok());
    CHECK(c->vault.address == "https://other:8200");
    CHECK(c->find_vault("corp")->address == "https://vault.corp.example.com:8200");
    CHECK(c->find_vault("corp")->namespace_name == "team/");
}

TEST_CASE("config: named Vaults' mistakes are reported with file and line") {
    const std::string profile = "[[profile]]\nname = \"a\"\nrole = \"r\"\nhosts = [\"*\"]\n";
    CHECK(error_of(profile + "vault = \"corp\"\n") ==
          "config.toml:5: profile 'a' names vault 'corp', but there is no [vault.corp] (Vaults: default)");
    CHECK(error_of("[vault.corp]\naddress = \"https://c\"\n" + profile + "vault = \"crop\"\n")
              .starts_with("config.toml:7: profile 'a' names vault 'crop', but there is no [vault.crop] (Vaults: default, corp)"));
    CHECK(error_of("[vault.corp]\nadress = \"https://c\"\n") == "config.toml:2: unknown key 'adress' in [vault.corp]");
    CHECK(error_of("\n[vault.corp]\nnamespace = \"x\"\n").starts_with("config.toml:2: [vault.corp] needs an address"));
    CHECK(error_of("[vault.corp]\naddress = \"https://c\"\n[auth.corp]\nmethod = \"kerberos\"\n") ==
          "config.toml:4: [auth.corp] method must be token, userpass, ldap, oidc, approle, cert or aws");
    CHECK(error_of("[vault.corp]\naddress = \"https://c\"\n[auth.corp]\nmfa_timeout = \"9m\"\n")
              .starts_with("config.toml:4: [auth.corp] mfa_timeout must be between"));
    CHECK(error_of("[auth.corp]\nmethod = \"ldap\"\n") ==
          "config.toml:1: [auth.corp] belongs to no Vault; add a [vault.corp] with its address");
    CHECK(error_of("[vault.default]\naddress = \"https://c\"\n").find("the default Vault is [vault] itself") != std::string::npos);
    CHECK(error_of("[vault.\"a b\"]\naddress = \"https://c\"\n").find("Vault name 'a b' may use only") != std::string::npos);
    CHECK(error_of("[vault]\naddress = \"https://a\"\n[vault.corp]\naddress = \"https://a\"\n")
              .starts_with("config.toml:3: [vault.corp] has the address of [vault] (https://a)"));
    CHECK(error_of("[vault.x]\naddress = \"https://c\"\n[vault.y]\naddress = \"https://c\"\n")
              .starts_with("config.toml:3: [vault.y] has the address of [vault.x]"));
}

TEST_CASE("config: a missing default file means defaults, a missing --config file is an error") {
    auto defaults = load(std::nullopt, env({{"XDG_CONFIG_HOME", "/nonexistent-dir"}}), "/nonexistent-dir/system.toml");
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
