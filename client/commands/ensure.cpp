// SPDX-License-Identifier: Apache-2.0
// sshcert ensure: makes sure the daemon holds a valid certificate for a host
// and remote user. ssh_config's Match exec runs it (sshcert ssh-config), so it
// is one control round trip and never prompts without a terminal: ssh gives
// the command /dev/null as stdin, and its stderr, where a failure's one line
// shows above ssh's own "Permission denied".
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"
#include "ssh_args_hops.hpp"

namespace sshcert::client {

namespace {
/// The Vault of the profile the daemon picks for `host` (the same config file: see -c), for the inline login.
std::optional<std::string> profile_vault(const Context& ctx, const std::string& host, const std::optional<std::string>& profile) {
    auto config = ctx.load_config();
    if (!config) return std::nullopt;
    const config::Profile* p = profile ? config->find_profile(*profile) : config->profile_for_host(host);
    if (!p) return std::nullopt;
    return p->vault;
}
}  // namespace

int ensure_certificate(const Context& ctx, const EnsureRequest& req, control::Json& reply) {
    const auto& [host, user, profile, extensions, hop] = req;
    control::Json request{{"host", host}, {"user", user}};
    if (profile) request["profile"] = *profile;
    if (extensions) request["extensions"] = *extensions;
    auto ensure = control::make_request(control::op::kEnsure, std::move(request));
    auto result = ctx.daemon.call(ensure);
    // Not logged in (or the token expired) at a terminal: log in as `sshcert login` would, then go on.
    if (!result && result.error().code == Errc::NotLoggedIn && ::isatty(STDIN_FILENO) && ::isatty(STDERR_FILENO)) {
        std::cerr << "sshcert: " << result.error().message << "; logging in now\n";
        if (int rc = cmd_login(ctx, LoginOptions{.report_on_stderr = true, .vault = profile_vault(ctx, host, profile)}); rc != 0)
            return rc;
        result = ctx.daemon.call(ensure);
    }
    if (!result) {
        Error e = result.error();
        if (!hop.empty()) e.message = hop + " (user " + user + "): " + e.message;
        return fail(e);
    }
    reply = std::move(*result);
    return 0;
}

void print_warnings(const control::Json& ensure_reply) {
    if (auto w = ensure_reply.find("warnings"); w != ensure_reply.end() && w->is_array())
        for (const auto& line : *w)
            if (line.is_string()) std::cerr << "sshcert: warning: " << line.get<std::string>() << "\n";
    // Only a person can log in again, and only a person at a terminal reads this.
    auto at = ensure_reply.value("login_required_at", std::int64_t{0});
    if (at > 0 && ::isatty(STDERR_FILENO)) {
        auto left = std::max<std::int64_t>(0, at - static_cast<std::int64_t>(std::time(nullptr)));
        std::cerr << "sshcert: warning: your Vault login ends at " << format_time(static_cast<std::uint64_t>(at)) << " (in "
                  << format_duration(left) << ", the token's maximum TTL); run sshcert login to start a new one\n";
    }
}

int cmd_ensure(const Context& ctx, const EnsureOptions& opts) {
    // Under `sshcert ssh` (its `ssh -G`, or the ssh it runs): it ensures every hop itself, with ssh's flags.
    for (const char* name : {kInSshG, kHopsEnsured})
        if (const char* set = ctx.getenv(name); set && *set) return 0;
    control::Json reply;
    if (int rc = ensure_certificate(ctx, {.host = opts.host, .user = opts.user, .profile = opts.profile}, reply); rc != 0) return rc;
    if (opts.quiet) return 0;
    print_warnings(reply);
    auto cert = control::cert_summary_from_json(reply.value("certificate", control::Json::object()));
    if (!cert) return fail(cert.error());
    std::cout << cert->profile << ": " << cert->key_type << " certificate for " << join(cert->principals, ", ") << ", "
              << describe_validity(cert->valid_before, static_cast<std::uint64_t>(std::time(nullptr))) << ", "
              << (reply.value("reused", false) ? "held already" : "new from Vault") << "; agent " << reply.value("agent_socket", "")
              << "\n";
    return 0;
}

}  // namespace sshcert::client
