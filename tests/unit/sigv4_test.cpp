// SPDX-License-Identifier: Apache-2.0
// The SigV4 signer against AWS's own test suite (both published copies, in
// ../shared/data/sigv4-vectors when that folder is beside the checkout) and
// against the worked example in AWS's documentation.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sigv4.hpp"

using namespace sshcert;
namespace fs = std::filesystem;

namespace {

const fs::path kVectors = fs::path(SSHCERT_SOURCE_DIR) / ".." / "shared" / "data" / "sigv4-vectors";
constexpr std::time_t kVectorTime = 1440938160;  // 2015-08-30T12:36:00Z, every vector's time

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A raw HTTP request as the suites store it: request line, headers (a line starting
/// with white space continues the one before), blank line, body.
aws::Request parse_request(const std::string& raw) {
    aws::Request req;
    std::istringstream in(raw);
    std::string line;
    std::getline(in, line);
    std::size_t sp = line.find(' '), proto = line.rfind(" HTTP/");
    std::string target = line.substr(sp + 1, proto - sp - 1);
    req.method = line.substr(0, sp);
    std::size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    while (std::getline(in, line) && !line.empty()) {
        if ((line[0] == ' ' || line[0] == '\t') && !req.headers.empty()) {
            req.headers.back().second += "\n" + line;
        } else {
            std::size_t colon = line.find(':');
            req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
        }
    }
    std::ostringstream body;
    body << in.rdbuf();
    req.body = body.str();
    return req;
}

aws::Scope vector_scope() { return {"us-east-1", "service", kVectorTime}; }

aws::Credentials example_credentials(const std::string& token = "") {
    return {"AKIDEXAMPLE", SecretString("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), SecretString(token)};
}

std::string header(const aws::Request& req, std::string_view name) {
    for (const auto& [k, v] : req.headers)
        if (k == name) return v;
    return {};
}

std::string authorization(const aws::Request& req) { return header(req, "Authorization"); }

}  // namespace

TEST_CASE("aws-c-auth's SigV4 suite: canonical request, string to sign and signature, header and query signing") {
    fs::path dir = kVectors / "awslabs-aws-c-auth" / "tests" / "aws-signing-test-suite" / "v4";
    if (!fs::is_directory(dir)) {
        MESSAGE("no " << dir.string() << " beside the checkout; skipped");
        return;
    }
    int cases = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        fs::path c = entry.path();
        CAPTURE(c.filename().string());
        auto ctx = nlohmann::json::parse(read(c / "context.json"));
        aws::Options options;
        options.normalize_path = ctx.value("normalize", true);
        options.sign_session_token = !ctx.value("omit_session_token", false);
        auto creds = example_credentials(ctx["credentials"].value("token", ""));

        aws::Request req = parse_request(read(c / "request.txt"));
        options.content_sha256_header = ctx.value("sign_body", false);
        aws::Signed h = aws::sign_with_header(req, creds, vector_scope(), options);
        CHECK(h.canonical_request == read(c / "header-canonical-request.txt"));
        CHECK(h.string_to_sign == read(c / "header-string-to-sign.txt"));
        CHECK(h.signature == read(c / "header-signature.txt"));

        aws::Request qreq = parse_request(read(c / "request.txt"));
        options.content_sha256_header = false;
        aws::Signed q = aws::sign_with_query(qreq, creds, vector_scope(),
                                             std::chrono::seconds(ctx.value("expiration_in_seconds", 3600)), options);
        CHECK(q.canonical_request == read(c / "query-canonical-request.txt"));
        CHECK(q.string_to_sign == read(c / "query-string-to-sign.txt"));
        CHECK(q.signature == read(c / "query-signature.txt"));
        ++cases;
    }
    CHECK(cases == 38);
}

TEST_CASE("botocore's copy of the SigV4 suite: canonical request, string to sign and Authorization header") {
    fs::path dir = kVectors / "boto-botocore" / "tests" / "unit" / "auth" / "aws4_testsuite";
    if (!fs::is_directory(dir)) {
        MESSAGE("no " << dir.string() << " beside the checkout; skipped");
        return;
    }
    int cases = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.path().extension() != ".req") continue;
        fs::path base = entry.path();
        base.replace_extension();
        CAPTURE(base.filename().string());
        // Each .req carries X-Amz-Date. A session token the signer adds is only in the signed
        // request (.sreq); whether it was signed shows in the canonical request.
        aws::Request req = parse_request(read(entry.path()));
        std::string token, creq = read(base.string() + ".creq");
        if (header(req, "X-Amz-Security-Token").empty()) token = header(parse_request(read(base.string() + ".sreq")), "X-Amz-Security-Token");
        aws::Options options;
        options.sign_session_token = creq.find("x-amz-security-token:") != std::string::npos;
        aws::Signed s = aws::sign_with_header(req, example_credentials(token), vector_scope(), options);
        CHECK(s.canonical_request == creq);
        CHECK(s.string_to_sign == read(base.string() + ".sts"));
        CHECK(authorization(req) == read(base.string() + ".authz"));
        ++cases;
    }
    CHECK(cases == 34);
}

TEST_CASE("the worked example in AWS's documentation: IAM ListUsers") {
    aws::Request req;
    req.method = "GET";
    req.query = "Action=ListUsers&Version=2010-05-08";
    req.headers = {{"Host", "iam.amazonaws.com"}, {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    aws::Signed s = aws::sign_with_header(req, example_credentials(), {"us-east-1", "iam", kVectorTime});
    CHECK(s.string_to_sign ==
          "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
          "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    CHECK(s.signature == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    CHECK(authorization(req) ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date, "
          "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST_CASE("a session token is signed by default, and sent unsigned when asked") {
    aws::Request signed_req{"POST", "/", "", {{"Host", "sts.amazonaws.com"}}, "Action=GetCallerIdentity&Version=2011-06-15"};
    aws::Request unsigned_req = signed_req;
    auto creds = example_credentials("session-token");
    aws::sign_with_header(signed_req, creds, {"us-east-1", "sts", kVectorTime});
    CHECK(authorization(signed_req).find("SignedHeaders=host;x-amz-date;x-amz-security-token,") != std::string::npos);
    aws::Options after;
    after.sign_session_token = false;
    aws::sign_with_header(unsigned_req, creds, {"us-east-1", "sts", kVectorTime}, after);
    CHECK(authorization(unsigned_req).find("SignedHeaders=host;x-amz-date,") != std::string::npos);
    CHECK(unsigned_req.headers.back() == std::pair<std::string, std::string>{"X-Amz-Security-Token", "session-token"});
}

TEST_CASE("uri_encode keeps only the unreserved characters, and '/' in paths") {
    CHECK(aws::uri_encode("a b/c+~", false) == "a%20b%2Fc%2B~");
    CHECK(aws::uri_encode("a b/c+~", true) == "a%20b/c%2B~");
    CHECK(aws::amz_date(0) == "19700101T000000Z");
}
