// SPDX-License-Identifier: Apache-2.0
// AWS Signature Version 4 (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html):
// what the aws login method signs sts:GetCallerIdentity with, and what the STS
// calls behind an AWS CLI profile (AssumeRole, GetSessionToken) are signed with.
// Pure functions over a request held in memory; no I/O.
#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secure_bytes.hpp"

namespace sshcert::aws {

struct Credentials {
    std::string access_key_id;
    SecretString secret_access_key;
    SecretString session_token;  ///< empty for long-term keys
};

/// An HTTP request as it will be sent. `path` and `query` are as they appear in the
/// request line (path before '?', query after it, percent-encoded or not); headers keep
/// their order and case, repeats included.
struct Request {
    std::string method;
    std::string path = "/";
    std::string query;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct Scope {
    std::string region;   ///< us-east-1
    std::string service;  ///< sts
    std::time_t time = 0;
};

struct Options {
    /// Remove "." and ".." segments and repeated slashes from the path (every service but S3).
    bool normalize_path = true;
    /// Sign X-Amz-Security-Token; false adds it after signing, as some services want.
    bool sign_session_token = true;
    /// Add and sign x-amz-content-sha256 (header signing only).
    bool content_sha256_header = false;
};

/// The intermediate results, for tests and for saying what was signed.
struct Signed {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signature;  ///< lowercase hex
};

/// "20150830T123600Z".
std::string amz_date(std::time_t t);
/// Percent-encodes every byte but A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash).
std::string uri_encode(std::string_view s, bool keep_slash);

/// Signs `req` in place with an Authorization header, adding X-Amz-Date unless the
/// request has one, and X-Amz-Security-Token when the credentials carry a token.
Signed sign_with_header(Request& req, const Credentials& creds, const Scope& scope, const Options& options = {});

/// Signs `req` in place with the X-Amz-* query parameters of a presigned URL.
Signed sign_with_query(Request& req, const Credentials& creds, const Scope& scope, std::chrono::seconds expires,
                       const Options& options = {});

}  // namespace sshcert::aws
