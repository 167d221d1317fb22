// SPDX-License-Identifier: Apache-2.0
// known_hosts read backwards (host key to names), session-bind with host
// certificates, and the managed known_hosts file's text.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent_dispatch.hpp"
#include "known_hosts.hpp"
#include "known_hosts_file.hpp"
#include "ssh_cert.hpp"
#include "ssh_key.hpp"

using namespace sshcert;

namespace {

std::string key_line(const SshKey& k) { return format_key_line(k.public_blob()); }

SshKey new_key() {
    auto k = SshKey::generate(config::KeyType::Ed25519);
    REQUIRE(k.ok());
    return std::move(*k);
}

/// An Ed25519 certificate for `key`, signed by `ca`, as ssh-keygen -s makes them.
wire::Bytes make_cert(const SshKey& key, const SshKey& ca, CertType type, const std::vector<std::string>& principals,
                      std::uint64_t valid_before = UINT64_MAX) {
    wire::Reader pub(key.public_blob());
    pub.string();
    auto raw = pub.string();
    wire::Writer names;
    for (const auto& p : principals) names.string(p);
    wire::Writer w;
    w.string("ssh-ed25519-cert-v01@openssh.com").string(wire::Bytes(32, 7)).string(raw);
    w.u64(1).u32(static_cast<std::uint32_t>(type)).string("host-key").string(names.bytes());
    w.u64(0).u64(valid_before).string("").string("").string("").string(ca.public_blob());
    auto sig = ca.sign(w.bytes(), 0);
    REQUIRE(sig.ok());
    w.string(*sig);
    return w.take();
}

agent::SessionBind bind_for(const SshKey& host, wire::Bytes host_blob, bool forwarding = false) {
    wire::Bytes sid(32, 0x42);
    auto sig = host.sign(sid, 0);
    REQUIRE(sig.ok());
    return {std::move(host_blob), sid, *sig, forwarding};
}

constexpr std::uint64_t kNow = 1700000000;

}  // namespace

TEST_CASE("known_hosts: entries, markers, comments and lines that do not parse") {
    auto host = new_key();
    auto entries = known_hosts::parse("# comment\n\n"
                                      "db.example.com,10.0.0.5 " + key_line(host) + " a comment\n"
                                      "@cert-authority *.example.com " + key_line(host) + "\n"
                                      "@revoked * " + key_line(host) + "\n"
                                      "@unknown-marker x " + key_line(host) + "\n"
                                      "broken.example.com ssh-ed25519 not-base64\n"
                                      "lonely.example.com\n");
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].marker == known_hosts::Marker::None);
    CHECK(entries[0].hosts == "db.example.com,10.0.0.5");
    CHECK(entries[0].key == host.public_blob());
    CHECK(entries[1].marker == known_hosts::Marker::CertAuthority);
    CHECK(entries[2].marker == known_hosts::Marker::Revoked);
}

TEST_CASE("known_hosts: hashed names are HMAC-SHA1 of the name keyed with the salt; patterns negate") {
    // Made with Python's hmac from salt 00..13, as ssh-keygen -H makes them.
    const std::string hashed = "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|5cgNeu1GkzQnF+TOvboia8+Tkxo=";
    CHECK(known_hosts::host_matches(hashed, "db.example.com"));
    CHECK_FALSE(known_hosts::host_matches(hashed, "db.example.org"));
    CHECK(known_hosts::host_matches("|1|AAECAwQFBgcICQoLDA0ODxAREhM=|w+EFIgFeXCQ16V3NBGrFfsP2yiU=", "[db.example.com]:2222"));
    CHECK_FALSE(known_hosts::host_matches("|1|AAECAwQFBgcICQoLDA0ODxAREhM=|garbage", "db.example.com"));
    CHECK(known_hosts::host_matches("*.example.com,!bastion.example.com", "db.example.com"));
    CHECK_FALSE(known_hosts::host_matches("*.example.com,!bastion.example.com", "bastion.example.com"));
    CHECK(known_hosts::host_matches("DB.example.com", "db.EXAMPLE.com"));
}

TEST_CASE("known_hosts: a plain host key gives its literal names and the candidates its entries match") {
    auto host = new_key();
    auto other = new_key();
    auto entries = known_hosts::parse("db.example.com,[db.example.com]:2222,*.db.example.com " + key_line(host) + "\n"
                                      "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|5cgNeu1GkzQnF+TOvboia8+Tkxo= " + key_line(other) + "\n"
                                      "web.example.com " + key_line(other) + "\n");
    CHECK(known_hosts::names_for_key(entries, host.public_blob(), {"a.db.example.com", "web.example.com"}, kNow) ==
          std::vector<std::string>{"db.example.com", "a.db.example.com"});
    CHECK(known_hosts::names_for_key(entries, other.public_blob(), {"db.example.com"}, kNow) ==
          std::vector<std::string>{"db.example.com", "web.example.com"});
    CHECK(known_hosts::names_for_key(entries, new_key().public_blob(), {"db.example.com"}, kNow).empty());
    auto revoked = known_hosts::parse("db.example.com " + key_line(host) + "\n@revoked * " + key_line(host) + "\n");
    CHECK(known_hosts::names_for_key(revoked, host.public_blob(), {}, kNow).empty());
}

