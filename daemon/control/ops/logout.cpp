// SPDX-License-Identifier: Apache-2.0
// logout: keys wiped at once, then the token revoked at Vault (one the user
// brought only with "revoke"). With `vault`: that Vault's login and its
// profiles' certificates. Without: every Vault's, as "log me out" means to a
// person (a `vault_addr` naming none of them is still refused).
#include <memory>

#include "cert_source.hpp"
#include "control_service.hpp"

namespace sshcert::ops {

namespace {

/// Logs out of each Vault in turn and replies once with all outcomes.
struct LogoutRun {
    ControlContext& ctx;
    std::vector<std::string> names;
    bool revoke_imported = false;
    ControlReply reply;
    control::Json vaults = control::Json::array();
    control::Json total{{"revoked", false}, {"imported", false}};

    static void next(std::shared_ptr<LogoutRun> run) {
        if (run->vaults.size() == run->names.size()) {
            run->total["vaults"] = std::move(run->vaults);
            return run->reply(control::make_reply(std::move(run->total)));
        }
        const std::string& name = run->names[run->vaults.size()];
        VaultSession* session = run->ctx.vault_session(name);
        if (!session) {
            run->vaults.push_back({{"name", name}, {"logged_in", false}, {"revoked", false}, {"imported", false}});
            return next(std::move(run));
        }
        session->tokens().logout(
            [run, name](TokenKeeper::LogoutOutcome out) {
                control::Json one{{"name", name}, {"logged_in", out.had_token}, {"revoked", out.revoked}, {"imported", out.imported}};
                run->total["revoked"] = run->total["revoked"].get<bool>() || out.revoked;
                run->total["imported"] = run->total["imported"].get<bool>() || out.imported;
                if (!out.warning.empty()) {
                    one["warning"] = out.warning;
                    std::string all = run->total.value("warning", "");
                    run->total["warning"] = all.empty() ? out.warning : all + "; " + out.warning;
                }
                run->vaults.push_back(std::move(one));
                next(run);
            },
            run->revoke_imported);
    }
};

}  // namespace

void logout(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    bool revoke_imported = f.optional_boolean("revoke").value_or(false);
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    auto run = std::make_shared<LogoutRun>(LogoutRun{.ctx = ctx, .revoke_imported = revoke_imported, .reply = std::move(reply)});
    auto vault = choose_vault(ctx, request);
    if (!vault) return run->reply(control::make_error_reply(vault.error()));
    if (request.contains("vault")) {
        ctx.cache.clear_if(certs_of_vault(ctx.config(), vault->name));
        run->names = {vault->name};
    } else {
        ctx.cache.clear();
        run->names = ctx.config().vault_names();
    }
    LogoutRun::next(std::move(run));
}

}  // namespace sshcert::ops
