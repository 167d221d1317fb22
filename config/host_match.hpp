// SPDX-License-Identifier: Apache-2.0
// Host patterns as ssh_config(5) "PATTERNS" defines them: "*" and "?"
// wildcards, "!" to negate, case-insensitive.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sshcert::config {

/// "a,b,!c" -> {"a", "b", "!c"}: a comma-separated list (known_hosts host fields, ProxyJump),
/// empty items dropped.
std::vector<std::string> split_list(std::string_view list);

/// Wildcard match of one pattern (no negation) against a host name.
bool match_pattern(std::string_view pattern, std::string_view host);

/// Which pattern decided whether a host matches a list.
struct MatchExplanation {
    bool matched = false;
    /// The first positive pattern that matched, or the negated one ("!x") that excluded the
    /// host; empty when no pattern matched at all.
    std::string pattern;
};
/// Matches as match_host does and says which pattern decided it.
MatchExplanation explain_match(const std::vector<std::string>& patterns, std::string_view host);

/// True when a positive pattern matches and no negated pattern does.
bool match_host(const std::vector<std::string>& patterns, std::string_view host);

}  // namespace sshcert::config
