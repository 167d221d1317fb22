// SPDX-License-Identifier: Apache-2.0
// sshcert known-hosts: writes the known_hosts file that makes ssh trust the
// host certificates of each profile's host CA mount (see known_hosts_file.hpp).
// The CA keys come from Vault's unauthenticated <mount>/public_key through
// sshcertd: one request per Vault and mount. The file is replaced only when
// its text changes, so running it often (from cron, a login script) is cheap.
#include <filesystem>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "known_hosts_file.hpp"
#include "local_file.hpp"
#include "paths.hpp"

namespace sshcert::client {

namespace {
constexpr std::size_t kMaxKnownHostsBytes = 1 << 20;
}  // namespace

int cmd_known_hosts(const Context& ctx, bool print) {
    auto config = ctx.load_config();
    if (!config) return fail(config.error());
    std::vector<ProfileCaKeys> profiles;
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> fetched;  // by (Vault, mount)
    for (const auto& p : config->profiles) {
        if (p.host_ca_mount.empty()) continue;
        auto& keys = fetched[{p.vault, p.host_ca_mount}];
        if (keys.empty()) {
            auto ca = fetch_ca_keys(ctx.daemon.without_config(), std::nullopt, p.host_ca_mount, {{"vault", p.vault}});
            if (!ca) {
                Error e = ca.error();
                e.message = "host CA of profile '" + p.name + "': " + e.message;
                return fail(e);
            }
            keys = std::move(ca->keys);
        }
        profiles.push_back({&p, keys});
    }
    if (profiles.empty())
        return fail({Errc::NotFound, "no profile has a host_ca_mount" +
                                         (config->source.empty() ? std::string() : " in " + config->source) +
                                         "; add host_ca_mount = \"<mount>\" (the Vault SSH mount that signs host keys) to the "
                                         "profiles whose hosts have host certificates"});
    auto text = managed_known_hosts_text(config->source, profiles);
    if (!text) return fail(text.error());
    if (print) {
        std::cout << *text;
        return 0;
    }
    std::string path = config::managed_known_hosts_path(ctx.getenv);
    auto old = read_local_file(path, kMaxKnownHostsBytes);
    if (old && *old == *text) {
        std::cout << path << " is up to date.\n";
        return 0;
    }
    if (auto st = make_dirs(std::filesystem::path(path).parent_path().string()); !st) return fail(st.error());
    if (auto st = write_local_file(path, *text, 0644); !st) return fail(st.error());
    std::cout << "Wrote " << path << " (host CAs of " << profiles.size() << " profile(s)).\n";
    return 0;
}

}  // namespace sshcert::client
