// SPDX-License-Identifier: Apache-2.0
// approle: a machine's login (CI jobs, build hosts) with a role_id and a
// secret_id read from files ([auth] role_id_file, secret_id_file), read again at
// every login so a rotated secret_id is picked up. With secret_id_wrapped the file
// holds a response-wrapping token instead: it is unwrapped once
// (sys/wrapping/unwrap, single use by design) and the secret_id stays in memory
// for the logins that follow. Nobody is asked anything, so the keeper may log in
// again by itself whenever the token ends.
#include <fstream>

#include "login_errors.hpp"
#include "login_mfa.hpp"
#include "methods.hpp"
#include "vault_path.hpp"

namespace sshcert {

namespace {

constexpr std::size_t kMaxIdFileBytes = 4096;

/// The file's content, trimmed; an error names the file and the setting.
Result<std::string> read_id_file(const std::string& path, const char* setting) {
    if (path.empty()) return Error{Errc::InvalidArgument, std::string("approle login needs [auth] ") + setting};
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{Errc::NotFound, std::string("cannot read ") + setting + " " + path + "; check the path and its permissions"};
    std::string s(kMaxIdFileBytes + 1, '\0');
    in.read(s.data(), static_cast<std::streamsize>(s.size()));
    s.resize(static_cast<std::size_t>(in.gcount()));
    if (s.size() > kMaxIdFileBytes)
        return Error{Errc::InvalidArgument, std::string(setting) + " " + path + " is larger than an ID can be"};
    auto first = s.find_first_not_of(" \t\r\n"), last = s.find_last_not_of(" \t\r\n");
    std::string out = first == std::string::npos ? std::string{} : s.substr(first, last - first + 1);
    wipe(s);
    if (out.empty()) return Error{Errc::InvalidArgument, std::string(setting) + " " + path + " is empty"};
    return out;
}

class AppRoleMethod final : public AuthMethod {
public:
    std::string_view name() const override { return "approle"; }

    void start(asio::io_context& io, VaultClient& vault, const LoginRequest& req, StepDone done) const override {
        auto fail = [&](Error e) { asio::post(io, [done, e = std::move(e)] { done(e); }); };
        auto role_id = read_id_file(req.role_id_file, "role_id_file");
        if (!role_id) return fail(role_id.error());
        if (!req.secret.empty() || !req.secret_id_wrapped) {  // a secret_id unwrapped before, or the file itself
            SecretString secret_id = req.secret;
            if (secret_id.empty()) {
                auto s = read_id_file(req.secret_id_file, "secret_id_file");
                if (!s) return fail(s.error());
                secret_id = SecretString::take(*s);
            }
            return log_in(vault, req, *role_id, std::move(secret_id), std::move(done));
        }
        auto wrapping = read_id_file(req.secret_id_file, "secret_id_file");
        if (!wrapping) return fail(wrapping.error());
        VaultCall unwrap{.method = "POST", .path = "sys/wrapping/unwrap", .token = SecretString::take(*wrapping)};
        vault.call(std::move(unwrap), [&vault, req, role_id = *role_id, done = std::move(done)](Result<VaultReply> r) mutable {
            if (!r) {
                Error e = std::move(r).error();
                e.message = "Vault would not unwrap the secret_id in " + req.secret_id_file + ": " +
                            (e.detail.empty() ? e.message : e.detail) +
                            " (a wrapping token works once and expires; put a freshly wrapped secret_id there)";
                return done(e);
            }
            const Json& data = r->json().value("data", Json::object());
            if (!data.is_object() || !data.contains("secret_id") || !data["secret_id"].is_string())
                return done(Error{Errc::VaultBadResponse, "the wrapping token in " + req.secret_id_file +
                                                              " held no secret_id; wrap the answer of auth/<mount>/role/<role>/secret-id"});
            std::string s = data["secret_id"].get<std::string>();
            log_in(vault, req, role_id, SecretString::take(s), std::move(done));
        });
    }

private:
    static void log_in(VaultClient& vault, const LoginRequest& req, const std::string& role_id, SecretString secret_id,
                       StepDone done) {
        std::string mount_name = req.mount.empty() ? "approle" : req.mount;
        auto path = vault_path({lit("auth"), mount(mount_name, "auth mount"), lit("login")});
        if (!path) return done(path.error());
        VaultCall call{.method = "POST", .path = *path,
                       .body = Json{{"role_id", role_id}, {"secret_id", std::string(secret_id.reveal())}}};
        // The next login reads the files again, except a wrapped secret_id: that token is spent, so the
        // secret_id it held goes along in memory.
        LoginRequest again = req;
        if (req.secret_id_wrapped) again.secret = std::move(secret_id);
        std::string who = "role_id from " + req.role_id_file + " at auth/" + mount_name;
        vault.call(std::move(call), [done = std::move(done), who, mount_name, again = std::move(again),
                                     lifetime = req.challenge_lifetime](Result<VaultReply> r) mutable {
            if (!r) {
                Error e = std::move(r).error();
                if (auto missing = missing_mount(e, "approle", mount_name)) return done(*missing);
                if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
                    e.message = "Vault rejected the approle login (" + who + "): " + (e.detail.empty() ? e.message : e.detail);
                return done(e);
            }
            auto step = login_step(r->json(), who, lifetime);
            if (step)
                if (auto* grant = std::get_if<LoginGrant>(&*step)) grant->again = std::move(again);
            done(std::move(step));
        });
    }
};

}  // namespace

const AuthMethod& approle_method() {
    static const AppRoleMethod m;
    return m;
}

}  // namespace sshcert
