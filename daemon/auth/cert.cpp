// SPDX-License-Identifier: Apache-2.0
// cert: a login with the TLS client certificate sshcertd presents on its
// connection to this Vault ([vault] client_cert / client_key, or [auth]'s, or
// VAULT_CLIENT_CERT / VAULT_CLIENT_KEY in sshcertd's environment). The login
// itself carries only the certs/ entry to match ([auth] role, --role); Vault
// reads the certificate off the TLS handshake, at login and at every renewal.
// Nobody is asked anything, so the keeper may log in again by itself.
#include "login_errors.hpp"
#include "login_mfa.hpp"
#include "methods.hpp"
#include "vault_path.hpp"

namespace sshcert {

namespace {

/// Vault's verifyCredentials and pathLogin errors (builtin/credential/cert/path_login.go), in the user's terms.
Error explain(Error e, const std::string& mount_name, const std::string& certificate) {
    if (auto missing = missing_mount(e, "cert", mount_name)) return *missing;
    const std::string text = said(e);
    auto says = [&](const char* part) { return text.find(part) != std::string::npos; };
    if (says("tls connection required"))
        e.message = "Vault's cert method needs a TLS connection, but this Vault is reached over plain http: use its "
                    "https:// address in [vault] address or VAULT_ADDR";
    else if (says("client certificate must be supplied") || says("no client certificate found"))
        e.message = "Vault received no client certificate although sshcertd presents " + certificate +
                    ": a proxy in front of Vault may end TLS; connect to Vault itself";
    else if (says("invalid certificate or no client certificate supplied"))
        e.message = "Vault does not trust the client certificate " + certificate + " at auth/" + mount_name +
                    ": no certs/ entry is it or its CA (or it has expired); ask the Vault admin to add one, or set "
                    "[vault] client_cert to a certificate Vault trusts";
    else if (says("no chain matching all constraints"))
        e.message = "the client certificate " + certificate + " is trusted at auth/" + mount_name +
                    " but meets no certs/ entry's constraints (allowed names, OUs, extensions); check [auth] role and "
                    "the entry's allowed_common_names";
    else if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
        e.message = "Vault rejected the cert login with " + certificate + " at auth/" + mount_name + ": " + text;
    return e;
}

class CertMethod final : public AuthMethod {
public:
    std::string_view name() const override { return "cert"; }

    void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, StepDone done) const override {
        std::string mount_name = req.mount.empty() ? "cert" : req.mount;
        const std::string& certificate = vault.settings().client_cert;
        auto fail = [&](Error e) { asio::post(io, [done, e = std::move(e)] { done(e); }); };
        if (certificate.empty())
            return fail({Errc::InvalidArgument,
                         "the cert login needs a TLS client certificate for Vault at " + vault.address() +
                             ": set [vault] client_cert and client_key (or [auth] client_cert and client_key) and run "
                             "sshcert reload"});
        auto path = vault_path({lit("auth"), mount(mount_name, "auth mount"), lit("login")});
        if (!path) return fail(path.error());
        Json body = Json::object();
        if (!req.role.empty()) body["name"] = req.role;  // else Vault tries every certs/ entry
        VaultCall call{.method = "POST", .path = *path, .body = std::move(body)};
        std::string who = "certificate " + certificate + " at auth/" + mount_name;
        vault.call(std::move(call), [done = std::move(done), req, who, mount_name, certificate](Result<VaultReply> r) {
            if (!r) return done(explain(std::move(r).error(), mount_name, certificate));
            auto step = login_step(r->json(), who, req.challenge_lifetime);
            if (step)
                if (auto* grant = std::get_if<LoginGrant>(&*step)) grant->again = req;  // the certificate stays at hand
            done(std::move(step));
        });
    }
};

}  // namespace

const AuthMethod& cert_method() {
    static const CertMethod m;
    return m;
}

}  // namespace sshcert
