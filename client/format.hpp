// SPDX-License-Identifier: Apache-2.0
// Human-readable times and durations for status output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sshcert::client {

/// "2h05m", "59s", "32d4h".
std::string format_duration(std::int64_t seconds);
/// Local time "2026-11-21 14:05:00".
std::string format_time(std::uint64_t unix_seconds);
std::string join(const std::vector<std::string>& items, const char* sep);
/// "valid until 2026-11-21 14:05:00 (59m left)", or "valid forever" for a certificate that never expires.
std::string describe_validity(std::uint64_t valid_before, std::uint64_t now);

}  // namespace sshcert::client
