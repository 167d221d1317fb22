// SPDX-License-Identifier: Apache-2.0
// Where `sshcert login --method aws` finds AWS credentials: as the AWS CLI does,
// from the login command's environment and the user's ~/.aws files, so a profile
// that works for `aws` works here. This only reads and plans; the calls to STS
// (AssumeRole with the MFA code) and to Vault are the daemon's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paths.hpp"
#include "result.hpp"

namespace sshcert::client::aws {

/// An INI file as the AWS CLI reads it. A key with an empty value followed by indented
/// `key = value` lines holds a nested table (`sts =` / `  endpoint_url = ...`): kept as
/// "sts.endpoint_url".
struct IniFile {
    std::map<std::string, std::map<std::string, std::string>> sections;  ///< "default", "profile dev", "dev"
};

/// The file, or an error naming `origin` and the line.
Result<IniFile> parse_ini(std::string_view text, const std::string& origin);

/// One role assumed on the way, with the credentials of the step before it.
struct RoleHop {
    std::string profile;  ///< the profile that names the role
    std::string role_arn;
    std::string mfa_serial;  ///< empty: no MFA code asked
    std::string role_session_name;
    std::string external_id;
    std::optional<int> duration_seconds;
};

/// What the credentials start from, before any role is assumed.
enum class Source { Environment, SharedCredentialsFile, ConfigFile, Process, InstanceRole };

struct CredentialPlan {
    Source source = Source::InstanceRole;
    std::string origin;  ///< in the user's terms: "AWS_ACCESS_KEY_ID", "profile dev in /home/a/.aws/credentials"
    /// Environment and files: the keys (secret and token are wiped by the caller after use).
    std::string access_key_id, secret_access_key, session_token;
    std::string credential_process;  ///< Process: the command line, run by the shell
    std::vector<RoleHop> roles;      ///< assumed in this order
    std::string region;              ///< empty: the caller's default
};

/// The two files: AWS_CONFIG_FILE (default ~/.aws/config), AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials).
struct FilePaths {
    std::string config, credentials;
};
FilePaths aws_file_paths(const config::Getenv& getenv);

/// The profile used: AWS_PROFILE, else `configured` ([auth] aws_profile), else AWS_DEFAULT_PROFILE, else "default".
std::string profile_name(const config::Getenv& getenv, const std::string& configured);

/// The AWS CLI's order: keys in the environment; then the profile's role_arn (with
/// source_profile or credential_source), its keys in the credentials file, its
/// credential_process, its keys in the config file; then the EC2 instance role
/// (unless AWS_EC2_METADATA_DISABLED=true). A profile named but found in neither
/// file, a loop of source_profile, or a role without a source is an error that says
/// which file and profile to fix.
Result<CredentialPlan> plan_credentials(const config::Getenv& getenv, const std::string& profile, const IniFile& config,
                                        const IniFile& credentials, const FilePaths& paths);

}  // namespace sshcert::client::aws
