// SPDX-License-Identifier: Apache-2.0
// "Did you mean ...?" for a mistyped command: the closest known name by edit distance.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sshcert::client {

/// Levenshtein distance, with a swap of two neighbours ("stauts") counting as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `typed`, when it is close enough to be what was meant:
/// at most 2 edits, and fewer than half of the typed name's letters.
std::optional<std::string> closest_match(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace sshcert::client
