// SPDX-License-Identifier: Apache-2.0
// userpass: POST auth/<mount>/login/<username> with the password.
#include "methods.hpp"
#include "vault_decode.hpp"
#include "vault_path.hpp"

namespace sshcert {

namespace {
class UserpassMethod final : public AuthMethod {
public:
    std::string_view name() const override { return "userpass"; }
    void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, Done done) const override {
        auto fail = [&](Error e) { asio::post(io, [done, e = std::move(e)] { done(e); }); };
        if (req.username.empty()) return fail({Errc::InvalidArgument, "userpass login needs a user name (--username)"});
        std::string mount_name = req.mount.empty() ? "userpass" : req.mount;
        auto path = vault_path({lit("auth"), mount(mount_name, "auth mount"), lit("login"), sshcert::name(req.username, "user name")});
        if (!path) return fail(path.error());
        VaultCall call{.method = "POST", .path = *path, .body = Json{{"password", std::string(req.secret.reveal())}}};
        vault.call(std::move(call), [done = std::move(done), user = req.username, mount_name](Result<VaultReply> r) {
            if (!r) {
                Error e = std::move(r).error();
                if (e.code == Errc::NotFound || e.detail.find("no handler for route") != std::string::npos)
                    return done(Error{Errc::NotFound,
                                      "Vault has no userpass auth method at auth/" + mount_name + "; check [auth] mount or --mount",
                                      e.detail});
                if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
                    e.message = "Vault rejected the login of '" + user + "' at auth/" + mount_name + ": " +
                                (e.detail.empty() ? e.message : e.detail);
                return done(e);
            }
            auto token = vault::decode_login(r->json());
            if (!token) return done(token.error());
            done(LoginGrant{std::move(*token), vault::summary_from_login(r->json())});
        });
    }
};
}  // namespace

const AuthMethod& userpass_method() {
    static const UserpassMethod m;
    return m;
}

}  // namespace sshcert
