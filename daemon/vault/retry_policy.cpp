// SPDX-License-Identifier: Apache-2.0
#include "retry_policy.hpp"

#include <algorithm>
#include <charconv>

#include "http.hpp"

namespace sshcert {

namespace {
std::string_view trim_ows(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}
}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::seconds cap,
                                                      std::string_view date) {
    value = trim_ows(value);
    if (value.empty()) return std::nullopt;
    const auto limit = static_cast<std::uint64_t>(std::max<std::int64_t>(cap.count(), 0));
    auto capped = [&](std::uint64_t s) { return std::chrono::seconds(static_cast<std::int64_t>(std::min(s, limit))); };
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::uint64_t s = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
        if (ec == std::errc::result_out_of_range) return capped(limit);  // "wait very long": the cap
        if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
        return capped(s);
    }
    // An HTTP-date means nothing against our clock (it may be skewed); Vault's own Date is the reference.
    auto until = parse_http_date(value);
    auto now = parse_http_date(trim_ows(date));
    if (!until || !now) return std::nullopt;
    return capped(*until > *now ? static_cast<std::uint64_t>(*until - *now) : 0);
}

std::chrono::milliseconds RetryPolicy::delay(int attempt, std::string_view retry_after, std::mt19937_64& rng,
                                             std::string_view date) const {
    if (auto server = parse_retry_after(retry_after, max_retry_after, date)) return *server;
    const std::int64_t base = std::max<std::int64_t>(base_delay.count(), 0);
    const std::int64_t cap = std::max<std::int64_t>(max_delay.count(), 0);
    std::int64_t step = cap;
    // base << attempt without overflow: past the cap there is nothing to compute.
    if (attempt >= 0 && attempt < 62 && base <= (cap >> attempt)) step = base << attempt;
    std::uniform_int_distribution<std::int64_t> jitter(step / 2, step);
    return std::chrono::milliseconds(jitter(rng));
}

}  // namespace sshcert
