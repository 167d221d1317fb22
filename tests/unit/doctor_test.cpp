// SPDX-License-Identifier: Apache-2.0
// The pure parts behind doctor, profiles and help: command suggestions, the
// pattern that decides a host's profile, ssh -G output, known_hosts, the report's formats.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config.hpp"
#include "doctor_report.hpp"
#include "host_match.hpp"
#include "known_hosts_lookup.hpp"
#include "profile_choice.hpp"
#include "ssh_settings.hpp"
#include "suggest.hpp"

using namespace sshcert;
using namespace sshcert::client;

namespace {
const std::vector<std::string> kCommands{"login", "status", "logout", "ssh", "ensure", "exec", "ssh-config", "cloud-init",
                                         "ca", "version", "completion", "setup", "doctor", "profiles", "reload", "help"};
}  // namespace

TEST_CASE("suggest: a swap, a missing or an extra letter is one edit") {
    CHECK(edit_distance("stauts", "status") == 1);
    CHECK(edit_distance("statu", "status") == 1);
    CHECK(edit_distance("sstatus", "status") == 1);
    CHECK(edit_distance("login", "login") == 0);
    CHECK(edit_distance("", "ssh") == 3);
    CHECK(edit_distance("LOGIN", "login") == 0);
}

TEST_CASE("suggest: the closest command, or none when nothing is close") {
    CHECK(closest_match("stauts", kCommands) == "status");
    CHECK(closest_match("logni", kCommands) == "login");
    CHECK(closest_match("doctr", kCommands) == "doctor");
    CHECK(closest_match("relaod", kCommands) == "reload");
    CHECK(closest_match("cloudinit", kCommands) == "cloud-init");
    CHECK_FALSE(closest_match("frobnicate", kCommands));
    CHECK_FALSE(closest_match("x", kCommands));  // one letter is no evidence of anything
}

TEST_CASE("explain_match: the first positive pattern that matched, or the negation that excluded") {
    auto m = config::explain_match({"*.prod.example.com", "web-*"}, "web-1.prod.example.com");
    CHECK(m.matched);
    CHECK(m.pattern == "*.prod.example.com");
    m = config::explain_match({"*.example.com", "!bastion.example.com"}, "bastion.example.com");
    CHECK_FALSE(m.matched);
    CHECK(m.pattern == "!bastion.example.com");
    m = config::explain_match({"*.example.com"}, "example.org");
    CHECK_FALSE(m.matched);
    CHECK(m.pattern.empty());
    // The same verdict as match_host, always.
    for (const char* host : {"a.example.com", "bastion.example.com", "x.org"})
        CHECK(config::explain_match({"*.example.com", "!bastion.*"}, host).matched ==
              config::match_host({"*.example.com", "!bastion.*"}, host));
}

TEST_CASE("profile choice: the first matching profile, with why the ones before it did not match") {
    auto c = config::parse(R"(
[[profile]]
name = "bastion"
hosts = ["*.corp", "!db.corp"]
role = "r"
[[profile]]
name = "db"
hosts = ["db.*"]
role = "r"
)",
                           "t.toml");
    REQUIRE(c);
    auto choice = explain_profile_for_host(*c, "db.corp");
    REQUIRE(choice.profile);
    CHECK(choice.profile->name == "db");
    CHECK(choice.why == "its hosts pattern 'db.*' matches; before it, 'bastion': excluded by '!db.corp'");
    choice = explain_profile_for_host(*c, "example.org");
    CHECK_FALSE(choice.profile);
    CHECK(choice.why == "no profile's hosts match 'example.org' ('bastion': no pattern matches, 'db': no pattern matches)");
}

TEST_CASE("ssh settings: keywords, repeated ones in order, and lists split at spaces") {
    auto s = SshSettings::parse("user alice\nidentityfile ~/.ssh/id_rsa\nidentityfile ~/.ssh/id_ed25519\n"
                                "userknownhostsfile /h/.ssh/known_hosts /h/.ssh/known_hosts2\nnonsense\n");
    CHECK(s.first("user") == "alice");
    CHECK_FALSE(s.first("port"));
    CHECK(s.all("identityfile") == std::vector<std::string>{"~/.ssh/id_rsa", "~/.ssh/id_ed25519"});
    CHECK(s.words("userknownhostsfile") == std::vector<std::string>{"/h/.ssh/known_hosts", "/h/.ssh/known_hosts2"});
    CHECK(config::expand_tilde("~/.ssh/id_rsa", "/home/a") == "/home/a/.ssh/id_rsa");
    CHECK(config::expand_tilde("/etc/x", "/home/a") == "/etc/x");
}

TEST_CASE("doctor report: one line per check, the fix below, the first failure named; JSON for scripts") {
    DoctorReport r;
    r.ok("config", "c.toml, 1 profile(s)");
    r.warn("clock", "40s ahead", "sync the clock");
    r.fail("daemon", "not running", "start it: sshcertd &");
    CHECK(r.text() == "ok    config: c.toml, 1 profile(s)\n"
                      "warn  clock: 40s ahead\n      fix: sync the clock\n"
                      "FAIL  daemon: not running\n      fix: start it: sshcertd &\n"
                      "The first broken link: daemon (its fix above).\n");
    auto j = nlohmann::json::parse(r.json());
    REQUIRE(j.size() == 3);
    CHECK(j[2] == nlohmann::json{{"check", "daemon"}, {"status", "fail"}, {"detail", "not running"}, {"fix", "start it: sshcertd &"}});
    REQUIRE(r.first_failure());
    CHECK(r.first_failure()->check == "daemon");
}

TEST_CASE("known_hosts: the @cert-authority line whose patterns cover the host, negations included") {
    auto dir = std::filesystem::temp_directory_path() / ("sshcert-kh-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = (dir / "known_hosts").string();
    {
        std::ofstream f(file);
        f << "web-1.example.com ssh-ed25519 AAAAC3plainkey\n"
             "@revoked * ssh-ed25519 AAAAC3revoked\n"
             "@cert-authorityish *.example.com ssh-ed25519 AAAAC3notthemarker\n"
             "  @cert-authority *.example.com,!db.example.com ssh-ed25519 AAAAC3ca\n"
             "@cert-authority\t[10.0.0.5]:2222 ssh-ed25519 AAAAC3ca2\n";
    }
    CHECK(find_cert_authority({"/nonexistent/known_hosts", file}, {"web-1.example.com"}) == file + ":4");
    CHECK_FALSE(find_cert_authority({file}, {"db.example.com"}));
    CHECK_FALSE(find_cert_authority({file}, {"10.0.0.5"}));
    CHECK(find_cert_authority({file}, {"[10.0.0.5]:2222", "10.0.0.5"}) == file + ":5");
    std::filesystem::remove_all(dir);
}
