// SPDX-License-Identifier: Apache-2.0
// login: credentials in, a Vault token kept by the session's TokenKeeper.
#include "control_service.hpp"
#include "log.hpp"

namespace sshcert::ops {

void login(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    LoginRequest req;
    req.method = f.string("method");
    req.mount = f.optional_string("mount").value_or("");
    req.username = f.optional_string("username").value_or("");
    std::string secret = f.string("secret");
    req.secret = SecretString::take(secret);
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    VaultSession& session = ctx.session();
    session.tokens().login(std::move(req), [&session, reply = std::move(reply)](Result<control::TokenSummary> r) {
        if (!r) {
            log::warn("login failed: ", r.error().message);
            return reply(control::make_error_reply(r.error()));
        }
        session.measure_clock_skew();
        reply(control::make_reply(control::to_json(*r)));
    });
}

}  // namespace sshcert::ops
