// SPDX-License-Identifier: Apache-2.0
// sshcert ca: prints the public key of a Vault SSH CA: the user CA that servers
// trust (TrustedUserCAKeys), or, with --known-hosts, an @cert-authority line
// that makes ssh trust host certificates from the host-signing mount.
#include <iostream>

#include "ca_keys.hpp"
#include "commands.hpp"

namespace sshcert::client {

Result<CaKeys> ca_keys_for(const Context& ctx, const std::optional<std::string>& profile,
                           const std::optional<std::string>& host_mount) {
    // A profile's CA is at the profile's Vault, as its certificates are; a bare mount at VAULT_ADDR's.
    control::Json route = control::Json::object();
    if (host_mount) add_vault_choice(ctx, route, std::nullopt);
    if (!ctx.config_path || host_mount) return fetch_ca_keys(ctx.daemon, profile, host_mount, route);
    auto config = ctx.load_config();
    if (!config) return config.error();
    const config::Profile* p = profile ? config->find_profile(*profile) : config->profiles.empty() ? nullptr : &config->profiles[0];
    if (!p)
        return Error{Errc::NotFound, profile ? "no profile named '" + *profile + "' in " + *ctx.config_path
                                             : *ctx.config_path + " has no [[profile]]"};
    route["vault"] = p->vault;
    return fetch_ca_keys(ctx.daemon.without_config(), std::nullopt, p->mount, route);
}

int cmd_ca(const Context& ctx, const CaOptions& opts) {
    if (opts.known_hosts) {
        if (!opts.host_mount)
            return fail({Errc::InvalidArgument, "--known-hosts needs --host-mount, the Vault mount that signs host keys"});
        if (auto st = check_known_hosts_pattern(*opts.known_hosts); !st) return fail(st.error());
    }
    auto ca = ca_keys_for(ctx, opts.profile, opts.host_mount);
    if (!ca) return fail(ca.error());
    for (const auto& key : ca->keys) std::cout << (opts.known_hosts ? known_hosts_line(*opts.known_hosts, key) : key) << "\n";
    return 0;
}

}  // namespace sshcert::client
