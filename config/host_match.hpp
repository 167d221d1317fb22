// SPDX-License-Identifier: Apache-2.0
// Host patterns as ssh_config(5) "PATTERNS" defines them: "*" and "?"
// wildcards, "!" to negate, case-insensitive.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sshcert::config {

/// Wildcard match of one pattern (no negation) against a host name.
bool match_pattern(std::string_view pattern, std::string_view host);

/// True when a positive pattern matches and no negated pattern does.
bool match_host(const std::vector<std::string>& patterns, std::string_view host);

}  // namespace sshcert::config
