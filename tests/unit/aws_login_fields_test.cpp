// SPDX-License-Identifier: Apache-2.0
// What `sshcert login --method aws` sends: the plan's keys and roles, the region
// and STS endpoint from the environment, a credential_process's JSON.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "aws_login_fields.hpp"
#include "run_capture.hpp"
#include "fake_env.hpp"

using namespace sshcert;
using namespace sshcert::client::aws;

namespace {

/// An AWS config file with `text`, removed at the end.
struct ConfigFile {
    explicit ConfigFile(const std::string& text) {
        char tmpl[] = "/tmp/sshcert-aws-config-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << text;
    }
    ~ConfigFile() { std::remove(path.c_str()); }
    std::string path;
};

Result<LoginFields> fields(std::map<std::string, std::string> env, const config::AuthSettings& auth = {}) {
    env.try_emplace("HOME", "/nonexistent");
    return login_fields(test::env(std::move(env)), auth);
}

const std::map<std::string, std::string> kKeys{{"AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", "s3cret"}};

}  // namespace

TEST_CASE("aws login fields: keys from the environment, the region and the STS endpoint it names") {
    auto env = kKeys;
    env["AWS_REGION"] = "eu-west-1";
    env["AWS_ENDPOINT_URL_STS"] = "https://sts.example.test";
    auto f = fields(env);
    REQUIRE_MESSAGE(f, f.error().message);
    CHECK(f->aws["access_key_id"] == "AKIAEXAMPLE");
    CHECK(f->secret_access_key == "s3cret");
    CHECK_FALSE(f->aws.contains("secret_access_key"));  // secrets travel apart, to be wiped
    CHECK(f->aws["region"] == "eu-west-1");
    CHECK(f->aws["sts_endpoint"] == "https://sts.example.test");

    env["AWS_STS_REGIONAL_ENDPOINTS"] = "legacy";  // the global endpoint, signed for us-east-1
    auto legacy = fields(env);
    REQUIRE(legacy);
    CHECK_FALSE(legacy->aws.contains("region"));

    config::AuthSettings auth;
    auth.region = "ap-south-1";
    auto configured = fields(kKeys, auth);
    REQUIRE(configured);
    CHECK(configured->aws["region"] == "ap-south-1");
}

TEST_CASE("aws login fields: a profile's roles go to the daemon, and no credentials means the instance role") {
    ConfigFile config("[profile prod]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
                      "mfa_serial = arn:aws:iam::1:mfa/a\nexternal_id = x\nduration_seconds = 900\n\n"
                      "[profile base]\naws_access_key_id = AKIABASE\naws_secret_access_key = k\n");
    auto f = fields({{"AWS_PROFILE", "prod"}, {"AWS_CONFIG_FILE", config.path}});
    REQUIRE_MESSAGE(f, f.error().message);
    CHECK(f->aws["access_key_id"] == "AKIABASE");
    REQUIRE(f->aws["roles"].size() == 1);
    CHECK(f->aws["roles"][0] == control::Json{{"role_arn", "arn:aws:iam::1:role/r"}, {"mfa_serial", "arn:aws:iam::1:mfa/a"},
                                              {"external_id", "x"}, {"duration_seconds", 900}});

    auto none = fields({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}});
    REQUIRE_MESSAGE(none, none.error().message);
    CHECK(none->aws["instance_role"] == true);
    CHECK(none->aws["imds_endpoint"] == "http://127.0.0.1:1");
    CHECK(none->secret_access_key.empty());
}

TEST_CASE("aws login fields: credential_process's JSON, and what is wrong with it") {
    auto with_process = [](const std::string& command) {
        ConfigFile config("[profile p]\ncredential_process = " + command + "\n");
        return fields({{"AWS_PROFILE", "p"}, {"AWS_CONFIG_FILE", config.path}, {"PATH", "/usr/bin:/bin"}});
    };
    auto ok = with_process(R"(printf '{"Version":1,"AccessKeyId":"ASIAX","SecretAccessKey":"k","SessionToken":"t","Expiration":"2030-01-02T03:04:05Z"}')");
    REQUIRE_MESSAGE(ok, ok.error().message);
    CHECK(ok->aws["access_key_id"] == "ASIAX");
    CHECK(ok->session_token == "t");
    CHECK(ok->aws["expires"] == 1893553445);
    auto contains = [](const Result<LoginFields>& r, const char* text) {
        return !r && r.error().message.find(text) != std::string::npos;
    };
    CHECK(contains(with_process("false"), "failed with exit status 1"));
    CHECK(contains(with_process("echo '[1]'"), "printed something other than a JSON object"));
    CHECK(contains(with_process(R"(printf '{"Version":1,"AccessKeyId":"A"}')"), "without AccessKeyId and SecretAccessKey"));
    CHECK(contains(with_process(R"(printf '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"k","Expiration":"soon"}')"),
                   "an Expiration that is not an ISO 8601 time: soon"));
}

TEST_CASE("run_capture: a helper past its timeout is stopped with what it started, and says so") {
    auto start = std::chrono::steady_clock::now();
    auto r = client::run_capture({"/bin/sh", "-c", "sleep 30 & sleep 30"}, {}, std::chrono::milliseconds(300));
    REQUIRE(r);
    CHECK(r->timed_out);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));  // not the 30 s sleeps
    auto quick = client::run_capture({"/bin/sh", "-c", "echo hi"}, {}, std::chrono::seconds(10));
    REQUIRE(quick);
    CHECK_FALSE(quick->timed_out);
    CHECK(quick->out == "hi\n");
}
