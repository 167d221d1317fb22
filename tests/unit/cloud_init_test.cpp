// SPDX-License-Identifier: Apache-2.0
// The cloud-init generator, CA key checks and the YAML writer. The integration
// test runs the same output through cloud-init's own schema check and a real sshd.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ca_keys.hpp"
#include "cloud_init.hpp"
#include "local_file.hpp"
#include "ssh_wire.hpp"
#include "version.hpp"
#include "yaml_writer.hpp"

using namespace sshcert;
using namespace sshcert::client;
namespace ci = sshcert::client::cloud_init;

namespace {

// ssh-keygen -t ed25519 -C "vault ca"; ssh-keygen -t ecdsa -b 256 -C "new ca"; a certificate signed by the first.
constexpr const char* kCaKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINWV1LJ/eUTtvDUZaHNx0NsG7+Dkn8RZVeQew6JvOSeW vault ca";
constexpr const char* kNewCaKey =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBArWWkN9L+K98NWjrrxe38CzRPgiNJl45YPTOSASQ/"
    "otank6fTX8TOMX1kwtGsYaCYhj5Y3q92lHmUi/vBs83HQ= new ca";
constexpr const char* kCertificate =
    "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAINuwghMn1o+hRkT5M6omIrKSbqaY67Ce"
    "EI62+rxbnTExAAAAIHf1F5JC/kzJ9dzoOOwQb9JnSqa9FO7tXnR+lBgnIbJiAAAAAAAAAAAAAAABAAAABHRlc3QAAAAHAAAAA29wcwAAAAAAAAAA////"
    "//////8AAAAAAAAAggAAABVwZXJtaXQtWDExLWZvcndhcmRpbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nAAAAAAAAABZwZXJtaXQtcG9y"
    "dC1mb3J3YXJkaW5nAAAAAAAAAApwZXJtaXQtcHR5AAAAAAAAAA5wZXJtaXQtdXNlci1yYwAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACDVldSy"
    "f3lE7bw1GWhzcdDbBu/g5J/EWVXkHsOibzknlgAAAFMAAAALc3NoLWVkMjU1MTkAAABAyUyIh9OlQk31jEQE8jgnBzVw8pYHld3K+OoFjUP14FEctQtP"
    "iqA69O/OpyC9Lf4UfoZ2zr+igWrw/FMHAlXQDQ== u.pub";
const std::string kKrl = std::string("SSHKRL\n\0\0\0\0\1", 12) + std::string(20, '\0');

ci::Inputs inputs(ci::Format format = ci::Format::Yaml, ci::Style style = ci::Style::DropIn) {
    ci::Inputs in;
    in.ca_keys = {kCaKey};
    in.style = style;
    in.format = format;
    in.origin = "the Vault SSH CA at mount 'ssh'";
    return in;
}

std::string generated(const ci::Inputs& in) {
    auto out = ci::generate(in);
    REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.error().message));
    return out->text;
}

/// --format json is JSON from its first byte: no #cloud-config line before it.
nlohmann::json json_body(const std::string& text) {
    REQUIRE(text.starts_with("{"));
    return nlohmann::json::parse(text);
}

std::string error_of(const ci::Inputs& in) {
    auto out = ci::generate(in);
    REQUIRE_FALSE(out.ok());
    return out.error().message;
}

}  // namespace

TEST_CASE("cloud-init yaml, dropin style with principals: the whole document") {
    auto in = inputs();
    in.principals = {{"ubuntu", {"ops", "deploy"}}};
    CHECK(generated(in) == std::string("#cloud-config\n"
                                       "# sshcert ") + kVersion + ": trust SSH user certificates signed by the Vault SSH CA at mount 'ssh'.\n"
          "write_files:\n"
          "  - path: /etc/ssh/trusted_user_ca_keys\n"
          "    owner: root:root\n"
          "    permissions: '0644'\n"
          "    content: |\n"
          "      # SSH CA keys trusted for user certificates (sshcert user data)\n"
          "      " + kCaKey + "\n"
          "  - path: /etc/ssh/auth_principals/ubuntu\n"
          "    owner: root:root\n"
          "    permissions: '0644'\n"
          "    content: |\n"
          "      # Certificate principals that may log in as ubuntu (sshcert user data)\n"
          "      ops\n"
          "      deploy\n"
          "  - path: /etc/ssh/sshd_config.d/10-sshcert.conf\n"
          "    owner: root:root\n"
          "    permissions: '0644'\n"
          "    content: |\n"
          "      # Written by cloud-init from sshcert user data: trust SSH certificates signed by the Vault CA.\n"
          "      TrustedUserCAKeys /etc/ssh/trusted_user_ca_keys\n"
          "      AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u\n"
          "runcmd:\n"
          "  - systemctl restart ssh.service 2>/dev/null || systemctl restart sshd.service\n");
}

