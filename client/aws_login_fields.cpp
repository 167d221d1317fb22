// SPDX-License-Identifier: Apache-2.0
#include "aws_login_fields.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <string_view>

#include "aws_profile.hpp"
#include "local_file.hpp"
#include "run_capture.hpp"

namespace sshcert::client::aws {

namespace {

constexpr std::size_t kMaxAwsFileBytes = 1 << 20;

/// The file, or an empty one when it does not exist: neither ~/.aws file is required.
Result<IniFile> read_ini(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return IniFile{};
    auto text = read_local_file(path, kMaxAwsFileBytes);
    if (!text) return text.error();
    return parse_ini(*text, path);
}

/// "2026-12-02T14:00:00Z" (fractions and offsets as the AWS CLI writes them are cut at the seconds).
std::time_t parse_expiration(const std::string& s) {
    std::tm tm{};
    if (s.size() < 19 || !strptime(s.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    return timegm(&tm);
}

/// The AWS CLI waits without limit; a login should not hang on a stuck helper.
constexpr std::chrono::milliseconds kProcessTimeout{60000};

/// Runs the profile's credential_process through the shell and reads the JSON it prints
/// (docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html).
Result<LoginFields> run_credential_process(const CredentialPlan& plan) {
    auto fail = [&](const std::string& what) {
        return Error{Errc::InvalidArgument, "the " + plan.origin + " (" + plan.credential_process + ") " + what};
    };
    auto ran = run_capture({"/bin/sh", "-c", plan.credential_process}, {}, kProcessTimeout);
    if (!ran) return fail("could not be started: " + ran.error().message);
    if (ran->timed_out)
        return fail("printed no credentials within " + std::to_string(kProcessTimeout.count() / 1000) +
                    " s and was stopped; check that it runs by itself (its standard input is not the terminal)");
    if (ran->exit_status != 0) {
        std::string said = ran->err.substr(0, 500);
        while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
        return fail("failed with exit status " + std::to_string(ran->exit_status) + (said.empty() ? "" : ": " + said));
    }
    auto json = control::Json::parse(ran->out, nullptr, false);
    std::fill(ran->out.begin(), ran->out.end(), '\0');
    auto text = [&](const char* key) -> std::string {
        auto it = json.is_object() ? json.find(key) : json.end();
        return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!json.is_object()) return fail("printed something other than a JSON object; it must print Version, AccessKeyId and SecretAccessKey");
    if (auto v = json.find("Version"); v == json.end() || *v != 1)
        return fail("printed JSON without \"Version\": 1, the only version the AWS CLI knows");
    LoginFields out;
    out.secret_access_key = text("SecretAccessKey");
    out.session_token = text("SessionToken");
    std::string id = text("AccessKeyId");
    if (id.empty() || out.secret_access_key.empty()) return fail("printed JSON without AccessKeyId and SecretAccessKey");
    out.aws["access_key_id"] = id;
    if (std::string expiration = text("Expiration"); !expiration.empty()) {
        std::time_t at = parse_expiration(expiration);
        if (at == 0) return fail("printed an Expiration that is not an ISO 8601 time: " + expiration);
        out.aws["expires"] = static_cast<std::int64_t>(at);
    }
    json.clear();
    return out;
}

}  // namespace

Result<LoginFields> login_fields(const config::Getenv& getenv, const config::AuthSettings& auth) {
    FilePaths paths = aws_file_paths(getenv);
    auto config_file = read_ini(paths.config);
    if (!config_file) return config_file.error();
    auto credentials_file = read_ini(paths.credentials);
    if (!credentials_file) return credentials_file.error();
    auto plan = plan_credentials(getenv, profile_name(getenv, auth.aws_profile), *config_file, *credentials_file, paths);
    if (!plan) return plan.error();

    LoginFields out;
    if (plan->source == Source::Process) {
        auto ran = run_credential_process(*plan);
        if (!ran) return ran.error();
        out = std::move(*ran);
    } else if (plan->source == Source::InstanceRole) {
        out.aws["instance_role"] = true;  // the daemon asks IMDSv2 at every login, as the keys rotate
        if (const char* imds = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); imds && *imds) out.aws["imds_endpoint"] = imds;
    } else {
        out.aws["access_key_id"] = plan->access_key_id;
        out.secret_access_key = std::move(plan->secret_access_key);
        out.session_token = std::move(plan->session_token);
    }
    out.aws["origin"] = plan->origin;
    std::string region = !plan->region.empty() ? plan->region : auth.region;
    // "legacy": the global endpoint (signed for us-east-1) whatever the region, as older AWS CLIs did.
    if (const char* mode = getenv("AWS_STS_REGIONAL_ENDPOINTS"); mode && std::string_view(mode) == "legacy") region.clear();
    if (!region.empty()) out.aws["region"] = region;
    const char* endpoint = getenv("AWS_ENDPOINT_URL_STS");
    if (!endpoint || !*endpoint) endpoint = getenv("AWS_ENDPOINT_URL");
    if (endpoint && *endpoint) out.aws["sts_endpoint"] = endpoint;
    control::Json roles = control::Json::array();
    for (const auto& hop : plan->roles) {
        control::Json r{{"role_arn", hop.role_arn}};
        if (!hop.mfa_serial.empty()) r["mfa_serial"] = hop.mfa_serial;
        if (!hop.role_session_name.empty()) r["session_name"] = hop.role_session_name;
        if (!hop.external_id.empty()) r["external_id"] = hop.external_id;
        if (hop.duration_seconds) r["duration_seconds"] = *hop.duration_seconds;
        roles.push_back(std::move(r));
    }
    if (!roles.empty()) out.aws["roles"] = std::move(roles);
    return out;
}

}  // namespace sshcert::client::aws
