// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <map>

#include "ssh_args_extensions.hpp"
#include "ssh_args_hops.hpp"

using namespace sshcert;
using namespace sshcert::client;

namespace {

/// A stand-in for `ssh -G`: the output for each argument list, and the lists asked for.
struct FakeSshG {
    std::map<std::vector<std::string>, std::string> outputs;
    std::vector<std::vector<std::string>> asked;
    SshConfigQuery query() {
        return [this](const std::vector<std::string>& args) -> Result<std::string> {
            asked.push_back(args);
            auto it = outputs.find(args);
            if (it == outputs.end()) return Error{Errc::InvalidArgument, "ssh -G failed"};
            return it->second;
        };
    }
};

std::vector<Hop> hops_for(FakeSshG& g, std::vector<std::string> args) {
    auto t = parse_ssh_args(args);
    REQUIRE(t.ok());
    auto hops = resolve_hops(*t, args, g.query(), "local");
    REQUIRE_MESSAGE(hops.ok(), (hops.ok() ? "" : hops.error().message));
    return *hops;
}

}  // namespace

TEST_CASE("hops: -J user@bastion reaches the destination through the bastion, each with its own user") {
    FakeSshG g;
    g.outputs[{"-F", "cfg", "-J", "ops@bastion:2200", "web@target"}] = "user web\nhostname target\nport 22\nproxyjump ops@bastion:2200\n";
    g.outputs[{"-F", "cfg", "-l", "ops", "-p", "2200", "bastion"}] = "user ops\nhostname 127.0.0.1\nport 2200\n";
    auto hops = hops_for(g, {"-F", "cfg", "-J", "ops@bastion:2200", "web@target", "uptime"});
    CHECK(hops == std::vector<Hop>{{"bastion", "ops", true}, {"target", "web", false}});
}

TEST_CASE("hops: ProxyJump a,b from ssh_config: b is reached through a, and a's own ProxyJump is followed") {
    FakeSshG g;
    g.outputs[{"target"}] = "user me\nproxyjump a,u@b\n";
    g.outputs[{"-l", "u", "-J", "a", "b"}] = "user u\nproxyjump a\n";
    g.outputs[{"a"}] = "user me\nproxyjump outer\n";
    g.outputs[{"outer"}] = "user gate\nproxycommand none\n";
    auto hops = hops_for(g, {"target"});
    CHECK(hops == std::vector<Hop>{{"outer", "gate", true}, {"a", "me", true}, {"b", "u", true}, {"target", "me", false}});
}

TEST_CASE("hops: ProxyCommand ssh -W %h:%p bastion, with that ssh's own -F and -l; other commands take no certificate") {
    FakeSshG g;
    g.outputs[{"-F", "user.cfg", "target"}] = "user me\nproxycommand ssh -F other.cfg -l 'op s' -W %h:%p bastion\n";
    g.outputs[{"-F", "other.cfg", "-l", "op s", "bastion"}] = "user op s\n";
    CHECK(hops_for(g, {"-F", "user.cfg", "target"}) == std::vector<Hop>{{"bastion", "op s", true}, {"target", "me", false}});
    FakeSshG nc;
    nc.outputs[{"target"}] = "user me\nproxycommand nc -X connect -x proxy:8080 %h %p\n";
    CHECK(hops_for(nc, {"target"}) == std::vector<Hop>{{"target", "me", false}});
}

TEST_CASE("hops: a ProxyJump loop is an error that says so; ssh -G failing leaves the user as typed") {
    FakeSshG g;
    g.outputs[{"a"}] = "user me\nproxyjump b\n";
    g.outputs[{"b"}] = "user me\nproxyjump a\n";
    std::vector<std::string> args{"a"};
    auto t = parse_ssh_args(args);
    auto hops = resolve_hops(*t, args, g.query(), "local");
    REQUIRE_FALSE(hops.ok());
    CHECK(hops.error().message.find("loop of ProxyJump or ProxyCommand") != std::string::npos);
    CHECK(g.asked.size() == kMaxHops);

    FakeSshG broken;
    CHECK(hops_for(broken, {"-l", "typed", "h"}) == std::vector<Hop>{{"h", "typed", false}});
    CHECK(hops_for(broken, {"h"}) == std::vector<Hop>{{"h", "local", false}});
}

TEST_CASE("hops: what ssh_config asks of the connection counts as the flags that ask the same") {
    FakeSshG g;
    g.outputs[{"h"}] = "user me\nforwardagent yes\nlocalforward 1234 [x]:80\nforwardx11 no\nrequesttty false\nsessiontype default\n";
    CHECK(hops_for(g, {"h"}).back().config_flags == "ALT");
    g.outputs[{"h"}] = "user me\nforwardagent no\nforwardx11 yes\nrequesttty auto\nsessiontype none\ndynamicforward 1080\n";
    CHECK(hops_for(g, {"h"}).back().config_flags == "XND");
    CHECK(needed_extensions("XND") == std::vector<std::string>{"permit-X11-forwarding", "permit-port-forwarding"});
}

TEST_CASE("hops: ProxyCommand words split as sh does") {
    CHECK(split_command_words("exec ssh -W '%h:%p' \"a b\" c\\ d") == std::vector<std::string>{"ssh", "-W", "%h:%p", "a b", "c d"});
}

TEST_CASE("extensions auto: what ssh's flags need, and no more") {
    using V = std::vector<std::string>;
    CHECK(needed_extensions("") == V{"permit-pty", "permit-user-rc"});
    CHECK(needed_extensions("T") == V{"permit-user-rc"});
    CHECK(needed_extensions("N") == V{});
    CHECK(needed_extensions("NL") == V{"permit-port-forwarding"});
    CHECK(needed_extensions("tR") == V{"permit-port-forwarding", "permit-pty", "permit-user-rc"});
    CHECK(needed_extensions("TD") == V{"permit-port-forwarding", "permit-user-rc"});
    CHECK(needed_extensions("W") == V{"permit-port-forwarding"});
    CHECK(needed_extensions("TA") == V{"permit-agent-forwarding", "permit-user-rc"});
    CHECK(needed_extensions("TX") == V{"permit-X11-forwarding", "permit-user-rc"});
    CHECK(needed_extensions("TY") == V{"permit-X11-forwarding", "permit-user-rc"});
    CHECK(needed_extensions("pvF") == V{"permit-pty", "permit-user-rc"});  // options that forward nothing
    CHECK(jump_extensions() == V{"permit-port-forwarding"});
}

TEST_CASE("extensions auto: what fails without an extension, named by the flags used") {
    CHECK(effect_without("permit-port-forwarding", "L", false) == "-L will fail");
    CHECK(effect_without("permit-port-forwarding", "tLD", false) == "-L, -D will fail");
    CHECK(effect_without("permit-agent-forwarding", "A", false) == "-A will fail");
    CHECK(effect_without("permit-X11-forwarding", "Y", false) == "-Y will fail");
    CHECK(effect_without("permit-pty", "", false) == "ssh gets no terminal");
    CHECK_FALSE(effect_without("permit-user-rc", "", false).has_value());
    CHECK(effect_without("permit-port-forwarding", "", true) == "the jump to the next host will fail");
}