TEST_CASE("cloud-init json: the same structure; no principals means no AuthorizedPrincipalsFile") {
    auto doc = json_body(generated(inputs(ci::Format::Json)));
    REQUIRE(doc["write_files"].size() == 2);
    CHECK(doc["write_files"][0]["path"] == ci::kCaKeysPath);
    CHECK(doc["write_files"][1]["path"] == ci::kDropInPath);
    std::string dropin = doc["write_files"][1]["content"];
    CHECK(dropin.find("TrustedUserCAKeys /etc/ssh/trusted_user_ca_keys\n") != std::string::npos);
    CHECK(dropin.find("AuthorizedPrincipalsFile") == std::string::npos);
    CHECK(dropin.find("RevokedKeys") == std::string::npos);
    CHECK_FALSE(doc.contains("bootcmd"));
    CHECK(doc["runcmd"].size() == 1);
}

TEST_CASE("cloud-init append style: settings go to the top of sshd_config once, from bootcmd; no drop-in") {
    auto in = inputs(ci::Format::Json, ci::Style::Append);
    in.principals = {{"ubuntu", {"ops"}}};
    in.revoked_keys = kKrl;
    auto doc = json_body(generated(in));
    REQUIRE(doc["bootcmd"].size() == 1);
    std::string script = doc["bootcmd"][0];
    CHECK(script.starts_with("cloud-init-per once sshcert_sshd_config sh -c '"));
    CHECK(script.find("f=/etc/ssh/sshd_config; { cat; cat \"$f\"; } > \"$f.sshcert\"") != std::string::npos);
    CHECK(script.find("<<'EOF'\n# Added by cloud-init from sshcert user data") != std::string::npos);
    CHECK(script.ends_with("TrustedUserCAKeys /etc/ssh/trusted_user_ca_keys\n"
                           "AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u\n"
                           "RevokedKeys /etc/ssh/revoked_keys\n"
                           "\n"
                           "EOF\n"));
    for (const auto& f : doc["write_files"]) CHECK(f["path"] != ci::kDropInPath);
    CHECK(doc["write_files"].size() == 3);
}

TEST_CASE("cloud-init rotation: two CA keys, one file; the same key twice is listed once") {
    auto in = inputs(ci::Format::Json);
    in.ca_keys = {kCaKey, kNewCaKey, std::string(kCaKey).substr(0, std::string(kCaKey).rfind(' ')) + " other comment"};
    auto doc = json_body(generated(in));
    CHECK(doc["write_files"][0]["content"] == std::string("# SSH CA keys trusted for user certificates (sshcert user data)\n") +
                                                  kCaKey + "\n" + kNewCaKey + "\n");
}

TEST_CASE("cloud-init principals: one file per user, the same user given twice is merged") {
    auto in = inputs(ci::Format::Json);
    in.principals = {{"ubuntu", {"ops"}}, {"ec2-user", {"admin"}}, {"ubuntu", {"deploy", "ops"}}};
    auto files = json_body(generated(in))["write_files"];
    REQUIRE(files.size() == 4);
    CHECK(files[1]["path"] == "/etc/ssh/auth_principals/ubuntu");
    CHECK(files[1]["content"] == "# Certificate principals that may log in as ubuntu (sshcert user data)\nops\ndeploy\n");
    CHECK(files[2]["path"] == "/etc/ssh/auth_principals/ec2-user");
    CHECK(files[2]["permissions"] == "0644");
    CHECK(files[2]["owner"] == "root:root");
}

TEST_CASE("cloud-init revoked keys: the KRL travels base64-encoded in 76-character lines") {
    auto in = inputs(ci::Format::Json);
    in.revoked_keys = kKrl + std::string(100, 'x');
    auto files = json_body(generated(in))["write_files"];
    REQUIRE(files.size() == 3);
    CHECK(files[1]["path"] == ci::kRevokedKeysPath);
    CHECK(files[1]["encoding"] == "b64");
    std::string content = files[1]["content"];
    CHECK(content.find('\n') == 76);
    std::string joined;
    for (char c : content)
        if (c != '\n') joined += c;
    wire::Bytes decoded;
    REQUIRE(wire::base64_decode(joined, decoded));
    CHECK(std::string(decoded.begin(), decoded.end()) == *in.revoked_keys);
    CHECK(std::string(files[2]["content"]).find("RevokedKeys /etc/ssh/revoked_keys\n") != std::string::npos);
}

