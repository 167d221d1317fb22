// SPDX-License-Identifier: Apache-2.0
#include "aws_profile.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace sshcert::client::aws {
namespace {

using Section = std::map<std::string, std::string>;

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

Error ini_error(const std::string& origin, int line, const std::string& what) {
    return {Errc::InvalidArgument, origin + ":" + std::to_string(line) + ": " + what};
}

const char* env_value(const config::Getenv& getenv, const char* name) {
    const char* v = getenv(name);
    return v && *v ? v : nullptr;
}

std::string get(const Section* s, const std::string& key) {
    if (!s) return {};
    auto it = s->find(key);
    return it == s->end() ? std::string{} : it->second;
}

bool has_keys(const Section* s) { return !get(s, "aws_access_key_id").empty() && !get(s, "aws_secret_access_key").empty(); }

/// Resolves one profile of the two files, following source_profile.
class Planner {
public:
    Planner(const config::Getenv& getenv, const IniFile& config, const IniFile& credentials, const FilePaths& paths)
        : getenv_(getenv), config_(config), credentials_(credentials), paths_(paths) {}

    const Section* in_config(const std::string& profile) const {
        for (const std::string& name : {"profile " + profile, profile == "default" ? profile : std::string{}}) {
            if (auto it = config_.sections.find(name); !name.empty() && it != config_.sections.end()) return &it->second;
        }
        return nullptr;
    }
    const Section* in_credentials(const std::string& profile) const {
        auto it = credentials_.sections.find(profile);
        return it == credentials_.sections.end() ? nullptr : &it->second;
    }
    std::string value(const std::string& profile, const std::string& key) const {
        std::string v = get(in_credentials(profile), key);  // the credentials file wins, as in the CLI
        return v.empty() ? get(in_config(profile), key) : v;
    }

    /// The chosen profile (`source` false) or a source_profile on the way (`source` true).
    Result<CredentialPlan> resolve(const std::string& profile, bool source) {
        visited_.insert(profile);
        const Section* cred = in_credentials(profile);
        const Section* conf = in_config(profile);
        bool role = !value(profile, "role_arn").empty();
        // In a source profile, keys beat role_arn; in the chosen one, the role is assumed.
        if (role && !(source && (has_keys(cred) || has_keys(conf)))) return assume_role(profile);
        if (has_keys(cred)) return keys(*cred, Source::SharedCredentialsFile, profile, paths_.credentials);
        if (std::string process = value(profile, "credential_process"); !process.empty()) {
            CredentialPlan p;
            p.source = Source::Process;
            p.credential_process = process;
            p.origin = "credential_process of profile " + profile;
            return p;
        }
        if (has_keys(conf)) return keys(*conf, Source::ConfigFile, profile, paths_.config);
        if (!value(profile, "sso_start_url").empty() || !value(profile, "sso_session").empty())
            return Error{Errc::InvalidArgument,
                         "AWS profile '" + profile + "' signs in with IAM Identity Center (SSO), which sshcert does not do; add "
                         "`credential_process = aws configure export-credentials --profile " + profile +
                         " --format process` to a profile and use that one"};
        if (source)
            return Error{Errc::InvalidArgument, "AWS profile '" + profile +
                                                  "', named as source_profile, has no credentials: give it "
                                                  "aws_access_key_id and aws_secret_access_key in " + paths_.credentials};
        return instance_role("profile " + profile + " has no credentials");
    }

    Result<CredentialPlan> instance_role(const std::string& why) const {
        const char* disabled = getenv_("AWS_EC2_METADATA_DISABLED");
        if (disabled && lower(disabled) == "true")
            return Error{Errc::InvalidArgument, "no AWS credentials found (" + why +
                                                  ", and AWS_EC2_METADATA_DISABLED rules out the instance role): set "
                                                  "AWS_PROFILE to a profile in " + paths_.credentials + " or " + paths_.config};
        CredentialPlan p;
        p.source = Source::InstanceRole;
        p.origin = "the EC2 instance role";
        return p;
    }

