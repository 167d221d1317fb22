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
}

TEST_CASE("ssh argv: IdentityAgent comes first so it wins over ssh_config") {
    auto argv = build_ssh_argv("ssh", "/run/user/1000/sshcert/agent.sock", {"h", "ls"});
    CHECK(argv == std::vector<std::string>{"ssh", "-o", "IdentityAgent=/run/user/1000/sshcert/agent.sock", "h", "ls"});
    CHECK(build_ssh_argv("ssh", "/tmp/a b/agent.sock", {"h"})[2] == "IdentityAgent=\"/tmp/a b/agent.sock\"");
}
