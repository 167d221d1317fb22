// SPDX-License-Identifier: Apache-2.0
// ensure: a usable certificate for a host and remote user, from the cache or Vault.
#include <algorithm>

#include "cert_source.hpp"
#include "control_service.hpp"
#include "paths.hpp"

namespace sshcert::ops {

namespace {
/// The extensions OpenSSH knows, all of which `ssh-keygen -s` grants by default.
constexpr const char* kEveryExtension[] = {"permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty",
                                           "permit-user-rc"};

Error no_profile(const config::Config& c, const std::string& host, const std::optional<std::string>& asked) {
    std::string where = c.source.empty() ? config::default_config_path([](const char* n) { return std::getenv(n); }) : c.source;
    if (asked) return {Errc::NotFound, "no profile named '" + *asked + "' in " + where + " (profiles: " + profile_names(c) + ")"};
    return {Errc::NotFound, "no profile matches host '" + host + "'; add a [[profile]] whose hosts match it to " + where +
                                " (profiles: " + profile_names(c) + ")"};
}
}  // namespace

void ensure(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    std::string host = f.string("host");
    auto user = f.optional_string("user").value_or("");
    auto profile_name = f.optional_string("profile");
    std::optional<std::vector<std::string>> extensions;
    if (request.contains("extensions")) extensions = f.strings("extensions");
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    const config::Config& config = ctx.config();
    const config::Profile* profile = profile_name ? config.find_profile(*profile_name) : config.profile_for_host(host);
    if (!profile) {
        // Logging in comes first: a user with neither a login nor a profile hears of the login.
        if (!ctx.session().tokens().active()) return reply(control::make_error_reply(not_logged_in()));
        return reply(control::make_error_reply(no_profile(config, host, profile_name)));
    }
    // The profile's Vault signs; its session's login generation keys the fetch.
    auto vault = choose_vault(ctx, request, profile);
    if (!vault) return reply(control::make_error_reply(vault.error()));
    VaultSession& session = *vault->session;
    if (!session.tokens().active()) return reply(control::make_error_reply(not_logged_in(vault->name)));

    CertKey key{profile->name, profile->principals};
    if (key.principals.empty() && !user.empty()) key.principals.push_back(user);
    if (key.principals.empty())
        return reply(control::make_error_reply(
            {Errc::InvalidArgument, "profile '" + profile->name + "' names no principals and no remote user was given"}));
    std::sort(key.principals.begin(), key.principals.end());
    key.principals.erase(std::unique(key.principals.begin(), key.principals.end()), key.principals.end());
    if (profile->auto_extensions) {
        // Without a list (plain ssh's Match exec cannot know ssh's flags): every one the role allows.
        key.extensions = extensions ? *extensions : std::vector<std::string>(std::begin(kEveryExtension), std::end(kEveryExtension));
        std::sort(key.extensions.begin(), key.extensions.end());
        key.extensions.erase(std::unique(key.extensions.begin(), key.extensions.end()), key.extensions.end());
        if (key.extensions.size() > 16)
            return reply(control::make_error_reply({Errc::InvalidArgument, "more than 16 extensions asked for"}));
    }

    ctx.cache.ensure(key, session.tokens().generation(),
                     [&ctx, reply = std::move(reply)](Result<std::shared_ptr<HeldCert>> r, bool reused) {
                         if (!r) return reply(control::make_error_reply(r.error()));
                         const HeldCert& held = **r;
                         control::Json out{{"certificate", describe(held, ctx.listeners)},
                                           {"reused", reused},
                                           {"warnings", held.warnings},
                                           {"agent_socket", ctx.listeners.socket_for_profile(held.key.profile)},
                                           {"agent_socket_all", ctx.listeners.agent_path()}};
                         if (!held.refused_extensions.empty()) out["refused_extensions"] = held.refused_extensions;
                         // The client warns a person at a terminal that the login ends soon.
                         if (auto t = ctx.session().tokens().summary(); t && t->login_end_near)
                             out["login_required_at"] = t->login_required_at;
                         reply(control::make_reply(std::move(out)));
                     });
}

}  // namespace sshcert::ops
