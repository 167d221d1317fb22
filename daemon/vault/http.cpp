// SPDX-License-Identifier: Apache-2.0
#include "http.hpp"

#include <array>
#include <charconv>

namespace sshcert {

namespace {
constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/// Exactly `digits` decimal digits at s[pos].
std::optional<int> number(std::string_view s, std::size_t pos, std::size_t digits) {
    int v = 0;
    auto first = s.data() + pos, last = first + digits;
    if (*first < '0' || *first > '9') return std::nullopt;  // from_chars would take a '-'
    auto [end, ec] = std::from_chars(first, last, v);
    if (ec != std::errc{} || end != last) return std::nullopt;
    return v;
}

template <std::size_t N>
std::optional<unsigned> index_of(const std::array<std::string_view, N>& names, std::string_view s) {
    for (unsigned i = 0; i < N; ++i)
        if (names[i] == s) return i;
    return std::nullopt;
}
}  // namespace

std::optional<std::int64_t> parse_http_date(std::string_view v) {
    // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions, 29 bytes.
    if (v.size() != 29 || v.substr(3, 2) != ", " || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[19] != ':' ||
        v[22] != ':' || v.substr(25) != " GMT")
        return std::nullopt;
    if (!index_of(kDays, v.substr(0, 3))) return std::nullopt;
    auto month = index_of(kMonths, v.substr(8, 3));
    auto day = number(v, 5, 2), year = number(v, 12, 4);
    auto hour = number(v, 17, 2), minute = number(v, 20, 2), second = number(v, 23, 2);
    if (!month || !day || !year || !hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60)
        return std::nullopt;
    std::chrono::year_month_day ymd{std::chrono::year{*year}, std::chrono::month{*month + 1},
                                    std::chrono::day{static_cast<unsigned>(*day)}};
    if (!ymd.ok()) return std::nullopt;
    auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
    return static_cast<std::int64_t>(days) * 86400 + *hour * 3600 + *minute * 60 + *second;
}

}  // namespace sshcert
