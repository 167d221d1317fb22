// SPDX-License-Identifier: Apache-2.0
// status: who we are in Vault, the clock skew, and every certificate held.
#include <algorithm>
#include <cstdint>

#include "control_service.hpp"

namespace sshcert::ops {

void status(ControlContext& ctx, const control::Json&, ControlReply reply) {
    VaultSession& session = ctx.session();
    control::Json certs = control::Json::array();
    std::uint64_t last_valid = 0;
    for (const auto& held : ctx.cache.valid()) {
        last_valid = std::max(last_valid, held->cert.valid_before);
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
    else if (!session.tokens().login_needed().empty()) result["login_needed"] = session.tokens().login_needed();
    result["vaults"] = vaults_status(ctx);
    if (const auto& outage = session.vault()->outage()) {
        // Held certificates keep serving meanwhile; renewal resumes by itself once Vault answers.
        control::Json o{{"since", outage->since}, {"error", outage->last.message}, {"code", to_string(outage->last.code)}};
        if (last_valid && last_valid != UINT64_MAX) o["certificates_valid_until"] = last_valid;  // MAX: forever
        result["vault_unreachable"] = std::move(o);
    }
    reply(control::make_reply(std::move(result)));
}

}  // namespace sshcert::ops
