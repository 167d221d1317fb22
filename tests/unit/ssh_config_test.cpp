// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "ssh_config.hpp"

using namespace sshcert;
using namespace sshcert::client;

namespace {

config::Config parse(const std::string& toml) {
    auto c = config::parse(toml, "/home/alice/.config/sshcert/config.toml");
    REQUIRE(c.ok());
    c->source = "/home/alice/.config/sshcert/config.toml";
    return *c;
}

const char* kTwoProfiles = R"(
[[profile]]
name = "prod"
hosts = ["*.prod.example.com", "10.20.*", "!bastion.prod.example.com"]
role = "prod"
[[profile]]
name = "dev"
hosts = ["*"]
role = "dev"
)";

/// The lines ssh acts on: neither comments nor blank.
std::vector<std::string> directives(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') out.push_back(line);
    return out;
}

}  // namespace

TEST_CASE("ssh-config: each profile's socket is set on the first pass, its certificate fetched on the final one") {
    auto text = ssh_config_text(parse(kTwoProfiles), "/run/user/1000/sshcert", "/usr/bin/sshcert");
    REQUIRE(text.ok());
    CHECK(text->starts_with("# Written by `sshcert ssh-config` from /home/alice/.config/sshcert/config.toml"));
    CHECK(directives(*text) == std::vector<std::string>{
              "Match originalhost *.prod.example.com,10.20.*,!bastion.prod.example.com",
              "    IdentityAgent /run/user/1000/sshcert/agent-prod.sock",
              "    IdentitiesOnly no",
              // dev takes only the hosts prod does not: the daemon's first-match rule, and one exec per ssh.
              "Match originalhost * !originalhost *.prod.example.com,10.20.*,!bastion.prod.example.com",
              "    IdentityAgent /run/user/1000/sshcert/agent-dev.sock",
              "    IdentitiesOnly no",
              "Match final originalhost *.prod.example.com,10.20.*,!bastion.prod.example.com exec "
              "\"/usr/bin/sshcert ensure --profile prod --host '%n' --user '%r' --quiet\"",
              "Match final originalhost * !originalhost *.prod.example.com,10.20.*,!bastion.prod.example.com exec "
              "\"/usr/bin/sshcert ensure --profile dev --host '%n' --user '%r' --quiet\"",
          });
    // The same input gives the same text, so --install can tell there is nothing to do.
    CHECK(*text == *ssh_config_text(parse(kTwoProfiles), "/run/user/1000/sshcert", "/usr/bin/sshcert"));
}

TEST_CASE("ssh-config: every earlier profile is left out of a later one, negations and all") {
    auto text = ssh_config_text(parse(R"(
[[profile]]
name = "a"
hosts = ["a-*"]
role = "r"
[[profile]]
name = "b"
hosts = ["b-*", "!b-old"]
role = "r"
[[profile]]
name = "c"
hosts = ["*", "!c-never"]
role = "r"
)"),
                                "/run/user/1000/sshcert", "/usr/bin/sshcert");
    REQUIRE(text.ok());
    auto lines = directives(*text);
    REQUIRE(lines.size() == 12);
    CHECK(lines[6] == "Match originalhost *,!c-never !originalhost a-* !originalhost b-*,!b-old");
    CHECK(lines[7] == "    IdentityAgent /run/user/1000/sshcert/agent-c.sock");
    CHECK(lines[11].starts_with("Match final originalhost *,!c-never !originalhost a-* !originalhost b-*,!b-old exec "
                                "\"/usr/bin/sshcert ensure --profile c "));
}

TEST_CASE("ssh-config: paths are quoted for ssh_config, the shell and ssh's %-expansion") {
    auto c = parse(kTwoProfiles);
    auto text = ssh_config_text(c, "/run/user/1000/my %s dir", "/opt/my tools/50%/sshcert");
    REQUIRE(text.ok());
    auto lines = directives(*text);
    CHECK(lines[1] == "    IdentityAgent \"/run/user/1000/my %%s dir/agent-prod.sock\"");
    CHECK(lines[6] == "Match final originalhost *.prod.example.com,10.20.*,!bastion.prod.example.com exec "
                      "\"'/opt/my tools/50%%/sshcert' ensure --profile prod --host '%n' --user '%r' --quiet\"");

    for (const char* bad : {"/opt/it's/sshcert", "/opt/a\"b/sshcert", "/opt/a\\b/sshcert", "/opt/a\nb/sshcert"}) {
        auto r = ssh_config_text(c, "/run/user/1000/sshcert", bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("the sshcert path") != std::string::npos);
        CHECK(r.error().message.find("quote, backslash or control character") != std::string::npos);
    }
    auto dollar = ssh_config_text(c, "/run/${USER}/sshcert", "/usr/bin/sshcert");
    REQUIRE_FALSE(dollar.ok());
    CHECK(dollar.error().message.find("'${', which ssh would expand") != std::string::npos);
}

