// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "ssh_args.hpp"

using namespace sshcert;
using namespace sshcert::client;

namespace {
SshTarget parse(std::vector<std::string> args) {
    auto r = parse_ssh_args(args);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return *r;
}
}  // namespace

TEST_CASE("ssh args: destination after options with and without values") {
    auto t = parse({"-p", "2222", "-A", "-oStrictHostKeyChecking=no", "ubuntu@10.0.2.15", "uptime", "-v"});
    CHECK(t.host == "10.0.2.15");
    CHECK(t.user == "ubuntu");
    CHECK(t.destination_index == 4);
}

TEST_CASE("ssh args: -l and -o User win over user@host, the first one given wins") {
    CHECK(parse({"-l", "alice", "bob@h"}).user == "alice");
    CHECK(parse({"-o", "User=carol", "-l", "alice", "h"}).user == "carol");
    CHECK(parse({"-o", "user carol", "h"}).user == "carol");
    CHECK(parse({"-lalice", "h"}).user == "alice");
    CHECK_FALSE(parse({"h"}).user.has_value());
}

TEST_CASE("ssh args: bundled flags, ssh:// URIs and --") {
    auto t = parse({"-tt4p22", "web"});
    CHECK(t.host == "web");
    auto u = parse({"ssh://deploy@[::1]:2200"});
    CHECK(u.host == "::1");
    CHECK(u.user == "deploy");
    auto d = parse({"-v", "--", "-weird-host"});
    CHECK(d.host == "-weird-host");
}

TEST_CASE("ssh args: missing destination, missing values and unknown options are errors") {
    CHECK_FALSE(parse_ssh_args({}).ok());
    CHECK_FALSE(parse_ssh_args({"-p"}).ok());
    CHECK(parse_ssh_args({"-Z", "h"}).error().message.find("-Z") != std::string::npos);
    CHECK(parse_ssh_args({"h", "--profile", "p"}).error().message.find("ssh has no option '--profile'; sshcert's own") == 0);
}

TEST_CASE("ssh argv: IdentityAgent comes first so it wins over ssh_config") {
    auto argv = build_ssh_argv("ssh", "/run/user/1000/sshcert/agent.sock", {"h", "ls"});
    CHECK(argv == std::vector<std::string>{"ssh", "-o", "IdentityAgent=/run/user/1000/sshcert/agent.sock", "h", "ls"});
    CHECK(build_ssh_argv("ssh", "/tmp/a b/agent.sock", {"h"})[2] == "IdentityAgent=\"/tmp/a b/agent.sock\"");
}

TEST_CASE("ssh args: options after the destination, up to the remote command, as ssh reads them") {
    auto t = parse({"web", "-l", "deploy", "-p", "2222", "uptime", "-l", "not-an-option"});
    CHECK(t.host == "web");
    CHECK(t.user == "deploy");
    CHECK(t.destination_index == 0);
    CHECK(t.command_index == 5);
    CHECK(t.config_options == std::vector<std::string>{"-l", "deploy", "-p", "2222"});
    // -l after the host still beats user@host; the first -l wins.
    CHECK(parse({"bob@h", "-l", "alice"}).user == "alice");
    CHECK(parse({"-l", "carol", "h", "-l", "alice"}).user == "carol");
    // "--" after the host starts the command.
    auto d = parse({"h", "--", "-l", "x"});
    CHECK(d.command_index == 2);
    CHECK_FALSE(d.user.has_value());
    // Every option letter with a value takes the next word, wherever it comes.
    for (std::string letter : {"B", "b", "c", "D", "E", "e", "F", "I", "i", "J", "L", "l", "m", "O", "o", "p", "Q", "R", "S", "W", "w"}) {
        auto v = parse({"h", "-" + letter, "value", "cmd"});
        CHECK_MESSAGE(v.command_index == 3, letter);
    }
    CHECK_FALSE(parse_ssh_args({"h", "-p"}).ok());
}

TEST_CASE("ssh args: -F and the options ssh_config depends on are kept for ssh -G; -t and -W are not") {
    auto t = parse({"-tt", "-F", "/tmp/cfg", "-W", "x:22", "-J", "b", "-oUser=u", "h", "-L", "1:x:2", "-P", "tag"});
    CHECK(t.config_file == "/tmp/cfg");
    CHECK(t.config_options == std::vector<std::string>{"-F", "/tmp/cfg", "-J", "b", "-o", "User=u", "-P", "tag"});
    CHECK(t.flags == "ttFWJoLP");
}

TEST_CASE("ssh args: ProxyJump entries with users, ports and IPv6") {
    auto a = split_destination("alice@bastion:2200", true);
    CHECK(a.user == "alice");
    CHECK(a.host == "bastion");
    CHECK(a.port == "2200");
    auto b = split_destination("[::1]:22", true);
    CHECK(b.host == "::1");
    CHECK(b.port == "22");
    auto c = split_destination("ssh://bob@jump", true);
    CHECK(c.user == "bob");
    CHECK(c.host == "jump");
    CHECK_FALSE(c.port.has_value());
    CHECK(split_destination("a@b:c", false).host == "b:c");  // a destination takes no port
}
