// SPDX-License-Identifier: Apache-2.0
// oidc: sign-in at the team's identity provider in a browser, as `vault login
// -method=oidc` does (vault-plugin-auth-jwt cli.go, path_oidc.go). start()
// asks POST auth/<mount>/oidc/auth_url {role, redirect_uri, client_nonce} for
// the provider's URL and hands it to the client as an oidc_browser challenge;
// the browser ends on redirect_uri (the client's loopback listener) with state
// and code, and resume() takes that callback URL, checks its state is this
// login's, and sends GET auth/<mount>/oidc/callback?state&code&client_nonce,
// whose reply is the login's (or its MFA's). The daemon never waits on the
// browser, only on the challenge's deadline.
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <random>

#include "login_errors.hpp"
#include "login_mfa.hpp"
#include "methods.hpp"
#include "oidc_callback_check.hpp"
#include "url_query.hpp"
#include "vault_path.hpp"

namespace sshcert {

namespace {

using control::challenge_kind::kOidcBrowser;

/// What the callback needs: state and client_nonce complete the login with a code, so they are kept wiped.
struct OidcState final : ChallengeState {
    SecretString state;         ///< from the auth_url Vault gave; the callback must carry the same
    SecretString client_nonce;  ///< ours, sent to auth_url; Vault wants it again with the code
    std::string mount;
    std::string who;            ///< "role 'dev' at auth/oidc", for messages
    std::chrono::seconds mfa_lifetime = kMaxChallengeLifetime;  ///< for a login MFA after the callback
};

/// 20 random base62 characters, as the Vault CLI's client_nonce.
SecretString new_client_nonce() {
    static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char bytes[20];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        std::random_device rd;
        for (auto& b : bytes) b = static_cast<unsigned char>(rd());
    }
    std::string out;
    out.reserve(sizeof bytes);
    for (unsigned char b : bytes) out += kAlphabet[b % 62];  // the bias of 256 % 62 is no concern for a nonce
    OPENSSL_cleanse(bytes, sizeof bytes);
    return SecretString::take(out);
}

void post(asio::io_context& io, AuthMethod::StepDone done, Result<Step> r) {
    asio::post(io, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

Error auth_url_error(Error e, const std::string& mount_name, const std::string& role) {
    std::string text = said(e);
    if (auto missing = missing_mount(e, "OIDC", mount_name)) return *missing;
    if (text.find("could not be found") != std::string::npos)
        return {Errc::NotFound, "Vault has no OIDC role '" + role + "' at auth/" + mount_name + "; check [auth] role or --role",
                e.detail};
    if (text.find("missing role") != std::string::npos)
        return {Errc::InvalidArgument,
                "auth/" + mount_name + " has no default_role; name one with --role or [auth] role", e.detail};
    if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
        e.message = "Vault refused to start the OIDC login at auth/" + mount_name + ": " + text;
    return e;
}

Error callback_error(Error e, const std::string& who) {
    std::string text = said(e);
    if (text.find("Expired or missing OAuth state") != std::string::npos)
        return {Errc::VaultDenied, "the OIDC login expired before the browser finished; run `sshcert login --method oidc` again",
                e.detail};
    if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
        return {e.code, "Vault rejected the OIDC login of " + who + ": " + text + "; run `sshcert login --method oidc` again",
                e.detail};
    return e;
}

class OidcMethod final : public AuthMethod {
public:
    std::string_view name() const override { return "oidc"; }

    void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, StepDone done) const override {
        std::string mount_name = req.mount.empty() ? "oidc" : req.mount;
        if (req.redirect_uri.empty())
            return post(io, std::move(done), Error{Errc::InvalidArgument, "an OIDC login needs a redirect_uri"});
        auto path = vault_path({lit("auth"), mount(mount_name, "auth mount"), lit("oidc/auth_url")});
        if (!path) return post(io, std::move(done), path.error());
        auto s = std::make_shared<OidcState>();
        s->client_nonce = new_client_nonce();
        s->mount = mount_name;
        s->mfa_lifetime = req.challenge_lifetime;
        s->who = (req.role.empty() ? std::string("the default role") : "role '" + req.role + "'") + " at auth/" + mount_name;
        VaultCall call{.method = "POST",
                       .path = *path,
                       .body = Json{{"role", req.role},
                                    {"redirect_uri", req.redirect_uri},
                                    {"client_nonce", std::string(s->client_nonce.reveal())}}};
        vault.call(std::move(call), [s, role = req.role, redirect_uri = req.redirect_uri,
                                     done = std::move(done)](Result<VaultReply> r) {
            if (!r) return done(auth_url_error(std::move(r).error(), s->mount, role));
            const Json& data = r->json().value("data", Json::object());
            auto at = data.is_object() ? data.find("auth_url") : data.end();
            std::string url = at != data.end() && at->is_string() ? at->get<std::string>() : std::string();
            // path_oidc.go answers a redirect_uri the role does not allow with an empty auth_url, not an error.
            if (url.empty())
                return done(Error{Errc::VaultRefused,
                                  "Vault would not start the OIDC login of " + s->who + " with redirect_uri " + redirect_uri +
                                      ": the role's allowed_redirect_uris must list it (or set [auth] oidc_callback_host "
                                      "and oidc_callback_port to one it lists); Vault's log says more"});
            auto state = query_param(query_of(url), "state");
            if (!state || state->empty())
                return done(Error{Errc::VaultBadResponse, "Vault's OIDC auth_url has no state; is auth/" + s->mount +
                                                              " an OIDC auth method?"});
            s->state = SecretString::take(*state);
            done(Step{Challenge{.kind = kOidcBrowser,
                                .factor = "oidc",
                                .prompt = "Sign in to Vault (" + s->who + ") in your browser",
                                .expires_at = DaemonClock::now() + kMaxChallengeLifetime,
                                .url = std::move(url),
                                .redirect_uri = redirect_uri,
                                .state = s}});
        });
    }

    void resume(asio::io_context& io, VaultClient& vault, Challenge challenge, SecretString answer,
                StepDone done) const override {
        auto s = std::dynamic_pointer_cast<OidcState>(challenge.state);
        if (!s) return AuthMethod::resume(io, vault, std::move(challenge), std::move(answer), std::move(done));
        auto callback = check_oidc_callback(answer.reveal(), s->state.reveal());
        if (!callback) return post(io, std::move(done), callback.error());
        auto path = vault_path({lit("auth"), mount(s->mount, "auth mount"), lit("oidc/callback")});
        if (!path) return post(io, std::move(done), path.error());
        VaultCall call{.method = "GET", .path = *path};
        call.query.emplace_back("state", s->state);
        call.query.emplace_back("code", std::move(callback->code));
        call.query.emplace_back("id_token", SecretString());  // the CLI sends it empty with a code
        call.query.emplace_back("client_nonce", s->client_nonce);
        vault.call(std::move(call), [s, done = std::move(done)](Result<VaultReply> r) {
            if (!r) return done(callback_error(std::move(r).error(), s->who));
            // Login MFA, if Vault asks for it, gets its own [auth] mfa_timeout: the browser's time is spent.
            done(login_step(r->json(), s->who, s->mfa_lifetime));
        });
    }
};

}  // namespace

const AuthMethod& oidc_method() {
    static const OidcMethod m;
    return m;
}

}  // namespace sshcert
