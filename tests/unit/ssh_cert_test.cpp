// SPDX-License-Identifier: Apache-2.0
// Certificates made by ssh-keygen -s (OpenSSH 9.2) are the oracle here.
#include <doctest/doctest.h>

#include "ssh_cert.hpp"

using namespace sshcert;

namespace {
// ssh-keygen -s ca -I vault-userpass-alice-abc -n deploy,ubuntu -V 20260101000000Z:20260102000000Z
//   -z 12345678901 -O clear -O permit-pty -O force-command=/bin/true -O source-address=127.0.0.1/32 user.pub
constexpr const char* kEd25519Cert =
    "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIKJ9b//NtcHk9CD43DFxvU+ZfixwDbmlFgh0nmBeql5eAAAAIPeHfrC4oHpAMX7eHYcHXyDxBE2WXHwx074IR7FQ5/gcAAAAAt/cHDUAAAABAAAAGHZhdWx0LXVzZXJwYXNzLWFsaWNlLWFiYwAAABQAAAAGZGVwbG95AAAABnVidW50dQAAAABpVbkAAAAAAGlXCoAAAABIAAAADWZvcmNlLWNvbW1hbmQAAAANAAAACS9iaW4vdHJ1ZQAAAA5zb3VyY2UtYWRkcmVzcwAAABAAAAAMMTI3LjAuMC4xLzMyAAAAEgAAAApwZXJtaXQtcHR5AAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIPbAhLL5Pxk8B6/L9E2OJeRj9iFOP1DcXBTkk5JlAmKEAAAAUwAAAAtzc2gtZWQyNTUxOQAAAED5wyoERVJ/X+melZkukaMESODonlZC8/qz4LQlDBS758DaCIS1v4iaUzyjUqFG56eGaoPL7Z+Kzc2yGl8LEwkH user";
constexpr const char* kEd25519Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPeHfrC4oHpAMX7eHYcHXyDxBE2WXHwx074IR7FQ5/gc user";
constexpr const char* kCaKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbAhLL5Pxk8B6/L9E2OJeRj9iFOP1DcXBTkk5JlAmKE ca";
// ssh-keygen -s ca -I ec -n a -V always:forever ec.pub (ECDSA P-384 key, default extensions)
constexpr const char* kEcdsaCert =
    "ecdsa-sha2-nistp384-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHAzODQtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgZOF3sgGJKdRwJIml0PpdeHOecVFPMuMWhB2YDu229zIAAAAIbmlzdHAzODQAAABhBF3Q5LaQm0MHvSykmErLNWX08qf3mJnO0fm9dN6y89I8LcE2g+31lNnwr1ufF8mqHMYijU6EXYJMzTu5k6kYkIE13P/ymzGVLCHcekxMPgHa3Q50EETCOUTyXArxvmkPJgAAAAAAAAAAAAAAAQAAAAJlYwAAAAUAAAABYQAAAAAAAAAA//////////8AAAAAAAAAggAAABVwZXJtaXQtWDExLWZvcndhcmRpbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nAAAAAAAAABZwZXJtaXQtcG9ydC1mb3J3YXJkaW5nAAAAAAAAAApwZXJtaXQtcHR5AAAAAAAAAA5wZXJtaXQtdXNlci1yYwAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACD2wISy+T8ZPAevy/RNjiXkY/YhTj9Q3FwU5JOSZQJihAAAAFMAAAALc3NoLWVkMjU1MTkAAABAguk/SJiy7PpVcUXuxzn3KC9bK7xLGy3nInVQ1xyANv3QbMalxJz29M0VwnKUk1P8Uvn3bNykVD+oa51tmLK8AQ== root@vm";
constexpr const char* kEcdsaKey =
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBF3Q5LaQm0MHvSykmErLNWX08qf3mJnO0fm9dN6y89I8LcE2g+31lNnwr1ufF8mqHMYijU6EXYJMzTu5k6kYkIE13P/ymzGVLCHcekxMPgHa3Q50EETCOUTyXArxvmkPJg== root@vm";

Certificate parse_line(const char* line) {
    auto k = parse_key_line(line);
    REQUIRE(k.ok());
    auto c = parse_certificate(k->blob);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    return std::move(c).value();
}
}  // namespace