TEST_CASE("cloud-init mime: multipart/mixed with one text/cloud-config part that merges into other parts") {
    std::string yaml = generated(inputs());
    std::string mime = generated(inputs(ci::Format::Mime));
    CHECK(mime.starts_with("Content-Type: multipart/mixed; boundary=\"sshcert-user-data\"\nMIME-Version: 1.0\n\n"
                           "--sshcert-user-data\nContent-Type: text/cloud-config; charset=\"us-ascii\"\n"));
    CHECK(mime.find("Merge-Type: list(append)+dict(no_replace,recurse_list)+str()\n\n" + yaml + "\n--sshcert-user-data--\n") !=
          std::string::npos);

    auto in = inputs(ci::Format::Mime);
    in.ca_keys = {std::string(kCaKey) + " sshcert-user-data"};  // the boundary must not occur in the body
    CHECK(generated(in).starts_with("Content-Type: multipart/mixed; boundary=\"sshcert-user-data-1\"\n"));
}

TEST_CASE("cloud-init base64: the YAML, base64-encoded, within EC2's 16 KiB; past it a clear error") {
    std::string yaml = generated(inputs());
    auto out = ci::generate(inputs(ci::Format::Base64));
    REQUIRE(out.ok());
    CHECK(out->text == wire::base64_encode(wire::view(yaml)) + "\n");
    CHECK(out->user_data_bytes == yaml.size());

    auto big = inputs(ci::Format::Base64);
    big.revoked_keys = kKrl + std::string(12000, 'k');  // 16 000 base64 characters
    auto err = error_of(big);
    CHECK(err.find("over EC2's limit of 16384 bytes (counted before base64)") != std::string::npos);
    auto yaml_size = ci::generate([&] { auto y = big; y.format = ci::Format::Yaml; return y; }())->user_data_bytes;
    REQUIRE(yaml_size > ci::kEc2UserDataLimitBytes);
    CHECK(err.find("the user data is " + std::to_string(yaml_size) + " bytes, " +
                   std::to_string(yaml_size - ci::kEc2UserDataLimitBytes) + " over") != std::string::npos);

    big.format = ci::Format::Yaml;  // other clouds take more; the command only warns
    CHECK(ci::generate(big).ok());
}

TEST_CASE("cloud-init bad input: styles, formats, principal mappings, keys, revoked keys") {
    CHECK(ci::parse_style("dropin").ok());
    CHECK(ci::parse_style("append").ok());
    CHECK(ci::parse_style("inline").error().message == "unknown --style 'inline' (use dropin or append)");
    CHECK(*ci::parse_format("base64") == ci::Format::Base64);
    CHECK(ci::parse_format("xml").error().message == "unknown --format 'xml' (use yaml, json, mime or base64)");

    auto mapping = ci::parse_principal_mapping("ubuntu=ops,deploy");
    REQUIRE(mapping.ok());
    CHECK(mapping->user == "ubuntu");
    CHECK(mapping->principals == std::vector<std::string>{"ops", "deploy"});
    CHECK(ci::parse_principal_mapping("=ops").error().message == "--principals '=ops': the local user before '=' is empty");
    CHECK(ci::parse_principal_mapping("ubuntu").error().message == "--principals 'ubuntu': expected USER=PRINCIPAL[,PRINCIPAL...]");
    CHECK(ci::parse_principal_mapping("ubuntu=").error().message == "--principals 'ubuntu=': no principals for user 'ubuntu'");
    CHECK(ci::parse_principal_mapping("ubuntu=ops,,x").error().message == "--principals 'ubuntu=ops,,x': an empty principal in the list");
    CHECK(ci::parse_principal_mapping("ubuntu=ops,").error().message == "--principals 'ubuntu=ops,': an empty principal in the list");
    CHECK(ci::parse_principal_mapping("../etc/passwd=ops").error().message.find("is not a local user name") != std::string::npos);
    CHECK(ci::parse_principal_mapping("ubuntu=two words").error().message.find("holds a space") != std::string::npos);
    CHECK(ci::parse_principal_mapping("ubuntu=#ops").error().message.find("leading '#'") != std::string::npos);

    auto in = inputs();
    in.ca_keys = {};
    CHECK(error_of(in) == "no CA key to trust");
    in.ca_keys = {kCertificate};
    CHECK(error_of(in).find("is a certificate, not a public key") != std::string::npos);
    in.ca_keys = {kCaKey};
    in.principals = {{"", {"ops"}}};
    CHECK(error_of(in).find("the local user before '=' is empty") != std::string::npos);

    CHECK(ci::check_revoked_keys(kKrl, "krl").ok());
    CHECK(ci::check_revoked_keys(std::string(kCaKey) + "\n", "list").ok());
    CHECK(ci::check_revoked_keys("", "empty").error().message == "empty revokes nothing; make a KRL with ssh-keygen -k");
    CHECK(ci::check_revoked_keys("\x89PNG\r\n", "img.png").error().message.find("img.png is neither a KRL") == 0);
}

