// SPDX-License-Identifier: Apache-2.0
// What an aws login starts from, as `sshcert login --method aws` found it in the
// login command's environment and ~/.aws files, and what the daemon keeps in
// memory to log in to Vault again by itself.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "sigv4.hpp"

namespace sshcert::aws {

/// One role assumed on the way, with the credentials of the step before it.
struct RoleStep {
    std::string role_arn;
    std::string mfa_serial;  ///< empty: no MFA code
    std::string session_name;
    std::string external_id;
    std::optional<int> duration_seconds;
};

struct AwsLogin {
    Credentials keys;              ///< the source's, then (after the roles) the temporary ones
    std::time_t expires = 0;       ///< when `keys` end; 0: long-term keys
    std::string origin;            ///< where `keys` came from, in the user's terms
    std::vector<RoleStep> roles;   ///< still to assume, in order
    std::string region;            ///< empty: us-east-1 and the global endpoint
    std::string sts_endpoint;      ///< AWS_ENDPOINT_URL_STS or [auth] sts_endpoint; empty: AWS's
    std::string header_value;      ///< X-Vault-AWS-IAM-Server-ID; empty: none
    /// The EC2 instance role: `keys` are fetched from IMDSv2 at `imds_endpoint` at every login.
    bool instance_role = false;
    std::string imds_endpoint = "http://169.254.169.254";
};

}  // namespace sshcert::aws
