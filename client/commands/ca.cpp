// SPDX-License-Identifier: Apache-2.0
// sshcert ca: prints the public key of a Vault SSH CA: the user CA that servers
// trust (TrustedUserCAKeys), or, with --known-hosts, an @cert-authority line
// that makes ssh trust host certificates from the host-signing mount.
#include <iostream>

#include "ca_keys.hpp"
#include "commands.hpp"

namespace sshcert::client {

int cmd_ca(const Context& ctx, const CaOptions& opts) {
    if (opts.known_hosts) {
        if (!opts.host_mount)
            return fail({Errc::InvalidArgument, "--known-hosts needs --host-mount, the Vault mount that signs host keys"});
        if (auto st = check_known_hosts_pattern(*opts.known_hosts); !st) return fail(st.error());
    }
    auto ca = fetch_ca_keys(ctx.daemon, opts.profile, opts.host_mount);
    if (!ca) return fail(ca.error());
    for (const auto& key : ca->keys) std::cout << (opts.known_hosts ? known_hosts_line(*opts.known_hosts, key) : key) << "\n";
    return 0;
}

}  // namespace sshcert::client