    Result<CredentialPlan> environment() const {
        const char* id = env_value(getenv_, "AWS_ACCESS_KEY_ID");
        const char* secret = env_value(getenv_, "AWS_SECRET_ACCESS_KEY");
        if (!id || !secret) return Error{Errc::NotFound, "no keys in the environment"};
        CredentialPlan p;
        p.source = Source::Environment;
        p.origin = "AWS_ACCESS_KEY_ID";
        p.access_key_id = id;
        p.secret_access_key = secret;
        const char* token = env_value(getenv_, "AWS_SESSION_TOKEN");
        if (!token) token = env_value(getenv_, "AWS_SECURITY_TOKEN");
        if (token) p.session_token = token;
        return p;
    }

private:
    static CredentialPlan keys(const Section& s, Source source, const std::string& profile, const std::string& file) {
        CredentialPlan p;
        p.source = source;
        p.origin = "profile " + profile + " in " + file;
        p.access_key_id = get(&s, "aws_access_key_id");
        p.secret_access_key = get(&s, "aws_secret_access_key");
        p.session_token = get(&s, "aws_session_token");
        return p;
    }

    Result<CredentialPlan> assume_role(const std::string& profile) {
        RoleHop hop;
        hop.profile = profile;
        hop.role_arn = value(profile, "role_arn");
        hop.mfa_serial = value(profile, "mfa_serial");
        hop.role_session_name = value(profile, "role_session_name");
        hop.external_id = value(profile, "external_id");
        if (std::string d = value(profile, "duration_seconds"); !d.empty()) {
            if (!std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isdigit(c); }) || d.size() > 6)
                return Error{Errc::InvalidArgument, "AWS profile '" + profile + "': duration_seconds = " + d +
                                                      " is not a number of seconds"};
            hop.duration_seconds = std::stoi(d);
        }
        std::string source_profile = value(profile, "source_profile");
        std::string credential_source = value(profile, "credential_source");
        if (!source_profile.empty() && !credential_source.empty())
            return Error{Errc::InvalidArgument, "AWS profile '" + profile +
                                                  "' has both source_profile and credential_source; keep one"};

        Result<CredentialPlan> base = Error{Errc::Internal, ""};
        if (!source_profile.empty()) {
            if (source_profile == profile) {
                const Section* cred = in_credentials(profile);
                const Section* conf = in_config(profile);
                if (!has_keys(cred) && !has_keys(conf))
                    return Error{Errc::InvalidArgument, "AWS profile '" + profile +
                                                          "' is its own source_profile but has no aws_access_key_id"};
                base = has_keys(cred) ? keys(*cred, Source::SharedCredentialsFile, profile, paths_.credentials)
                                      : keys(*conf, Source::ConfigFile, profile, paths_.config);
            } else if (visited_.count(source_profile)) {
                return Error{Errc::InvalidArgument, "AWS profile '" + profile + "' has source_profile = " + source_profile +
                                                      ", which leads back to it; break the loop in " + paths_.config};
            } else if (!in_config(source_profile) && !in_credentials(source_profile)) {
                return Error{Errc::InvalidArgument, "AWS profile '" + profile + "' names source_profile = " + source_profile +
                                                      ", which is in neither " + paths_.config + " nor " +
                                                      paths_.credentials};
            } else {
                base = resolve(source_profile, true);
            }
        } else if (credential_source == "Environment") {
            base = environment();
            if (!base)
                return Error{Errc::InvalidArgument, "AWS profile '" + profile +
                                                      "' takes its credentials from the environment, but "
                                                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set"};
        } else if (credential_source == "Ec2InstanceMetadata") {
            base = instance_role("profile " + profile + " says credential_source = Ec2InstanceMetadata");
        } else if (!credential_source.empty()) {
            return Error{Errc::InvalidArgument, "AWS profile '" + profile + "': credential_source = " + credential_source +
                                                  " is not one sshcert knows (Environment or Ec2InstanceMetadata)"};
        } else {
            return Error{Errc::InvalidArgument, "AWS profile '" + profile +
                                                  "' has role_arn but no source_profile or credential_source to assume "
                                                  "it with; add one in " + paths_.config};
        }
        if (!base) return base;
        base->roles.push_back(std::move(hop));
        return base;
    }

