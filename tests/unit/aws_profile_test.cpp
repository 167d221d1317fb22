// SPDX-License-Identifier: Apache-2.0
// AWS credentials found as the AWS CLI finds them: the environment, then the
// profile's role, keys, credential_process, then the instance role.
#include <doctest/doctest.h>

#include "aws_profile.hpp"
#include "fake_env.hpp"

using namespace sshcert;
using namespace sshcert::client::aws;

namespace {

const FilePaths kPaths{"/home/a/.aws/config", "/home/a/.aws/credentials"};

IniFile ini(std::string_view text) {
    auto r = parse_ini(text, "test");
    REQUIRE_MESSAGE(r, r.error().message);
    return *r;
}

Result<CredentialPlan> plan(std::map<std::string, std::string> env, const std::string& profile, std::string_view config,
                            std::string_view credentials) {
    return plan_credentials(test::env(std::move(env)), profile, ini(config), ini(credentials), kPaths);
}

// The layout the seeds describe: long-term keys in one profile, a role behind MFA on top.
constexpr std::string_view kConfig = R"([default]
region = eu-west-1

[profile prod]
role_arn = arn:aws:iam::123456789012:role/ssh-users
source_profile = corp
mfa_serial = arn:aws:iam::111111111111:mfa/alice
duration_seconds = 43200
role_session_name = alice

[profile corp]
region = us-east-1

[profile tool]
credential_process = /usr/bin/vault-creds --json
)";
constexpr std::string_view kCredentials = R"(# long-term keys
[corp]
aws_access_key_id = AKIAEXAMPLECORP
aws_secret_access_key = corpsecret
)";

}  // namespace

TEST_CASE("keys in the environment come first, with their session token") {
    auto p = plan({{"AWS_ACCESS_KEY_ID", "AKIAENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_SESSION_TOKEN", "t"},
                   {"AWS_PROFILE", "prod"}},
                  "prod", kConfig, kCredentials);
    REQUIRE(p);
    CHECK(p->source == Source::Environment);
    CHECK(p->access_key_id == "AKIAENV");
    CHECK(p->session_token == "t");
    CHECK(p->roles.empty());
}

TEST_CASE("a role behind MFA assumed with a source profile's long-term keys") {
    auto p = plan({}, "prod", kConfig, kCredentials);
    REQUIRE_MESSAGE(p, p.error().message);
    CHECK(p->source == Source::SharedCredentialsFile);
    CHECK(p->access_key_id == "AKIAEXAMPLECORP");
    REQUIRE(p->roles.size() == 1);
    CHECK(p->roles[0].role_arn == "arn:aws:iam::123456789012:role/ssh-users");
    CHECK(p->roles[0].mfa_serial == "arn:aws:iam::111111111111:mfa/alice");
    CHECK(p->roles[0].duration_seconds == 43200);
    CHECK(p->roles[0].role_session_name == "alice");
    CHECK(p->region.empty());  // prod sets none; the default profile's region is not inherited
}

TEST_CASE("the region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's") {
    CHECK(plan({}, "corp", kConfig, kCredentials)->region == "us-east-1");
    CHECK(plan({{"AWS_DEFAULT_REGION", "ap-south-1"}}, "corp", kConfig, kCredentials)->region == "ap-south-1");
    CHECK(plan({{"AWS_REGION", "sa-east-1"}, {"AWS_DEFAULT_REGION", "x"}}, "corp", kConfig, kCredentials)->region ==
          "sa-east-1");
}

TEST_CASE("role chains: a source profile that itself assumes a role") {
    auto p = plan({}, "admin", R"([profile admin]
role_arn = arn:aws:iam::2:role/admin
source_profile = prod
[profile prod]
role_arn = arn:aws:iam::1:role/ssh
source_profile = corp
)", kCredentials);
    REQUIRE_MESSAGE(p, p.error().message);
    REQUIRE(p->roles.size() == 2);
    CHECK(p->roles[0].role_arn == "arn:aws:iam::1:role/ssh");
    CHECK(p->roles[1].role_arn == "arn:aws:iam::2:role/admin");
}

