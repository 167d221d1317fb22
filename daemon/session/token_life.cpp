// SPDX-License-Identifier: Apache-2.0
#include "token_life.hpp"

#include <algorithm>
#include <charconv>

namespace sshcert::token_life {

namespace {
/// The longest warning ahead of the end of a login.
constexpr std::int64_t kWarnAheadSeconds = 3600;

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, out);
    return ec == std::errc{} && end == s.data() + pos + n;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned mp = m > 2 ? m - 3 : m + 9;  // March first, so the leap day ends the year
    const unsigned doy = (153 * mp + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> integer(const nlohmann::json& data, const char* key) {
    auto it = data.find(key);
    if (it == data.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
}

std::optional<std::int64_t> time_field(const nlohmann::json& data, const char* key) {
    auto it = data.find(key);
    if (it == data.end() || !it->is_string()) return std::nullopt;
    return parse_rfc3339(it->get_ref<const std::string&>());
}
}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    int y, mo, d, h, mi, sec;
    if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
        !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {  // fractions of a second: the whole seconds are enough
        ++pos;
        std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start) return std::nullopt;
    }
    std::int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) ||
            oh > 23 || om > 59)
            return std::nullopt;
        offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + sec -
           offset;
}

TokenTimes token_times(const nlohmann::json& data) {
    TokenTimes t;
    if (!data.is_object()) return t;
    auto ttl = integer(data, "ttl").value_or(0);
    auto expire = time_field(data, "expire_time");
    if (ttl <= 0 || !expire) return t;  // never expires: no end to announce
    const std::int64_t vault_now = *expire - ttl;
    auto issued = time_field(data, "issue_time");
    if (issued) t.age = std::max<std::int64_t>(0, vault_now - *issued);
    auto renewable = data.find("renewable");
    if (renewable != data.end() && renewable->is_boolean() && !renewable->get<bool>()) {
        t.login_left = ttl;  // it ends with its TTL
        return t;
    }
    if (auto explicit_max = integer(data, "explicit_max_ttl"); explicit_max && *explicit_max > 0 && issued)
        t.login_left = std::max<std::int64_t>(0, *issued + *explicit_max - vault_now);
    return t;
}

bool renewal_capped(const nlohmann::json& envelope) {
    auto w = envelope.is_object() ? envelope.find("warnings") : envelope.end();
    if (w == envelope.end() || !w->is_array()) return false;
    return std::any_of(w->begin(), w->end(), [](const nlohmann::json& line) {
        // "TTL of ... exceeded the effective max_ttl of ...; TTL value is capped accordingly" (CalculateTTL).
        // A capped period says "period value is capped": a periodic token is renewed on.
        return line.is_string() && line.get_ref<const std::string&>().find("TTL value is capped") != std::string::npos;
    });
}

std::int64_t warn_ahead(std::int64_t life) { return std::min(kWarnAheadSeconds, std::max<std::int64_t>(life, 0) / 4); }

}  // namespace sshcert::token_life