    const config::Getenv& getenv_;
    const IniFile& config_;
    const IniFile& credentials_;
    const FilePaths& paths_;
    std::set<std::string> visited_;
};

}  // namespace

Result<IniFile> parse_ini(std::string_view text, const std::string& origin) {
    IniFile ini;
    std::map<std::string, std::string>* section = nullptr;
    std::string* last_value = nullptr;
    std::string nested;  // the key whose indented lines form a nested table
    int number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = std::min(text.find('\n', start), text.size());
        std::string_view raw = text.substr(start, end - start);
        start = end + 1;
        ++number;
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        std::string_view line = trim(raw);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        bool indented = std::isspace(static_cast<unsigned char>(raw[0]));

        if (!indented && line.front() == '[') {
            if (line.back() != ']') return ini_error(origin, number, "a section header must end with ']'");
            std::string name(trim(line.substr(1, line.size() - 2)));
            if (auto p = name.find_first_of(" \t"); p != std::string::npos && name.starts_with("profile"))
                name = "profile " + std::string(trim(std::string_view(name).substr(p)));
            auto [it, fresh] = ini.sections.try_emplace(name);
            if (!fresh) return ini_error(origin, number, "section [" + name + "] appears twice");
            section = &it->second;
            last_value = nullptr;
            nested.clear();
            continue;
        }
        if (!section) return ini_error(origin, number, "a setting before any [section]");
        if (indented && last_value) {
            if (!nested.empty()) {  // `  endpoint_url = https://...` under `sts =`
                std::size_t eq = line.find('=');
                if (eq == std::string_view::npos) return ini_error(origin, number, "expected key = value in a nested table");
                (*section)[nested + "." + lower(trim(line.substr(0, eq)))] = std::string(trim(line.substr(eq + 1)));
            } else {
                (*last_value += '\n') += line;
            }
            continue;
        }
        std::size_t eq = line.find_first_of("=:");
        if (eq == std::string_view::npos) return ini_error(origin, number, "expected key = value");
        std::string key = lower(trim(line.substr(0, eq)));
        if (key.empty()) return ini_error(origin, number, "a setting without a name");
        auto [it, fresh] = section->try_emplace(key, trim(line.substr(eq + 1)));
        if (!fresh) return ini_error(origin, number, "'" + key + "' is set twice in this section");
        last_value = &it->second;
        nested = it->second.empty() ? key : std::string{};
    }
    return ini;
}

FilePaths aws_file_paths(const config::Getenv& getenv) {
    const char* home = env_value(getenv, "HOME");
    std::string dir = std::string(home ? home : "") + "/.aws/";
    const char* c = env_value(getenv, "AWS_CONFIG_FILE");
    const char* k = env_value(getenv, "AWS_SHARED_CREDENTIALS_FILE");
    return {c ? c : dir + "config", k ? k : dir + "credentials"};
}

std::string profile_name(const config::Getenv& getenv, const std::string& configured) {
    if (const char* p = env_value(getenv, "AWS_PROFILE")) return p;
    if (!configured.empty()) return configured;
    if (const char* p = env_value(getenv, "AWS_DEFAULT_PROFILE")) return p;
    return "default";
}

Result<CredentialPlan> plan_credentials(const config::Getenv& getenv, const std::string& profile, const IniFile& config,
                                        const IniFile& credentials, const FilePaths& paths) {
    Planner planner(getenv, config, credentials, paths);
    Result<CredentialPlan> plan = planner.environment();
    if (!plan) {
        if (planner.in_config(profile) || planner.in_credentials(profile)) {
            plan = planner.resolve(profile, false);
        } else if (profile != "default") {
            return Error{Errc::InvalidArgument, "AWS profile '" + profile + "' is in neither " + paths.config + " nor " +
                                                  paths.credentials + "; check AWS_PROFILE and [auth] aws_profile"};
        } else {
            plan = planner.instance_role("no keys in the environment and no default profile");
        }
    }
    if (!plan) return plan;
    const char* region = env_value(getenv, "AWS_REGION");
    if (!region) region = env_value(getenv, "AWS_DEFAULT_REGION");
    plan->region = region ? region : planner.value(profile, "region");
    return plan;
}

}  // namespace sshcert::client::aws
