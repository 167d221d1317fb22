// SPDX-License-Identifier: Apache-2.0
// vault-health: one Vault's sys/health through the daemon's own client (its
// address, TLS settings and namespace), for `sshcert doctor`: initialized,
// sealed, standby, and its clock against ours.
#include <ctime>

#include "control_service.hpp"
#include "vault_decode.hpp"

namespace sshcert::ops {

namespace {
/// A doctor waits this long for an answer, not a whole retry schedule.
constexpr std::chrono::seconds kHealthDeadline{10};
std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }
/// A flag of Vault's answer; one that is missing or not a boolean (a hostile or broken Vault) is false.
bool flag(const Json& j, const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}
}  // namespace

void vault_health(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    auto chosen = choose_vault(ctx, request);
    if (!chosen) return reply(control::make_error_reply(chosen.error()));
    // Every status code 200: a sealed, standby or uninitialised Vault still answers with its state.
    VaultCall call{.path = "sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200&drsecondarycode=200",
                   .deadline = kHealthDeadline};
    std::shared_ptr<VaultClient> vault = chosen->session->vault();  // outlives a reload that retires the session
    auto sent = unix_now();
    vault->call(std::move(call), [vault, name = chosen->name, sent, reply = std::move(reply)](Result<VaultReply> r) {
        if (!r) return reply(control::make_error_reply(r.error()));
        const Json& h = r->json();
        control::Json out{{"vault", name},
                          {"vault_addr", vault->address()},
                          {"initialized", flag(h, "initialized")},
                          {"sealed", flag(h, "sealed")},
                          {"standby", flag(h, "standby")}};
        if (auto v = h.find("version"); v != h.end() && v->is_string()) out["version"] = *v;
        if (auto t = vault::decode_server_time(h)) {
            out["server_time_utc"] = *t;
            out["clock_skew_seconds"] = *t - (sent + unix_now()) / 2;
        }
        reply(control::make_reply(std::move(out)));
    });
}

}  // namespace sshcert::ops
