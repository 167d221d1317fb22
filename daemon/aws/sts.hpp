// SPDX-License-Identifier: Apache-2.0
// The AWS Security Token Service requests the aws login makes, built and read
// without I/O: the signed sts:GetCallerIdentity that Vault forwards to STS to
// learn who we are (Vault never sees the secret key), and AssumeRole /
// GetSessionToken, whose temporary credentials the daemon keeps in memory.
#pragma once

#include <nlohmann/json.hpp>

#include <ctime>
#include <optional>
#include <string>

#include "result.hpp"
#include "sigv4.hpp"

namespace sshcert::aws {

/// The STS endpoint for `region`: `override_url` when given (AWS_ENDPOINT_URL_STS, `sts_endpoint`);
/// else the global https://sts.amazonaws.com/ for us-east-1 (and no region), as the Vault CLI
/// signs by default, and https://sts.<region>.amazonaws.com/ for any other region.
std::string sts_url(const std::string& region, const std::string& override_url);
/// The region STS requests to `url` are signed for: the region named, else us-east-1.
std::string signing_region(const std::string& region);

/// The body of Vault's `auth/<mount>/login` for the IAM method, as the Vault CLI builds it:
/// a GetCallerIdentity request to `url`, signed with `creds` at `now`, carrying
/// X-Vault-AWS-IAM-Server-ID when `server_id` is not empty (signed, so Vault can tell
/// the request was made for it). `role` may be empty (Vault then uses the IAM name).
nlohmann::json vault_login_data(const Credentials& creds, const std::string& region, const std::string& url,
                                const std::string& server_id, const std::string& role, std::time_t now);

/// Temporary credentials from AssumeRole or GetSessionToken.
struct TemporaryCredentials {
    Credentials keys;
    std::time_t expiration = 0;
    std::string assumed_role_arn;  ///< AssumeRole only
};

struct AssumeRoleParams {
    std::string role_arn;
    std::string role_session_name;  ///< required by STS; the caller picks one when the profile has none
    std::string external_id;
    std::optional<int> duration_seconds;
    std::string mfa_serial;
    std::string mfa_code;  ///< with mfa_serial
};

/// A signed POST of sts:AssumeRole to `url`.
Request assume_role_request(const AssumeRoleParams& p, const Credentials& creds, const std::string& region,
                            const std::string& url, std::time_t now);
/// A signed POST of sts:GetSessionToken to `url` (the MFA session of a user with long-term keys).
Request get_session_token_request(const std::string& mfa_serial, const std::string& mfa_code,
                                  std::optional<int> duration_seconds, const Credentials& creds,
                                  const std::string& region, const std::string& url, std::time_t now);

/// Reads STS's XML answer to either request. An error answer (<ErrorResponse>) becomes an
/// Error with STS's code and message in the user's terms: a wrong MFA code says so.
Result<TemporaryCredentials> parse_credentials_response(int http_status, const std::string& body);

/// "2026-12-02T14:00:00Z" (fractional seconds allowed) as Unix seconds; 0 when it is not that.
std::time_t parse_iso8601(const std::string& s);

/// The text of the first <tag>...</tag> in `xml`, entities decoded; nullopt when absent.
std::optional<std::string> xml_text(const std::string& xml, const std::string& tag);

}  // namespace sshcert::aws
