// SPDX-License-Identifier: Apache-2.0
#include "known_hosts_lookup.hpp"

#include <fstream>
#include <string_view>

#include "host_match.hpp"

namespace sshcert::client {

namespace {
/// known_hosts files are small; past this we stop reading.
constexpr std::size_t kMaxKnownHostsBytes = 16 << 20;
constexpr std::string_view kMarker = "@cert-authority";

std::string_view skip_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}
}  // namespace

std::optional<std::string> find_cert_authority(const std::vector<std::string>& files, const std::vector<std::string>& names) {
    for (const auto& file : files) {
        std::ifstream in(file);
        std::string line;
        std::size_t read = 0;
        for (std::size_t n = 1; read < kMaxKnownHostsBytes && std::getline(in, line); ++n) {
            read += line.size() + 1;
            std::string_view l = skip_blanks(line);
            if (!l.starts_with(kMarker) || l.size() == kMarker.size() || (l[kMarker.size()] != ' ' && l[kMarker.size()] != '\t'))
                continue;
            l = skip_blanks(l.substr(kMarker.size()));
            auto patterns = config::split_list(l.substr(0, l.find_first_of(" \t")));
            for (const auto& name : names)
                if (config::match_host(patterns, name)) return file + ":" + std::to_string(n);
        }
    }
    return std::nullopt;
}

}  // namespace sshcert::client
