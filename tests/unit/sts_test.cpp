// SPDX-License-Identifier: Apache-2.0
// The STS requests of the aws login: the GetCallerIdentity Vault forwards, and
// the temporary credentials read from STS's XML.
#include <doctest/doctest.h>

#include "ssh_wire.hpp"
#include "sts.hpp"

using namespace sshcert;

namespace {

constexpr std::time_t kNow = 1440938160;  // 2015-08-30T12:36:00Z

std::string unbase64(const nlohmann::json& v) {
    wire::Bytes out;
    REQUIRE(wire::base64_decode(v.get<std::string>(), out));
    return {out.begin(), out.end()};
}

aws::Credentials keys(const std::string& token = "") {
    return {"AKIDEXAMPLE", SecretString("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), SecretString(token)};
}

// The shape of STS's AssumeRole answer (docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
constexpr const char* kAssumeRoleReply = R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/ssh-users/alice</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:alice</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>)";

}  // namespace

TEST_CASE("Vault's IAM login data: a signed GetCallerIdentity with the server ID header signed") {
    auto data = aws::vault_login_data(keys("session"), "", aws::sts_url("", ""), "vault.example.com", "dev", kNow);
    CHECK(data["role"] == "dev");
    CHECK(data["iam_http_request_method"] == "POST");
    CHECK(unbase64(data["iam_request_url"]) == "https://sts.amazonaws.com/");
    CHECK(unbase64(data["iam_request_body"]) == "Action=GetCallerIdentity&Version=2011-06-15");
    auto headers = nlohmann::json::parse(unbase64(data["iam_request_headers"]));
    CHECK(headers["X-Vault-AWS-IAM-Server-ID"] == nlohmann::json::array({"vault.example.com"}));
    CHECK(headers["Content-Type"][0] == "application/x-www-form-urlencoded; charset=utf-8");
    CHECK(headers["X-Amz-Date"][0] == "20150830T123600Z");
    CHECK(headers["X-Amz-Security-Token"][0] == "session");
    CHECK_FALSE(headers.contains("Host"));
    std::string auth = headers["Authorization"][0];
    CHECK(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, "));
    CHECK(auth.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id,") !=
          std::string::npos);
    CHECK(data.dump().find("wJalrXUtnFEMI") == std::string::npos);  // the secret key never leaves us

    auto plain = aws::vault_login_data(keys(), "eu-west-1", aws::sts_url("eu-west-1", ""), "", "", kNow);
    CHECK_FALSE(plain.contains("role"));
    CHECK(unbase64(plain["iam_request_url"]) == "https://sts.eu-west-1.amazonaws.com/");
    auto h = nlohmann::json::parse(unbase64(plain["iam_request_headers"]));
    CHECK(h["Authorization"][0].get<std::string>().find("/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date,") !=
          std::string::npos);
}

TEST_CASE("the STS endpoint: an override, the global one for us-east-1, else the region's") {
    CHECK(aws::sts_url("us-east-1", "") == "https://sts.amazonaws.com/");
    CHECK(aws::sts_url("ap-south-1", "") == "https://sts.ap-south-1.amazonaws.com/");
    CHECK(aws::sts_url("ap-south-1", "http://127.0.0.1:4566") == "http://127.0.0.1:4566/");
    CHECK(aws::signing_region("") == "us-east-1");
}

TEST_CASE("AssumeRole with MFA: the form body, signed") {
    aws::AssumeRoleParams p{"arn:aws:iam::1:role/ssh", "alice", "", 3600, "arn:aws:iam::1:mfa/alice", "123456"};
    aws::Request r = aws::assume_role_request(p, keys(), "", "http://127.0.0.1:9/", kNow);
    CHECK(r.body ==
          "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fssh&RoleSessionName=alice"
          "&DurationSeconds=3600&SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Falice&TokenCode=123456");
    CHECK(r.headers[0] == std::pair<std::string, std::string>{"Host", "127.0.0.1:9"});
    CHECK(r.headers.back().first == "Authorization");
    aws::Request s = aws::get_session_token_request("", "", std::nullopt, keys(), "", "https://sts.amazonaws.com/", kNow);
    CHECK(s.body == "Action=GetSessionToken&Version=2011-06-15");
}

TEST_CASE("temporary credentials read from STS's answer; its errors in the user's terms") {
    auto t = aws::parse_credentials_response(200, kAssumeRoleReply);
    REQUIRE(t);
    CHECK(t->keys.access_key_id == "ASIAIOSFODNN7EXAMPLE");
    CHECK(t->keys.secret_access_key.reveal() == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    CHECK(t->keys.session_token.reveal().starts_with("AQoDYXdzEPT//"));
    CHECK(t->expiration == 1573306481);
    CHECK(t->assumed_role_arn == "arn:aws:sts::123456789012:assumed-role/ssh-users/alice");

    auto mfa = aws::parse_credentials_response(
        403, R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MultiFactorAuthentication failed with invalid MFA one time pass code. </Message></Error><RequestId>x</RequestId></ErrorResponse>)");
    REQUIRE_FALSE(mfa);
    CHECK(mfa.error().message == "AWS did not accept the MFA code; wait for the next code and try again");

    auto denied = aws::parse_credentials_response(
        403, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: a is not authorized to perform: "
             "sts:AssumeRole on resource: &quot;r&quot;</Message></Error></ErrorResponse>");
    REQUIRE_FALSE(denied);
    CHECK(denied.error().message == "AWS STS refused: AccessDenied: User: a is not authorized to perform: sts:AssumeRole on resource: \"r\"");
    CHECK(aws::parse_credentials_response(503, "").error().code == Errc::VaultUnavailable);
    CHECK(aws::parse_credentials_response(200, "<AssumeRoleResponse/>").error().code == Errc::VaultBadResponse);
    CHECK(aws::parse_credentials_response(200, "<AccessKeyId>a</AccessKeyId><SecretAccessKey>b</SecretAccessKey>"
                                               "<SessionToken>c</SessionToken><Expiration>soon</Expiration>")
              .error().code == Errc::VaultBadResponse);
}
