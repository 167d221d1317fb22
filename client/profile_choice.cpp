// SPDX-License-Identifier: Apache-2.0
#include "profile_choice.hpp"

#include "host_match.hpp"

namespace sshcert::client {

namespace {
std::string why_not(const config::Profile& p, const config::MatchExplanation& m) {
    if (p.hosts.empty()) return "'" + p.name + "' has no hosts";
    return m.pattern.empty() ? "'" + p.name + "': no pattern matches" : "'" + p.name + "': excluded by '" + m.pattern + "'";
}
}  // namespace

ProfileChoice explain_profile_for_host(const config::Config& config, std::string_view host) {
    std::string skipped;
    for (const auto& p : config.profiles) {
        auto m = config::explain_match(p.hosts, host);
        if (m.matched)
            return {&p, "its hosts pattern '" + m.pattern + "' matches" + (skipped.empty() ? "" : "; before it, " + skipped)};
        skipped += (skipped.empty() ? "" : ", ") + why_not(p, m);
    }
    if (config.profiles.empty()) return {nullptr, "the config has no [[profile]]"};
    return {nullptr, "no profile's hosts match '" + std::string(host) + "' (" + skipped + ")"};
}

}  // namespace sshcert::client