TEST_CASE("known_hosts: a host certificate gives the principals its trusted CA's lines match") {
    auto host = new_key();
    auto ca = new_key();
    auto cert = make_cert(host, ca, CertType::Host, {"db.example.com", "evil.other.org"});
    auto trusted = known_hosts::parse("@cert-authority *.example.com,[*.example.com]:* " + key_line(ca) + "\n");
    CHECK(known_hosts::names_for_key(trusted, cert, {}, kNow) == std::vector<std::string>{"db.example.com"});

    SUBCASE("a CA nobody trusts: the certified key as a plain key, as ssh falls back to it") {
        auto plain = known_hosts::parse("@cert-authority *.example.com " + key_line(new_key()) + "\n"
                                        "fallback.example.com " + key_line(host) + "\n");
        CHECK(known_hosts::names_for_key(plain, cert, {}, kNow) == std::vector<std::string>{"fallback.example.com"});
    }
    SUBCASE("a forged CA signature, an expired or a user certificate, a revoked CA: no principals") {
        auto forged = cert;
        forged[forged.size() - 1] ^= 1;
        CHECK(known_hosts::names_for_key(trusted, forged, {}, kNow).empty());
        CHECK(known_hosts::names_for_key(trusted, make_cert(host, ca, CertType::Host, {"db.example.com"}, kNow - 1), {}, kNow).empty());
        CHECK(known_hosts::names_for_key(trusted, make_cert(host, ca, CertType::User, {"db.example.com"}), {}, kNow).empty());
        auto revoked = trusted;
        revoked.push_back({known_hosts::Marker::Revoked, "*", ca.public_blob()});
        CHECK(known_hosts::names_for_key(revoked, cert, {}, kNow).empty());
    }
}

TEST_CASE("known_hosts: files are read in order; missing, oversized and non-regular ones are left out") {
    auto host = new_key();
    char dir_template[] = "/tmp/known-hosts-test-XXXXXX";
    REQUIRE(::mkdtemp(dir_template));
    std::string dir = dir_template;
    std::string line = "db.example.com " + key_line(host) + "\n";
    std::ofstream(dir + "/small") << line;
    std::ofstream(dir + "/large") << line << std::string(200, '#') << "\n";
    REQUIRE(::mkfifo((dir + "/fifo").c_str(), 0600) == 0);
    auto entries = known_hosts::read_files({dir + "/missing", dir + "/fifo", dir + "/large", dir + "/small", dir}, 100);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].hosts == "db.example.com");
    std::filesystem::remove_all(dir);
}

TEST_CASE("session-bind: a host certificate binds with the certified key's signature") {
    auto host = new_key();
    auto ca = new_key();
    AgentSession session;
    CHECK(bind_session(session, bind_for(host, make_cert(host, ca, CertType::Host, {"db.example.com"}))).ok());
    REQUIRE(session.bindings.size() == 1);

    AgentSession wrong;
    auto st = bind_session(wrong, bind_for(new_key(), make_cert(host, ca, CertType::Host, {"db.example.com"})));
    CHECK_FALSE(st.ok());
    AgentSession user;
    CHECK(bind_session(user, bind_for(host, make_cert(host, ca, CertType::User, {"alice"}))).error().message ==
          "host key is a user certificate");
}

namespace {
/// Names every host key after one name, and counts the look-ups.
class NamedHost : public AgentKeys {
public:
    std::vector<agent::Identity> identities(const AgentSession&) override { return {}; }
    Result<wire::Bytes> sign(AgentSession&, wire::ByteView, wire::ByteView, std::uint32_t) override {
        return Error{Errc::NotFound, "none"};
    }
    std::vector<std::string> host_names(wire::ByteView) override {
        ++lookups;
        return {"db.example.com"};
    }
    int lookups = 0;
};

wire::Bytes bind_request(const agent::SessionBind& b) {
    wire::Writer contents;
    contents.string(b.host_key).string(b.session_id).string(b.signature).u8(b.is_forwarding ? 1 : 0);
    wire::Writer w;
    w.u8(27).string(agent::kSessionBind).raw(contents.bytes());  // SSH_AGENTC_EXTENSION
    return w.take();
}
}  // namespace

TEST_CASE("session-bind: only the binding for authentication names the host") {
    auto host = new_key();
    NamedHost keys;
    AgentSession session;
    handle_agent_message(keys, session, bind_request(bind_for(host, host.public_blob(), true)));
    CHECK(session.bindings.size() == 1);
    CHECK(session.host_names.empty());  // forwarded to a host that may use it towards any other
    auto next = new_key();
    auto b = bind_for(next, next.public_blob());
    b.session_id.assign(32, 0x43);
    b.signature = *next.sign(b.session_id, 0);
    handle_agent_message(keys, session, bind_request(b));
    CHECK(session.bindings.size() == 2);
    CHECK(session.host_names == std::vector<std::string>{"db.example.com"});
    CHECK(keys.lookups == 1);
}

TEST_CASE("managed known_hosts: @cert-authority lines for each profile's hosts on any port") {
    config::Profile p;
    p.name = "prod";
    p.hosts = {"*.prod.example.com", "10.20.*", "!bastion.prod.example.com"};
    p.host_ca_mount = "ssh-host-signer";
    auto patterns = client::known_hosts_patterns(p);
    REQUIRE(patterns.ok());
    CHECK(*patterns == "*.prod.example.com,10.20.*,!bastion.prod.example.com,[*.prod.example.com]:*,[10.20.*]:*,"
                       "![bastion.prod.example.com]:*");
    auto text = client::managed_known_hosts_text("/home/a/.config/sshcert/config.toml", {{&p, {"ssh-ed25519 AAAA ca"}}});
    REQUIRE(text.ok());
    CHECK(text->find("\n@cert-authority " + *patterns + " ssh-ed25519 AAAA ca\n") != std::string::npos);
    p.hosts = {"bad host"};
    CHECK(client::known_hosts_patterns(p).error().message.find("known_hosts cannot carry") != std::string::npos);
}
