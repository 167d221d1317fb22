// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "cert_check.hpp"

using namespace sshcert;

namespace {

constexpr std::uint64_t kNow = 1'800'000'000;

struct Case {
    wire::Bytes key{1, 2, 3};
    CertKey want{"prod", {"ubuntu"}};
    config::Profile profile;
    Certificate cert;

    Case() {
        profile.name = "prod";
        profile.role = "dev";
        profile.ttl = std::chrono::seconds(3600);
        cert.public_key = key;
        cert.principals = {"ubuntu"};
        cert.valid_after = kNow - 30;
        cert.valid_before = kNow + 3600;
        cert.extensions = {{"permit-pty", ""}};
        cert.signature_type = "ssh-ed25519";
    }
    Result<std::vector<std::string>> check() const { return check_issued(cert, key, want, profile, kNow); }
};

bool mentions(const std::vector<std::string>& v, std::string_view what) {
    for (const auto& s : v)
        if (s.find(what) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("issued certificate: a good one passes without warnings") {
    Case c;
    auto r = c.check();
    REQUIRE(r);
    CHECK(r->empty());
}

TEST_CASE("issued certificate: SHA-1 CA signatures are refused, naming the role's algorithm_signer") {
    Case c;
    c.cert.signature_type = "ssh-rsa";
    auto r = c.check();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("algorithm_signer=rsa-sha2-256") != std::string::npos);
    CHECK(r.error().message.find("role 'dev'") != std::string::npos);
    c.cert.signature_type = "rsa-sha2-256";
    CHECK(c.check());
}

TEST_CASE("issued certificate: one already expired is an error, not a success") {
    Case c;
    c.cert.valid_before = kNow;
    auto r = c.check();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("expired") != std::string::npos);
}

TEST_CASE("issued certificate: another key, a host certificate or a missing principal are refused") {
    Case c;
    c.cert.public_key = {9};
    CHECK_FALSE(c.check());
    c = Case();
    c.cert.type = CertType::Host;
    CHECK_FALSE(c.check());
    c = Case();
    c.cert.principals = {"root"};
    CHECK_FALSE(c.check());
}

TEST_CASE("issued certificate: no extensions warns that ssh gets no terminal") {
    Case c;
    c.cert.extensions.clear();
    auto r = c.check();
    REQUIRE(r);
    CHECK(mentions(*r, "default_extensions"));
}

TEST_CASE("issued certificate: a long life the profile did not ask for warns; one it asked for does not") {
    Case c;
    c.profile.ttl = std::chrono::seconds(0);
    c.cert.valid_before = kNow + 32 * 24 * 3600;  // a role without ttl: the mount's 768 h default
    auto r = c.check();
    REQUIRE(r);
    CHECK(mentions(*r, "ttl"));
    c.profile.ttl = std::chrono::seconds(32 * 24 * 3600);
    CHECK(c.check()->empty());
}

TEST_CASE("issued certificate: valid forever is accepted, with the long-life warning") {
    Case c;
    c.profile.ttl = std::chrono::seconds(0);
    c.cert.valid_before = UINT64_MAX;
    auto r = c.check();
    REQUIRE(r);
    CHECK(mentions(*r, "forever"));
}
