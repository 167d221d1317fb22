// SPDX-License-Identifier: Apache-2.0
// sshcert profiles: the profiles of the config, and with --host which one a
// host maps to and why. It reads the config file alone; no daemon needed.
#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"
#include "profile_choice.hpp"

namespace sshcert::client {

namespace {
void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], row[i].size());
        }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i)
            line += i + 1 == row.size() ? row[i] : row[i] + std::string(width[i] - row[i].size() + 2, ' ');
        std::cout << line << "\n";
    }
}
}  // namespace

int cmd_profiles(const Context& ctx, const std::optional<std::string>& host) {
    auto config = ctx.load_config();
    if (!config) return fail(config.error());
    std::string file = config->source.empty() ? config::default_config_path(ctx.getenv) : config->source;
    if (config->profiles.empty()) {
        std::cout << "No profiles in " << file << "; add a [[profile]] (see sshcert.toml(5)).\n";
        return host ? 1 : 0;
    }
    std::vector<std::vector<std::string>> rows{{"NAME", "VAULT", "MOUNT", "ROLE", "PRINCIPALS", "KEY", "HOSTS"}};
    for (const auto& p : config->profiles)
        rows.push_back({p.name, p.vault, p.mount, p.role, p.principals.empty() ? "(the remote user)" : join(p.principals, ","),
                        std::string(config::to_string(p.key_type)), p.hosts.empty() ? "(none)" : join(p.hosts, " ")});
    print_table(rows);
    if (!host) return 0;
    auto choice = explain_profile_for_host(*config, *host);
    if (!choice.profile) {
        std::cout << "\n" << *host << ": no profile; " << choice.why << ". Add a [[profile]] whose hosts match it to " << file << ".\n";
        return 1;
    }
    std::cout << "\n" << *host << ": profile '" << choice.profile->name << "', as " << choice.why << ".\n";
    return 0;
}

}  // namespace sshcert::client
