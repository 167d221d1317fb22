// SPDX-License-Identifier: Apache-2.0
// status: who we are in Vault, the clock skew, and every certificate held.
#include "control_service.hpp"

namespace sshcert::ops {

void status(ControlContext& ctx, const control::Json&, ControlReply reply) {
    VaultSession& session = ctx.session();
    control::Json certs = control::Json::array();
    for (const auto& held : ctx.cache.valid()) {
        control::Json c = describe(*held, ctx.listeners);
        c["signatures"] = held->signatures;
        c["connections"] = held->connections;
        certs.push_back(std::move(c));
    }
    auto token = session.tokens().summary();
    control::Json result{{"vault_addr", session.vault()->address()},
                         {"logged_in", token.has_value()},
                         {"certificates", std::move(certs)},
                         {"agent_socket", ctx.listeners.agent_path()},
                         {"config", ctx.config().source},
                         {"signatures", ctx.agent.signatures()},
                         {"agent_connections", ctx.listeners.agent_connections()},
                         {"upstream_agent", ctx.agent.upstream() ? ctx.agent.upstream()->path() : ""}};
    if (auto skew = session.clock_skew()) result["clock_skew_seconds"] = *skew;
    if (token) result["token"] = control::to_json(*token);
    result["vaults"] = vaults_status(ctx);
    reply(control::make_reply(std::move(result)));
}

}  // namespace sshcert::ops
