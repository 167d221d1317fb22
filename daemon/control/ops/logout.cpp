// SPDX-License-Identifier: Apache-2.0
// logout: every key wiped at once, then the token revoked at Vault (one the
// user brought only with "revoke").
#include "control_service.hpp"

namespace sshcert::ops {

void logout(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    bool revoke_imported = f.optional_boolean("revoke").value_or(false);
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    ctx.cache.clear();
    ctx.session().tokens().logout(
        [reply = std::move(reply)](TokenKeeper::LogoutOutcome out) {
            control::Json result{{"revoked", out.revoked}, {"imported", out.imported}};
            if (!out.warning.empty()) result["warning"] = out.warning;
            reply(control::make_reply(std::move(result)));
        },
        revoke_imported);
}

}  // namespace sshcert::ops
