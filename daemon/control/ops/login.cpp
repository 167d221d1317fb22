// SPDX-License-Identifier: Apache-2.0
// login: credentials in; a Vault token kept by the session's TokenKeeper, or a
// challenge (login MFA, an OIDC browser sign-in) that login-continue answers.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <tuple>

#include "control_service.hpp"
#include "log.hpp"
#include "paths.hpp"

namespace sshcert::ops {

TokenKeeper::LoginDone login_reply(VaultSession& session, ControlReply reply) {
    return [&session, reply = std::move(reply)](Result<TokenKeeper::LoginStep> r) {
        if (!r) {
            log::warn("login failed: ", r.error().message);
            return reply(control::make_error_reply(r.error()));
        }
        if (auto* challenge = std::get_if<control::LoginChallenge>(&*r))
            return reply(control::make_reply({{"challenge", control::to_json(*challenge)}}));
        session.measure_clock_skew();
        reply(control::make_reply(control::to_json(std::get<control::TokenSummary>(*r))));
    };
}

namespace {
/// A cert login's VAULT_CLIENT_CERT / VAULT_CLIENT_KEY (from the login command's environment) must be what
/// sshcertd presents: Vault asks for the certificate again at every renewal, so it cannot be this login's alone.
std::optional<Error> check_client_certificate(control::FieldReader& f, const config::VaultSettings& vault,
                                              const std::string& config_file) {
    for (auto [field, var, presented] : {std::tuple{"client_cert", "VAULT_CLIENT_CERT", &vault.client_cert},
                                         std::tuple{"client_key", "VAULT_CLIENT_KEY", &vault.client_key}}) {
        auto given = f.optional_string(field);
        if (!given || *given == *presented) continue;
        return Error{Errc::InvalidArgument,
                     std::string(var) + " is " + *given + ", but sshcertd presents " +
                         (presented->empty() ? std::string("no ") + (field == std::string_view("client_cert") ? "certificate" : "separate key")
                                             : *presented) +
                         " to Vault at " + vault.address + ", which checks it again at every token renewal: set [vault] " +
                         field + " = \"" + *given + "\" in " + (config_file.empty() ? "config.toml" : config_file) +
                         " and run sshcert reload"};
    }
    return std::nullopt;
}
/// An aws login's credentials and roles, as `sshcert login --method aws` found them: "aws" holds what is
/// not secret, "secret" the secret access key and "aws_session_token" the session token.
Result<aws::AwsLogin> read_aws_login(const control::Json& request, SecretString secret, const config::AuthSettings& auth) {
    auto it = request.find("aws");
    if (it == request.end() || !it->is_object())
        return Error{Errc::InvalidMessage, "an aws login needs the AWS credentials sshcert login finds; update sshcert"};
    control::FieldReader f(*it);
    aws::AwsLogin a;
    a.keys.access_key_id = f.optional_string("access_key_id").value_or("");
    a.keys.secret_access_key = std::move(secret);
    if (auto t = request.find("aws_session_token"); t != request.end() && t->is_string()) {
        std::string token = t->get<std::string>();
        a.keys.session_token = SecretString::take(token);
    }
    if (auto e = it->find("expires"); e != it->end() && e->is_number_integer()) a.expires = e->get<std::int64_t>();
    a.origin = f.optional_string("origin").value_or("AWS credentials");
    a.region = f.optional_string("region").value_or(auth.region);
    a.sts_endpoint = f.optional_string("sts_endpoint").value_or(auth.sts_endpoint);
    a.header_value = auth.header_value;
    a.instance_role = it->value("instance_role", false);
    a.imds_endpoint = f.optional_string("imds_endpoint").value_or(a.imds_endpoint);
    if (auto roles = it->find("roles"); roles != it->end()) {
        if (!roles->is_array()) return Error{Errc::InvalidMessage, "aws.roles must be a list"};
        for (const auto& r : *roles) {
            if (!r.is_object()) return Error{Errc::InvalidMessage, "aws.roles holds objects"};
            control::FieldReader rf(r);
            aws::RoleStep step{.role_arn = rf.string("role_arn"),
                               .mfa_serial = rf.optional_string("mfa_serial").value_or(""),
                               .session_name = rf.optional_string("session_name").value_or(""),
                               .external_id = rf.optional_string("external_id").value_or("")};
            if (auto d = r.find("duration_seconds"); d != r.end() && d->is_number_integer()) step.duration_seconds = d->get<int>();
            if (rf.error()) return *rf.error();
            a.roles.push_back(std::move(step));
        }
    }
    if (f.error()) return *f.error();
    if (!a.instance_role && (a.keys.access_key_id.empty() || a.keys.secret_access_key.empty()))
        return Error{Errc::InvalidArgument, "the aws login got no AWS access key; check the credentials sshcert login names"};
    return a;
}
}  // namespace

void login(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    LoginRequest req;
    req.method = f.string("method");
    req.mount = f.optional_string("mount").value_or("");
    req.username = f.optional_string("username").value_or("");
    req.role = f.optional_string("role").value_or("");
    std::string secret = f.optional_string("secret").value_or("");  // oidc has none
    req.secret = SecretString::take(secret);
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    auto vault = choose_vault(ctx, request);
    if (!vault) return reply(control::make_error_reply(vault.error()));
    const config::AuthSettings& auth = *ctx.config().find_auth(vault->name);
    req.challenge_lifetime = std::min(auth.mfa_timeout, kMaxChallengeLifetime);
    req.redirect_uri = auth.oidc_redirect_uri();  // where the client listens, by the same config
    auto getenv = [](const char* n) { return std::getenv(n); };
    req.role_id_file = config::expand_home(auth.role_id_file, getenv);  // approle: the daemon reads them
    req.secret_id_file = config::expand_home(auth.secret_id_file, getenv);
    req.secret_id_wrapped = auth.secret_id_wrapped;
    if (req.method == "aws") {
        if (req.role.empty()) req.role = auth.role;
        auto a = read_aws_login(request, std::move(req.secret), auth);
        if (!a) return reply(control::make_error_reply(a.error()));
        req.aws = std::move(*a);
    }
    VaultSession& session = *vault->session;
    if (auto mismatch = check_client_certificate(f, session.vault()->settings(), ctx.config().source))
        return reply(control::make_error_reply(*mismatch));
    session.tokens().login(std::move(req), login_reply(session, std::move(reply)));
}

}  // namespace sshcert::ops
