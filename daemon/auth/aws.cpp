// SPDX-License-Identifier: Apache-2.0
// aws (IAM): Vault's aws method learns who we are from a signed
// sts:GetCallerIdentity that it sends on to AWS itself, so Vault never sees the
// secret key. The credentials come from the login command (its environment,
// ~/.aws files, credential_process); a profile's role_arn is assumed here first,
// with the MFA code asked through the login conversation when the profile names
// an mfa_serial. The temporary credentials stay in memory, and the keeper logs
// in to Vault again with them by itself until they expire: one MFA code a day.
#include <ctime>

#include "curl_transport.hpp"
#include "log.hpp"
#include "login_errors.hpp"
#include "login_mfa.hpp"
#include "methods.hpp"
#include "sts.hpp"
#include "vault_path.hpp"

namespace sshcert {

namespace {

using aws::AwsLogin;

/// Credentials this close to their end are not used for a login: Vault's own call to STS comes after ours.
constexpr std::time_t kExpiryMargin = 60;

std::string utc_text(std::time_t t) {
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

/// A role waiting for its MFA code: the login as far as it got.
struct AwsMfaState final : ChallengeState {
    LoginRequest req;
};

/// Vault's pathLoginUpdateIam errors (builtin/credential/aws/path_login.go), in the user's terms.
Error explain(Error e, const std::string& mount_name, const std::string& who) {
    if (auto missing = missing_mount(e, "aws", mount_name)) return *missing;
    const std::string text = said(e);
    auto says = [&](const char* part) { return text.find(part) != std::string::npos; };
    if (says("SignatureDoesNotMatch") || says("Signature expired") || says("RequestExpired"))
        e.message = "AWS refused the request Vault passed on for " + who + " (" + text +
                    "); if this machine's clock is off, fix it (timedatectl), else check the credentials";
    else if (says("X-Vault-AWS-IAM-Server-ID"))
        e.message = "Vault's aws method at auth/" + mount_name + " wants another X-Vault-AWS-IAM-Server-ID (" + text +
                    "); set [auth] header_value to the value its config/client names";
    else if (says("does not belong to the role") || says("entry for role"))
        e.message = "Vault's aws role does not take " + who + ": " + text + "; check [auth] role or ask the Vault admin";
    else if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
        e.message = "Vault rejected the aws login for " + who + " at auth/" + mount_name + ": " + text;
    return e;
}

/// One login from its AwsLogin: the roles still to assume, then Vault. Kept alive by its callbacks.
class AwsFlow : public std::enable_shared_from_this<AwsFlow> {
public:
    AwsFlow(asio::io_context& io, VaultClient& vault, LoginRequest req, AuthMethod::StepDone done)
        : io_(io), vault_(vault), req_(std::move(req)), done_(std::move(done)) {}

    /// Goes on from where the login is; `code` answers the first role's MFA.
    void next(SecretString code = {}, std::string retry_error = {}) {
        AwsLogin& a = *req_.aws;
        std::time_t now = std::time(nullptr);
        if (a.instance_role && a.keys.access_key_id.empty()) return fetch_instance_role();
        if (a.expires != 0 && now + kExpiryMargin >= a.expires)
            return finish(Error{Errc::NotLoggedIn, "the AWS credentials from " + a.origin + " expired at " + utc_text(a.expires) +
                                                       ": a new MFA code is needed; run sshcert login --method aws"});
        if (a.roles.empty()) return log_in_to_vault(now);
        const aws::RoleStep& role = a.roles.front();
        if (!role.mfa_serial.empty() && code.empty()) return ask_code(std::move(retry_error));
        assume(role, std::move(code), now);
    }

private:
    /// STS and IMDS are AWS's, not Vault's: the system's trust, never the Vault's ca_cert or client certificate.
    CurlTransport& aws_transport() {
        if (!aws_) aws_ = std::make_shared<CurlTransport>(io_, config::VaultSettings{});
        return *aws_;
    }

    void finish(Result<Step> step) {
        asio::post(io_, [done = std::move(done_), step = std::move(step)]() mutable { done(std::move(step)); });
    }

    void ask_code(std::string retry_error) {
        const aws::RoleStep& role = req_.aws->roles.front();
        auto state = std::make_shared<AwsMfaState>();
        state->req = req_;
        finish(Step{Challenge{.kind = control::challenge_kind::kPasscode,
                         .factor = "aws",
                         .factor_name = role.mfa_serial,
                         .prompt = "AWS MFA code for " + role.mfa_serial + " (to assume " + role.role_arn + "): ",
                         .expires_at = DaemonClock::now() + req_.challenge_lifetime,
                         .retry_error = std::move(retry_error),
                         .state = std::move(state)}});
    }

    void assume(const aws::RoleStep& role, SecretString code, std::time_t now) {
        AwsLogin& a = *req_.aws;
        std::string url = aws::sts_url(a.region, a.sts_endpoint);
        aws::AssumeRoleParams p{.role_arn = role.role_arn,
                                .role_session_name = role.session_name.empty() ? "sshcert-" + std::to_string(now) : role.session_name,
                                .external_id = role.external_id,
                                .duration_seconds = role.duration_seconds,
                                .mfa_serial = role.mfa_serial,
                                .mfa_code = std::string(code.reveal())};
        aws::Request signed_req = aws::assume_role_request(p, a.keys, a.region, url, now);
        wipe(p.mfa_code);
        HttpRequest http{.method = "POST", .url = url.substr(0, url.size() - 1) + signed_req.path,
                         .body = SecretString::take(signed_req.body)};
        http.headers = std::move(signed_req.headers);
        bool had_code = !code.empty();
        aws_transport().send(std::move(http), [self = shared_from_this(), url, had_code](Result<HttpReply> r) {
            self->on_assumed(std::move(r), url, had_code);
        });
    }

    void on_assumed(Result<HttpReply> r, const std::string& url, bool had_code) {
        AwsLogin& a = *req_.aws;
        const aws::RoleStep role = a.roles.front();
        if (!r)
            return finish(Error{Errc::VaultUnreachable, "cannot reach AWS STS at " + url + " to assume " + role.role_arn +
                                                            "; check AWS_ENDPOINT_URL_STS or [auth] sts_endpoint, and the network",
                                r.error().message});
        auto creds = aws::parse_credentials_response(static_cast<int>(r->status), std::string(r->body.reveal()));
        if (!creds) {
            Error e = std::move(creds).error();
            if (had_code && e.detail.find("MultiFactorAuthentication failed") != std::string::npos)
                return ask_code("AWS did not accept the MFA code for " + role.mfa_serial + " (codes change every 30 s)");
            if (e.code == Errc::VaultRefused) e.message = "AWS STS would not let " + a.origin + " assume " + role.role_arn + ": " + e.detail;
            return finish(e);
        }
        log::info("assumed ", role.role_arn, " with ", a.origin, "; its credentials last until ", utc_text(creds->expiration));
        a.keys = std::move(creds->keys);
        a.expires = creds->expiration;
        a.origin = "role " + role.role_arn + (role.mfa_serial.empty() ? "" : " (MFA " + role.mfa_serial + ")");
        a.roles.erase(a.roles.begin());
        a.instance_role = false;  // from here on, the role's credentials
        next();
    }

    // --- the EC2 instance role, through IMDSv2 (docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html)

    void imds(std::string method, const std::string& path, std::vector<std::pair<std::string, std::string>> headers,
              std::function<void(std::string)> then) {
        const std::string& base = req_.aws->imds_endpoint;
        std::string url = (base.ends_with('/') ? base.substr(0, base.size() - 1) : base) + path;
        HttpRequest http{.method = std::move(method), .url = url, .timeout = std::chrono::seconds(5)};
        http.headers = std::move(headers);
        aws_transport().send(std::move(http), [self = shared_from_this(), url, then = std::move(then)](Result<HttpReply> r) {
            if (!r || r->status != 200)
                return self->finish(Error{Errc::VaultUnreachable,
                                          "the EC2 instance metadata service at " + url + " gave no instance role credentials (" +
                                              (r ? "HTTP " + std::to_string(r->status) : r.error().message) +
                                              "); on EC2, attach an instance role (and allow IMDSv2 with a hop limit of 2 "
                                              "in containers); elsewhere set AWS credentials or AWS_PROFILE"});
            then(std::string(r->body.reveal()));
        });
    }

    void fetch_instance_role() {
        auto self = shared_from_this();
        imds("PUT", "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}}, [self](std::string token) {
            std::vector<std::pair<std::string, std::string>> auth{{"X-aws-ec2-metadata-token", token}};
            wipe(token);
            self->imds("GET", "/latest/meta-data/iam/security-credentials/", auth, [self, auth](std::string roles) {
                std::string role = roles.substr(0, roles.find_first_of("\r\n"));
                self->imds("GET", "/latest/meta-data/iam/security-credentials/" + role, auth, [self, role](std::string body) {
                    self->take_instance_credentials(role, body);
                });
            });
        });
    }

    void take_instance_credentials(const std::string& role, std::string body) {
        auto json = nlohmann::json::parse(body, nullptr, false);
        wipe(body);
        auto text = [&](const char* key) {
            auto it = json.is_object() ? json.find(key) : json.end();
            return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        AwsLogin& a = *req_.aws;
        a.keys.access_key_id = text("AccessKeyId");
        std::string secret = text("SecretAccessKey"), token = text("Token");
        a.keys.secret_access_key = SecretString::take(secret);
        a.keys.session_token = SecretString::take(token);
        a.expires = aws::parse_iso8601(text("Expiration"));
        json.clear();
        if (a.keys.access_key_id.empty() || a.keys.secret_access_key.empty() || a.expires == 0)
            return finish(Error{Errc::VaultBadResponse, "the EC2 instance metadata service sent no credentials for role " + role});
        a.origin = "the EC2 instance role " + role;
        next();
    }

    void log_in_to_vault(std::time_t now) {
        const AwsLogin& a = *req_.aws;
        std::string mount_name = req_.mount.empty() ? "aws" : req_.mount;
        auto path = vault_path({lit("auth"), mount(mount_name, "auth mount"), lit("login")});
        if (!path) return finish(path.error());
        VaultCall call{.method = "POST", .path = *path,
                       .body = aws::vault_login_data(a.keys, a.region, aws::sts_url(a.region, a.sts_endpoint), a.header_value,
                                                     req_.role, now)};
        std::string who = a.origin + " at auth/" + mount_name;
        vault_.call(std::move(call), [self = shared_from_this(), who, mount_name](Result<VaultReply> r) {
            if (!r) return self->finish(explain(std::move(r).error(), mount_name, who));
            auto step = login_step(r->json(), who, self->req_.challenge_lifetime);
            // The credentials, temporary or not, stay at hand for the keeper's next login.
            if (step)
                if (auto* grant = std::get_if<LoginGrant>(&*step)) {
                    grant->again = self->req_;
                    if (grant->again->aws->instance_role) grant->again->aws->keys = {};  // fetched afresh each time
                }
            self->finish(std::move(step));
        });
    }

    asio::io_context& io_;
    VaultClient& vault_;
    LoginRequest req_;
    AuthMethod::StepDone done_;
    std::shared_ptr<CurlTransport> aws_;
};

class AwsMethod final : public AuthMethod {
public:
    std::string_view name() const override { return "aws"; }

    void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, StepDone done) const override {
        if (!req.aws)
            return asio::post(io, [done] {
                done(Error{Errc::InvalidArgument, "the aws login needs AWS credentials; run sshcert login --method aws"});
            });
        std::make_shared<AwsFlow>(io, vault, req, std::move(done))->next();
    }

    void resume(asio::io_context& io, VaultClient& vault, Challenge challenge, SecretString answer,
                StepDone done) const override {
        auto s = std::dynamic_pointer_cast<AwsMfaState>(challenge.state);
        if (!s) return AuthMethod::resume(io, vault, std::move(challenge), std::move(answer), std::move(done));
        std::make_shared<AwsFlow>(io, vault, s->req, std::move(done))->next(std::move(answer));
    }
};

}  // namespace

const AuthMethod& aws_method() {
    static const AwsMethod m;
    return m;
}

}  // namespace sshcert
