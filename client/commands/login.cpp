// SPDX-License-Identifier: Apache-2.0
// sshcert login: hands credentials to the daemon, which logs in to Vault and
// keeps the token in memory only. When Vault asks for a second factor the
// daemon replies with a challenge; we ask the person (or take --mfa-passcode)
// and answer with login-continue until the login gives a token or fails. An
// OIDC login's challenge is a sign-in in the browser: we open it, take the
// browser's callback on our loopback listener (oidc_callback.hpp), or the
// address pasted with --no-browser, and pass it on.
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "aws_login_fields.hpp"
#include "commands.hpp"
#include "format.hpp"
#include "oidc_callback.hpp"
#include "prompt.hpp"
#include "vault_token_source.hpp"

namespace sshcert::client {

namespace {

using control::challenge_kind::kOidcBrowser;
using control::challenge_kind::kPasscode;
using control::challenge_kind::kPush;

std::string local_user(const config::Getenv& getenv) {
    if (const char* u = getenv("USER"); u && *u) return u;
    if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
    return {};
}

void wipe_field(control::Json& message, const char* key) {
    if (auto it = message.find(key); it != message.end() && it->is_string()) {
        auto& s = it->get_ref<std::string&>();
        wipe(s.data(), s.size());
    }
}

/// Sends a request that carries a secret in `field`, and wipes it from the message afterwards.
Result<control::Json> send_secret(const Context& ctx, control::Json message, const char* field, const char* also = nullptr) {
    auto reply = ctx.daemon.call(message);
    wipe_field(message, field);
    if (also) wipe_field(message, also);
    return reply;
}

/// The passcode for `c`: --mfa-passcode (--aws-mfa-code for AWS's) the first time, else asked at the terminal.
Result<std::string> passcode_for(const control::LoginChallenge& c, const LoginOptions& opts, bool& given_used) {
    bool aws = c.factor == "aws";
    const auto& given = aws ? opts.aws_mfa_code : opts.mfa_passcode;
    const char* flag = aws ? "--aws-mfa-code" : "--mfa-passcode";
    if (!c.retry_error.empty()) {
        if (given_used)
            return Error{Errc::VaultDenied, c.retry_error + "; run sshcert login again with the current " +
                                                (aws ? "code" : "passcode")};
        std::cerr << "sshcert: " << c.retry_error << "; try again (" << format_duration(c.expires_in_seconds) << " left)\n";
    }
    if (given && !given_used) {
        given_used = true;
        return *given;
    }
    std::string how = std::string("pass it with ") + flag + " CODE";
    return prompt_secret(c.prompt, aws ? "AWS MFA code" : "MFA passcode", how.c_str());
}

/// Waits for the daemon while the person approves a push, counting down at a terminal.
Result<control::Json> wait_for_push(const Context& ctx, const control::LoginChallenge& c, control::Json request) {
    std::cerr << c.prompt << "; waiting up to " << format_duration(c.expires_in_seconds) << "\n";
    bool tty = ::isatty(STDERR_FILENO) == 1;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(c.expires_in_seconds);
    auto tick = [&] {
        if (!tty) return;
        auto left = std::chrono::duration_cast<std::chrono::seconds>(until - std::chrono::steady_clock::now()).count();
        std::cerr << "\r  waiting for approval, " << format_duration(left) << " left \x1b[K" << std::flush;
    };
    // The daemon ends the wait at the deadline itself; the margin covers only its reply.
    auto reply = ctx.daemon.call(request, std::chrono::seconds(c.expires_in_seconds + 10), tick);
    if (tty) std::cerr << "\r\x1b[K" << std::flush;
    return reply;
}

/// login-continue for challenge `id`, to the Vault the login went to.
control::Json continue_request(const Context& ctx, const LoginOptions& opts, const std::string& id, const std::string& answer) {
    control::Json args{{"id", id}, {"answer", answer}};
    add_vault_choice(ctx, args, opts.vault);
    return control::make_request(control::op::kLoginContinue, std::move(args));
}

/// The browser sign-in: the callback's query from `listener`, or, without one, the address pasted on
/// stdin; sent with login-continue. The browser is told how it ended.
Result<control::Json> sign_in_with_browser(const Context& ctx, const LoginOptions& opts, const control::LoginChallenge& c,
                                           OidcCallbackListener* listener) {
    if (c.url.empty()) return Error{Errc::InvalidMessage, "sshcertd sent an OIDC sign-in without its URL"};
    Result<std::string> answer = std::string();
    if (listener) {
        std::cerr << "Complete the login in your browser (" << format_duration(c.expires_in_seconds)
                  << " left). If it does not open, visit:\n\n    " << c.url << "\n\n";
        if (!open_browser(c.url, ctx.getenv)) std::cerr << "sshcert: could not start a browser; open the address above\n";
        answer = listener->wait(std::chrono::steady_clock::now() + std::chrono::seconds(c.expires_in_seconds));
    } else {
        std::cerr << "Open this address in a browser, on any machine (" << format_duration(c.expires_in_seconds)
                  << " left):\n\n    " << c.url << "\n\n"
                  << "Once you have signed in, the browser goes to " << c.redirect_uri
                  << "?..., which may fail to load there.\nCopy that whole address from its address bar and paste it here: "
                  << std::flush;
        answer = read_pasted_callback();
    }
    if (!answer) return answer.error();
    auto message = continue_request(ctx, opts, c.id, *answer);
    wipe(answer->data(), answer->size());
    auto reply = send_secret(ctx, std::move(message), "answer");
    if (listener) {
        if (!reply) listener->answer(false, reply.error().message);
        else if (reply->contains("challenge")) listener->answer(true, "Vault asks for a second factor: see the terminal.");
        else listener->answer(true, "sshcert is logged in to Vault.");
    }
    return reply;
}

/// Answers challenges until the reply is the token's summary, or an error.
Result<control::Json> converse(const Context& ctx, const LoginOptions& opts, Result<control::Json> reply,
                               OidcCallbackListener* listener) {
    bool given_used = false;
    while (reply && reply->contains("challenge")) {
        auto c = control::login_challenge_from_json((*reply)["challenge"]);
        if (!c) return c.error();
        if (c->kind == kPush) {
            reply = wait_for_push(ctx, *c, continue_request(ctx, opts, c->id, ""));
        } else if (c->kind == kOidcBrowser) {
            reply = sign_in_with_browser(ctx, opts, *c, listener);
        } else if (c->kind == kPasscode) {
            auto code = passcode_for(*c, opts, given_used);
            if (!code) return code.error();
            auto message = continue_request(ctx, opts, c->id, *code);
            wipe(code->data(), code->size());
            reply = send_secret(ctx, std::move(message), "answer");
        } else {
            return Error{Errc::InvalidMessage, "sshcertd asks a question this sshcert does not know (" + c->kind +
                                                   "); run the same version of sshcert and sshcertd"};
        }
    }
    return reply;
}

}  // namespace

void add_vault_choice(const Context& ctx, control::Json& request, const std::optional<std::string>& vault) {
    if (vault) request["vault"] = *vault;  // the command line's choice beats the environment's
    else if (const char* addr = ctx.getenv("VAULT_ADDR"); addr && *addr) request["vault_addr"] = addr;
}

int cmd_login(const Context& ctx, const LoginOptions& opts) {
    auto config = ctx.load_config();
    if (!config) return fail(config.error());
    // The defaults of the Vault the login goes to: --vault's, else the [vault.<name>] VAULT_ADDR names.
    std::string vault = opts.vault.value_or(config::kDefaultVault);
    if (const char* addr = ctx.getenv("VAULT_ADDR"); !opts.vault && addr && *addr)
        for (const auto& v : config->vaults)
            if (v.vault.address == addr) vault = v.name;
    const config::AuthSettings* auth = config->find_auth(vault);
    if (!auth)
        return fail({Errc::NotFound, "--vault " + *opts.vault + ": " +
                                         (config->source.empty() ? "no config file" : config->source) + " has no [vault." +
                                         *opts.vault + "] (Vaults: " + join(config->vault_names(), ", ") + ")"});
    std::string method = opts.method.empty() ? auth->method : opts.method;
    // [auth] mount belongs to [auth] method: another --method starts from its own default mount.
    std::string mount = !opts.mount.empty() ? opts.mount : method == auth->method ? auth->mount : "";

    control::Json request{{"method", method}};
    add_vault_choice(ctx, request, opts.vault);
    if (!mount.empty()) request["mount"] = mount;
    Result<std::string> secret = std::string();
    std::optional<OidcCallbackListener> listener;
    if (method == "oidc") {
        std::string role = !opts.role.empty() ? opts.role : auth->role;
        if (!role.empty()) request["role"] = role;
        // Before Vault is asked anything: a port in use fails the login at once.
        if (!opts.no_browser) {
            auto l = OidcCallbackListener::open(auth->oidc_listen_address, auth->oidc_listen_port);
            if (!l) return fail(l.error());
            listener.emplace(std::move(*l));
        }
    } else if (method == "token") {
        secret = find_vault_token(ctx.getenv, opts.token_stdin);
    } else if (method == "userpass" || method == "ldap") {
        std::string user = !opts.username.empty() ? opts.username
                           : !auth->username.empty() ? auth->username
                                                            : local_user(ctx.getenv);
        request["username"] = user;
        secret = opts.password_stdin ? read_secret_line_from_stdin("password")
                                     : prompt_secret("Vault password for " + user + " (" + (mount.empty() ? method : mount) + "): ");
    } else if (method == "approle") {
        // Nothing from the person: the daemon reads [auth] role_id_file and secret_id_file itself, and
        // logs in again by itself when the token ends.
    } else if (method == "cert") {
        // The daemon presents the certificate on its connection to Vault; we only say which certs/ entry.
        std::string role = !opts.role.empty() ? opts.role : auth->role;
        if (!role.empty()) request["role"] = role;
        // The daemon checks these against what it presents: it cannot take them on for this login alone,
        // since Vault asks for the same certificate at every renewal.
        for (auto [var, field] : {std::pair{"VAULT_CLIENT_CERT", "client_cert"}, std::pair{"VAULT_CLIENT_KEY", "client_key"}})
            if (const char* v = ctx.getenv(var); v && *v) request[field] = std::filesystem::absolute(v).lexically_normal().string();
    } else if (method == "aws") {
        // Found as the AWS CLI finds them, here, where the person's environment and ~/.aws are; the daemon
        // assumes the profile's roles (asking for the MFA code) and keeps the temporary credentials.
        std::string role = !opts.role.empty() ? opts.role : auth->role;
        if (!role.empty()) request["role"] = role;
        auto fields = client::aws::login_fields(ctx.getenv, *auth);
        if (!fields) return fail(fields.error());
        request["aws"] = std::move(fields->aws);
        secret = std::move(fields->secret_access_key);
        if (!fields->session_token.empty()) request["aws_session_token"] = fields->session_token;
        wipe(fields->session_token.data(), fields->session_token.size());
    } else {
        return fail({Errc::InvalidArgument, "unknown login method '" + method + "' (use " + config::login_method_list("or") + ")"});
    }
    if (!secret) return fail(secret.error());
    if (!secret->empty()) request["secret"] = *secret;
    wipe(secret->data(), secret->size());

    auto reply = converse(ctx, opts, send_secret(ctx, control::make_request(control::op::kLogin, std::move(request)), "secret",
                                                 "aws_session_token"),
                          listener ? &*listener : nullptr);
    if (!reply) return fail(reply.error());
    auto token = control::token_summary_from_json(*reply);
    if (!token) return fail(token.error());
    (opts.report_on_stderr ? std::cerr : std::cout) << "Logged in to " << token->vault_addr << " as " << token->display_name << " (policies: "
              << join(token->policies, ", ") << "; token "
              << (token->ttl_seconds > 0 ? "expires in " + format_duration(token->ttl_seconds) : "never expires") << ")\n";
    return 0;
}

}  // namespace sshcert::client
