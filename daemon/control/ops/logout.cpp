// SPDX-License-Identifier: Apache-2.0
// logout: every key wiped at once, then the token revoked at Vault.
#include "control_service.hpp"

namespace sshcert::ops {

void logout(ControlContext& ctx, const control::Json&, ControlReply reply) {
    ctx.cache.clear();
    ctx.session().tokens().logout([reply = std::move(reply)](TokenKeeper::LogoutOutcome out) {
        control::Json result{{"revoked", out.revoked}};
        if (!out.warning.empty()) result["warning"] = out.warning;
        reply(control::make_reply(std::move(result)));
    });
}

}  // namespace sshcert::ops
