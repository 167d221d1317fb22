// SPDX-License-Identifier: Apache-2.0
#include "format.hpp"

#include <algorithm>
#include <climits>
#include <ctime>

namespace sshcert::client {

std::string format_duration(std::int64_t s) {
    if (s < 0) s = 0;
    std::int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
    auto two = [](std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
    if (d > 0) return std::to_string(d) + "d" + std::to_string(h) + "h";
    if (h > 0) return std::to_string(h) + "h" + two(m) + "m";
    if (m > 0) return std::to_string(m) + "m" + two(sec) + "s";
    return std::to_string(sec) + "s";
}

std::string format_time(std::uint64_t unix_seconds) {
    if (unix_seconds == UINT64_MAX) return "forever";
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string describe_validity(std::uint64_t valid_before, std::uint64_t now) {
    if (valid_before > static_cast<std::uint64_t>(INT64_MAX)) return "valid forever";
    return "valid until " + format_time(valid_before) + " (" +
           format_duration(static_cast<std::int64_t>(valid_before - std::min(now, valid_before))) + " left)";
}

}  // namespace sshcert::client
