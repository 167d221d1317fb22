// SPDX-License-Identifier: Apache-2.0
#include "password_login.hpp"

#include "login_errors.hpp"
#include "login_mfa.hpp"
#include "vault_path.hpp"

namespace sshcert {

void PasswordMethod::start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, StepDone done) const {
    auto fail = [&](Error e) { asio::post(io, [done, e = std::move(e)] { done(e); }); };
    std::string method(name_);
    if (req.username.empty()) return fail({Errc::InvalidArgument, method + " login needs a user name (--username)"});
    std::string mount_name = req.mount.empty() ? method : req.mount;
    auto path = vault_path({lit("auth"), mount(mount_name, "auth mount"), lit("login"), sshcert::name(req.username, "user name")});
    if (!path) return fail(path.error());
    VaultCall call{.method = "POST", .path = *path, .body = Json{{"password", std::string(req.secret.reveal())}}};
    std::string who = "'" + req.username + "' at auth/" + mount_name;
    vault.call(std::move(call), [done = std::move(done), method, mount_name, who, lifetime = req.challenge_lifetime](Result<VaultReply> r) {
        if (!r) {
            Error e = std::move(r).error();
            if (auto missing = missing_mount(e, method, mount_name)) return done(*missing);
            if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
                e.message = "Vault rejected the login of " + who + ": " + (e.detail.empty() ? e.message : e.detail);
            // A bare denial of a login path: Vault found no method there (so it wanted a token), or locked the user out.
            if (e.code == Errc::VaultDenied && e.detail == "permission denied")
                e.message += " (either no " + method + " auth method is enabled at auth/" + mount_name +
                             ": check [auth] mount or --mount; or the user is locked out after too many wrong "
                             "passwords: wait 15 minutes)";
            return done(e);
        }
        done(login_step(r->json(), who, lifetime));
    });
}

}  // namespace sshcert
