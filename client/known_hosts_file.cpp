// SPDX-License-Identifier: Apache-2.0
#include "known_hosts_file.hpp"

#include <algorithm>

#include "ca_keys.hpp"

namespace sshcert::client {

Result<std::string> known_hosts_patterns(const config::Profile& profile) {
    std::string names, ports;
    for (const auto& h : profile.hosts) {
        bool negated = h.starts_with('!');
        std::string_view name = std::string_view(h).substr(negated ? 1 : 0);
        bool bad = name.empty() || std::any_of(name.begin(), name.end(), [](char c) {
                       return c <= ' ' || c == 0x7f || c == ',' || c == '#' || c == '[' || c == ']' || c == '|' ||
                              static_cast<unsigned char>(c) >= 0x80;
                   });
        if (bad)
            return Error{Errc::InvalidArgument, "profile '" + profile.name + "' has host pattern '" + h +
                                                    "', which known_hosts cannot carry (no spaces, commas, brackets, '|' or '#')"};
        std::string neg = negated ? "!" : "";
        names += (names.empty() ? "" : ",") + h;
        ports += "," + neg + "[" + std::string(name) + "]:*";
    }
    if (names.empty()) return Error{Errc::InvalidArgument, "profile '" + profile.name + "' has no hosts"};
    return names + ports;
}

Result<std::string> managed_known_hosts_text(const std::string& source, const std::vector<ProfileCaKeys>& profiles) {
    std::string text =
        "# Written by `sshcert known-hosts`" + (source.empty() ? std::string() : " from " + source) +
        ": ssh trusts the host certificates\n"
        "# of each profile's host_ca_mount for the profile's hosts. Run it again after the CA or the profiles\n"
        "# change; edits here are lost. `sshcert ssh-config` names this file after ~/.ssh/known_hosts.\n";
    for (const auto& p : profiles) {
        auto patterns = known_hosts_patterns(*p.profile);
        if (!patterns) return patterns.error();
        text += "# profile " + p.profile->name + ", host CA mount " + p.profile->host_ca_mount + "\n";
        for (const auto& key : p.keys) text += known_hosts_line(*patterns, key) + "\n";
    }
    return text;
}

}  // namespace sshcert::client
