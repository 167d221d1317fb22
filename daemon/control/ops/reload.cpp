// SPDX-License-Identifier: Apache-2.0
// reload: re-read the config (as SIGHUP does); a bad one is reported and the old one kept.
#include "control_service.hpp"

namespace sshcert::ops {

void reload(ControlContext& ctx, const control::Json&, ControlReply reply) {
    auto st = ctx.reload();
    reply(st ? control::make_reply(control::Json::object()) : control::make_error_reply(st.error()));
}

}  // namespace sshcert::ops