TEST_CASE("credential_process, and the instance role when nothing else is there") {
    auto p = plan({}, "tool", kConfig, kCredentials);
    REQUIRE(p);
    CHECK(p->source == Source::Process);
    CHECK(p->credential_process == "/usr/bin/vault-creds --json");

    auto none = plan({}, "default", "", "");
    REQUIRE(none);
    CHECK(none->source == Source::InstanceRole);
    auto disabled = plan({{"AWS_EC2_METADATA_DISABLED", "true"}}, "default", "", "");
    REQUIRE_FALSE(disabled);
    CHECK(disabled.error().message.find("AWS_EC2_METADATA_DISABLED") != std::string::npos);
}

TEST_CASE("mistakes in the files name the profile and what to fix") {
    auto missing = plan({}, "nosuch", kConfig, kCredentials);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("AWS profile 'nosuch' is in neither /home/a/.aws/config") != std::string::npos);

    auto loop = plan({}, "a", "[profile a]\nrole_arn = r\nsource_profile = b\n[profile b]\nrole_arn = r\nsource_profile = a\n", "");
    REQUIRE_FALSE(loop);
    CHECK(loop.error().message.find("leads back to it") != std::string::npos);

    auto sourceless = plan({}, "a", "[profile a]\nrole_arn = r\n", "");
    REQUIRE_FALSE(sourceless);
    CHECK(sourceless.error().message.find("no source_profile or credential_source") != std::string::npos);

    auto sso = plan({}, "a", "[profile a]\nsso_session = corp\n", "");
    REQUIRE_FALSE(sso);
    CHECK(sso.error().message.find("credential_process = aws configure export-credentials") != std::string::npos);

    auto keyless_source = plan({}, "a", "[profile a]\nrole_arn = r\nsource_profile = b\n[profile b]\nregion = x\n", "");
    REQUIRE_FALSE(keyless_source);
    CHECK(keyless_source.error().message.find("'b', named as source_profile, has no credentials") != std::string::npos);
}

TEST_CASE("the INI format as the AWS CLI reads it") {
    auto f = ini("[profile  dev ]\nRegion: eu-west-1\nsts =\n  endpoint_url = http://127.0.0.1:9\n; comment\n\n[default]\n"
                 "aws_access_key_id=AKIA\r\n");
    CHECK(f.sections.at("profile dev").at("region") == "eu-west-1");
    CHECK(f.sections.at("profile dev").at("sts.endpoint_url") == "http://127.0.0.1:9");
    CHECK(f.sections.at("default").at("aws_access_key_id") == "AKIA");

    auto twice = parse_ini("[a]\nx = 1\nx = 2\n", "/home/a/.aws/config");
    REQUIRE_FALSE(twice);
    CHECK(twice.error().message == "/home/a/.aws/config:3: 'x' is set twice in this section");
    CHECK_FALSE(parse_ini("x = 1\n", "f"));
    CHECK_FALSE(parse_ini("[a\n", "f"));
}

TEST_CASE("the profile: AWS_PROFILE, then [auth] aws_profile, then AWS_DEFAULT_PROFILE, then default") {
    CHECK(profile_name(test::env({{"AWS_PROFILE", "p"}, {"AWS_DEFAULT_PROFILE", "d"}}), "c") == "p");
    CHECK(profile_name(test::env({{"AWS_DEFAULT_PROFILE", "d"}}), "c") == "c");
    CHECK(profile_name(test::env({{"AWS_DEFAULT_PROFILE", "d"}}), "") == "d");
    CHECK(profile_name(test::env({}), "") == "default");
    CHECK(aws_file_paths(test::env({{"HOME", "/h"}})).credentials == "/h/.aws/credentials");
    CHECK(aws_file_paths(test::env({{"HOME", "/h"}, {"AWS_CONFIG_FILE", "/c"}})).config == "/c");
}
