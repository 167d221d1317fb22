// SPDX-License-Identifier: Apache-2.0
// sshcert login: hands credentials to the daemon, which logs in to Vault and
// keeps the token in memory only.
#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"
#include "prompt.hpp"

namespace sshcert::client {

namespace {

std::string local_user(const config::Getenv& getenv) {
    if (const char* u = getenv("USER"); u && *u) return u;
    if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
    return {};
}

/// --token-stdin, then VAULT_TOKEN, then ~/.vault-token: the Vault CLI's order.
Result<std::string> find_token(const Context& ctx, const LoginOptions& opts) {
    if (opts.token_stdin) return read_secret_line_from_stdin("token");
    if (const char* t = ctx.getenv("VAULT_TOKEN"); t && *t) return std::string(t);
    const char* home = ctx.getenv("HOME");
    std::string path = std::string(home ? home : "") + "/.vault-token";
    std::ifstream in(path);
    std::string token;
    if (in && std::getline(in, token)) {
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
        if (!token.empty()) return token;
    }
    return Error{Errc::InvalidArgument, "no Vault token: pass one with --token-stdin, set VAULT_TOKEN, or run `vault login` "
                                        "to create ~/.vault-token (or use --method userpass)"};
}

}  // namespace

int cmd_login(const Context& ctx, const LoginOptions& opts) {
    auto config = ctx.load_config();
    if (!config) return fail(config.error());
    std::string method = opts.method.empty() ? config->auth.method : opts.method;
    std::string mount = opts.mount.empty() ? config->auth.mount : opts.mount;

    control::Json request{{"method", method}};
    if (!mount.empty()) request["mount"] = mount;
    Result<std::string> secret = std::string();
    if (method == "token") {
        secret = find_token(ctx, opts);
    } else if (method == "userpass") {
        std::string user = !opts.username.empty() ? opts.username
                           : !config->auth.username.empty() ? config->auth.username
                                                            : local_user(ctx.getenv);
        request["username"] = user;
        secret = opts.password_stdin ? read_secret_line_from_stdin("password")
                                     : prompt_secret("Vault password for " + user + " (" + (mount.empty() ? "userpass" : mount) + "): ");
    } else {
        return fail({Errc::InvalidArgument, "unknown login method '" + method + "' (use token or userpass)"});
    }
    if (!secret) return fail(secret.error());
    request["secret"] = *secret;
    wipe(secret->data(), secret->size());

    auto message = control::make_request(control::op::kLogin, std::move(request));
    auto reply = ctx.daemon.call(message);
    auto& sent = message["secret"].get_ref<std::string&>();
    wipe(sent.data(), sent.size());
    if (!reply) return fail(reply.error());
    auto token = control::token_summary_from_json(*reply);
    if (!token) return fail(token.error());
    (opts.report_on_stderr ? std::cerr : std::cout) << "Logged in to " << token->vault_addr << " as " << token->display_name << " (policies: "
              << join(token->policies, ", ") << "; token "
              << (token->ttl_seconds > 0 ? "expires in " + format_duration(token->ttl_seconds) : "never expires") << ")\n";
    return 0;
}

}  // namespace sshcert::client