TEST_CASE("CA keys from text: plain public keys only, each checked, comments kept when printable") {
    auto keys = parse_ca_keys(std::string("# old and new\n\n") + kCaKey + "\n  " + kNewCaKey + "\r\n", "ca.pub");
    REQUIRE(keys.ok());
    CHECK(*keys == std::vector<std::string>{kCaKey, kNewCaKey});
    CHECK(*check_ca_key(std::string(kCaKey).substr(0, 80) + " caf\xc3\xa9") == std::string(kCaKey).substr(0, 80));

    CHECK(parse_ca_keys("", "empty.pub").error().message == "empty.pub holds no SSH public key");
    CHECK(parse_ca_keys("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n-----END OPENSSH PRIVATE KEY-----\n", "ca")
              .error().message.starts_with("ca holds a private key"));
    CHECK(parse_ca_keys(std::string(kCaKey) + "\n" + kCertificate, "ca.pub").error().message ==
          "ca.pub line 2: not an SSH public key: 'ssh-ed25519-cert-v01@openssh.com' is a certificate, not a public key");
    CHECK(parse_ca_keys("hello world\n", "x").error().message.starts_with("x line 1: not an SSH public key"));
    // Cut on a base64 quantum: still decodes, but the key is short.
    CHECK(parse_ca_keys(std::string(kCaKey).substr(0, 12 + 64), "cut").error().message ==
          "cut line 1: not an SSH public key: malformed ssh-ed25519 public key (truncated or with extra bytes)");
    CHECK(parse_ca_keys("ssh-dss AAAAB3NzaC1kc3MAAAAA\n", "dsa").error().message.find("unsupported key type 'ssh-dss'") !=
          std::string::npos);
}

TEST_CASE("local files: missing, a directory, endless") {
    CHECK(read_local_file("/nonexistent/ca.pub", 100).error().code == Errc::NotFound);
    CHECK(read_local_file("/", 100).error().message == "cannot read /: Is a directory");
    CHECK(read_local_file("/dev/zero", 100).error().message == "/dev/zero is larger than 100 bytes");
}

TEST_CASE("known_hosts line for a host CA") {
    CHECK(check_known_hosts_pattern("*.example.com,10.0.*").ok());
    CHECK_FALSE(check_known_hosts_pattern("").ok());
    CHECK_FALSE(check_known_hosts_pattern("a b").ok());
    CHECK_FALSE(check_known_hosts_pattern("#x").ok());
    CHECK(known_hosts_line("*.example.com", kCaKey) == std::string("@cert-authority *.example.com ") + kCaKey);
}

TEST_CASE("YAML writer: plain where YAML 1.1 reads the same string back, else literal or quoted") {
    nlohmann::ordered_json doc = {{"plain", "root:root"},
                                  {"octal", "0644"},
                                  {"bool_word", "yes"},
                                  {"Off", "Off"},
                                  {"colon_space", "a: b"},
                                  {"hash", "a #b"},
                                  {"quote", "it's"},
                                  {"lead_space", " x\ny\n"},
                                  {"no_final_newline", "a\nb"},
                                  {"two_final_newlines", "a\n\n"},
                                  {"inner_blank", "a\n\nb\n"},
                                  {"utf8", "caf\xc3\xa9"},
                                  {"flag", true},
                                  {"empty_list", nlohmann::ordered_json::array()},
                                  {"nested", {{"list", {"one", {{"k", "v"}, {"k2", "v2"}}}}}}};
    CHECK(to_yaml(doc) == "plain: root:root\n"
                          "octal: '0644'\n"
                          "bool_word: 'yes'\n"
                          "'Off': 'Off'\n"
                          "colon_space: 'a: b'\n"
                          "hash: 'a #b'\n"
                          "quote: it's\n"
                          "lead_space: \" x\\ny\\n\"\n"
                          "no_final_newline: |-\n  a\n  b\n"
                          "two_final_newlines: \"a\\n\\n\"\n"
                          "inner_blank: |\n  a\n\n  b\n"
                          "utf8: \"caf\\u00e9\"\n"
                          "flag: true\n"
                          "empty_list: []\n"
                          "nested:\n"
                          "  list:\n"
                          "    - one\n"
                          "    - k: v\n"
                          "      k2: v2\n");
}
