// SPDX-License-Identifier: Apache-2.0
// login-continue: the person's answer to a login's challenge (a passcode, or
// "" to wait for a push to be approved); the reply is login's.
#include "control_service.hpp"

namespace sshcert::ops {

void login_continue(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    std::string id = f.string("id");
    std::string answer = f.optional_string("answer").value_or("");
    SecretString secret = SecretString::take(answer);
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    auto vault = choose_vault(ctx, request);  // the login's: the client sends the same `vault` again
    if (!vault) return reply(control::make_error_reply(vault.error()));
    VaultSession& session = *vault->session;
    session.tokens().resume(id, std::move(secret), login_reply(session, std::move(reply)));
}

}  // namespace sshcert::ops
