// SPDX-License-Identifier: Apache-2.0
#include "host_match.hpp"

#include <cctype>

namespace sshcert::config {

namespace {
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
}  // namespace

bool match_pattern(std::string_view pattern, std::string_view host) {
    // Iterative glob with one backtrack point for the last '*': linear in practice, no recursion.
    std::size_t p = 0, h = 0, star = std::string_view::npos, star_h = 0;
    while (h < host.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(host[h]))) {
            ++p;
            ++h;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_h = h;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            h = ++star_h;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

MatchExplanation explain_match(const std::vector<std::string>& patterns, std::string_view host) {
    MatchExplanation positive;
    for (const auto& pattern : patterns) {
        if (!pattern.empty() && pattern[0] == '!') {
            if (match_pattern(std::string_view(pattern).substr(1), host)) return {false, pattern};
        } else if (!positive.matched && match_pattern(pattern, host)) {
            positive = {true, pattern};
        }
    }
    return positive;
}

bool match_host(const std::vector<std::string>& patterns, std::string_view host) { return explain_match(patterns, host).matched; }

std::vector<std::string> split_list(std::string_view list) {
    std::vector<std::string> out;
    while (!list.empty()) {
        auto comma = list.find(',');
        if (comma != 0) out.emplace_back(list.substr(0, comma));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

}  // namespace sshcert::config