TEST_CASE("ssh-config: host patterns ssh_config cannot hold, and no profiles at all, are errors that say so") {
    for (const char* pattern : {"a b", "a,b", "it's", "a\\\\b", "#x"}) {
        auto c = parse(std::string("[[profile]]\nname = \"odd\"\nhosts = [\"ok\", \"") + pattern + "\"]\nrole = \"r\"\n");
        auto r = ssh_config_text(c, "/run/user/1000/sshcert", "/usr/bin/sshcert");
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.starts_with("profile 'odd' has host pattern"), pattern);
    }
    auto none = ssh_config_text(parse(""), "/run/user/1000/sshcert", "/usr/bin/sshcert");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message == "no [[profile]] is configured in /home/alice/.config/sshcert/config.toml; add one "
                                  "(see sshcert.toml(5)), then run this again");
}

TEST_CASE("ssh-config: the Include line, found as written or as ~/..., and whether it comes before every Host") {
    const std::string file = "/home/alice/.config/sshcert/ssh_config", home = "/home/alice";
    CHECK(*include_line(file) == "Include /home/alice/.config/sshcert/ssh_config");
    CHECK(*include_line("/home/al ice/ssh_config") == "Include \"/home/al ice/ssh_config\"");
    CHECK_FALSE(include_line("/home/[x]/ssh_config").ok());  // Include would take it for a glob

    CHECK(find_include("", file, home) == IncludeState::Missing);
    CHECK(find_include("Host a\n    User b\n", file, home) == IncludeState::Missing);
    CHECK(find_include("# Include /home/alice/.config/sshcert/ssh_config\n", file, home) == IncludeState::Missing);
    CHECK(find_include("Include /home/alice/.config/sshcert/ssh_config\nHost a\n", file, home) == IncludeState::AtTop);
    CHECK(find_include("# mine\n  include=~/.config/sshcert/ssh_config\n", file, home) == IncludeState::AtTop);
    CHECK(find_include("INCLUDE ~/.ssh/other \"/home/alice/.config/sshcert/ssh_config\"\n", file, home) == IncludeState::AtTop);
    CHECK(find_include("Host a\n    User b\nInclude /home/alice/.config/sshcert/ssh_config\n", file, home) ==
          IncludeState::AfterHostOrMatch);
    CHECK(find_include("Match all\nInclude ~/.config/sshcert/ssh_config\n", file, home) == IncludeState::AfterHostOrMatch);
}

TEST_CASE("ssh-config: the Include goes above everything the user wrote, which stays as it was") {
    const std::string line = "Include /home/alice/.config/sshcert/ssh_config";
    CHECK(with_include_at_top("", line) ==
          "# sshcert's certificates for plain ssh; keep this above every Host and Match line\n" + line + "\n");
    std::string mine = "# my hosts\nHost *\n    ServerAliveInterval 30";  // no final newline, kept so
    auto out = with_include_at_top(mine, line);
    CHECK(out == "# sshcert's certificates for plain ssh; keep this above every Host and Match line\n" + line + "\n\n" + mine);
    CHECK(find_include(out, "/home/alice/.config/sshcert/ssh_config", "/home/alice") == IncludeState::AtTop);
}

TEST_CASE("ssh-config: a profile with a host CA mount reads the user's known_hosts, then sshcert's") {
    auto c = parse(R"(
[[profile]]
name = "prod"
hosts = ["*.prod.example.com"]
role = "prod"
host_ca_mount = "ssh-host-signer"
[[profile]]
name = "dev"
hosts = ["*"]
role = "dev"
)");
    auto text = ssh_config_text(c, "/run/user/1000/sshcert", "/usr/bin/sshcert", "/home/alice/.config/sshcert/known_hosts");
    REQUIRE(text.ok());
    auto lines = directives(*text);
    REQUIRE(lines.size() >= 4);
    CHECK(lines[3] == "    UserKnownHostsFile ~/.ssh/known_hosts /home/alice/.config/sshcert/known_hosts");
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("UserKnownHostsFile") != std::string::npos; }) == 1);
    auto spaced = ssh_config_text(c, "/run/user/1000/sshcert", "/usr/bin/sshcert", "/home/a b/50%/known_hosts");
    REQUIRE(spaced.ok());
    CHECK(spaced->find("    UserKnownHostsFile ~/.ssh/known_hosts \"/home/a b/50%%/known_hosts\"\n") != std::string::npos);
}
