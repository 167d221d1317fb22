// SPDX-License-Identifier: Apache-2.0
// login: credentials in; a Vault token kept by the session's TokenKeeper, or a
// challenge (login MFA, an OIDC browser sign-in) that login-continue answers.
#include <algorithm>
#include <cstdlib>

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
    VaultSession& session = *vault->session;
    session.tokens().login(std::move(req), login_reply(session, std::move(reply)));
}

}  // namespace sshcert::ops
