// SPDX-License-Identifier: Apache-2.0
// What `sshcert login --method aws` sends the daemon: the credentials found as
// the AWS CLI finds them (aws_profile.hpp), a credential_process run here, in the
// login command's environment, and the roles the daemon is to assume.
#pragma once

#include <string>

#include "config.hpp"
#include "control_codec.hpp"
#include "result.hpp"

namespace sshcert::client::aws {

struct LoginFields {
    control::Json aws;           ///< the login request's "aws": nothing secret
    std::string secret_access_key;  ///< the caller sends these as secrets and wipes them
    std::string session_token;
};

Result<LoginFields> login_fields(const config::Getenv& getenv, const config::AuthSettings& auth);

}  // namespace sshcert::client::aws
