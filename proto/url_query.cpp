// SPDX-License-Identifier: Apache-2.0
#include "url_query.hpp"

namespace sshcert {

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}
}  // namespace

std::string_view query_of(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
        text.remove_suffix(1);
    if (auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
    if (auto q = text.find('?'); q != std::string_view::npos) return text.substr(q + 1);
    if (text.find("://") != std::string_view::npos || text.starts_with("/")) return {};
    return text;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        auto eq = pair.find('=');
        auto key = decode(pair.substr(0, eq));
        if (!key || *key != name) continue;
        return decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    }
    return std::nullopt;
}

}  // namespace sshcert