TEST_CASE("certificate parser: every field of an ssh-keygen Ed25519 certificate is read as ssh-keygen -L shows it") {
    Certificate c = parse_line(kEd25519Cert);
    CHECK(c.cert_key_type == "ssh-ed25519-cert-v01@openssh.com");
    CHECK(c.key_type == "ssh-ed25519");
    CHECK(c.type == CertType::User);
    CHECK(c.serial == 12345678901ULL);
    CHECK(c.key_id == "vault-userpass-alice-abc");
    CHECK(c.principals == std::vector<std::string>{"deploy", "ubuntu"});
    CHECK(c.valid_after == 1767225600);   // 2026-01-01T00:00:00Z
    CHECK(c.valid_before == 1767312000);  // 2026-01-02T00:00:00Z
    REQUIRE(c.critical_options.size() == 2);
    CHECK(c.critical_options[0] == std::pair<std::string, std::string>{"force-command", "/bin/true"});
    CHECK(c.critical_options[1] == std::pair<std::string, std::string>{"source-address", "127.0.0.1/32"});
    REQUIRE(c.extensions.size() == 1);
    CHECK(c.extensions[0].first == "permit-pty");
    CHECK(c.signature_type == "ssh-ed25519");
    CHECK(c.signature_key == parse_key_line(kCaKey)->blob);
    CHECK(c.public_key == parse_key_line(kEd25519Key)->blob);
    CHECK(fingerprint_sha256(c.public_key) == "SHA256:o42NM7wu+wCl4K4QVUXJB8sUA8GV3UEJz0fVa3xcSmA");
}

TEST_CASE("certificate parser: ECDSA certificate valid forever with the default extensions") {
    Certificate c = parse_line(kEcdsaCert);
    CHECK(c.key_type == "ecdsa-sha2-nistp384");
    CHECK(c.valid_after == 0);
    CHECK(c.valid_before == UINT64_MAX);
    CHECK(c.valid_at(1'800'000'000));
    CHECK(c.extensions.size() == 5);
    CHECK(c.public_key == parse_key_line(kEcdsaKey)->blob);
}

TEST_CASE("certificate parser: validity window is half-open") {
    Certificate c = parse_line(kEd25519Cert);
    CHECK_FALSE(c.valid_at(c.valid_after - 1));
    CHECK(c.valid_at(c.valid_after));
    CHECK_FALSE(c.valid_at(c.valid_before));
}

TEST_CASE("certificate parser: every truncation of a real certificate is rejected, never read past the end") {
    auto blob = parse_key_line(kEd25519Cert)->blob;
    for (std::size_t n = 0; n < blob.size(); ++n) {
        auto r = parse_certificate(wire::ByteView(blob).first(n));
        CHECK_FALSE(r.ok());
        if (!r.ok()) CHECK(r.error().code == Errc::InvalidMessage);
    }
}

TEST_CASE("certificate parser: trailing bytes, plain keys and unknown types are rejected") {
    auto blob = parse_key_line(kEd25519Cert)->blob;
    blob.push_back(0);
    CHECK_FALSE(parse_certificate(blob).ok());
    CHECK_FALSE(parse_certificate(parse_key_line(kEd25519Key)->blob).ok());
    wire::Writer w;
    w.string("ssh-dss-cert-v01@openssh.com").string("nonce");
    auto r = parse_certificate(w.bytes());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("unsupported key type") != std::string::npos);
}

TEST_CASE("key lines: type must match the encoded blob; comments and whitespace are tolerated") {
    CHECK(parse_key_line(std::string(kEd25519Key) + "\n").ok());
    CHECK(parse_key_line(kEd25519Key)->comment == "user");
    auto swapped = std::string(kEd25519Key).replace(0, 11, "ssh-rsa");
    CHECK_FALSE(parse_key_line(swapped).ok());
    CHECK_FALSE(parse_key_line("ssh-ed25519").ok());
    CHECK_FALSE(parse_key_line("ssh-ed25519 !!!notbase64").ok());
    auto k = parse_key_line(kEd25519Key);
    CHECK(format_key_line(k->blob) + " user" == kEd25519Key);
}
