// SPDX-License-Identifier: Apache-2.0
// Vault's reply headers and error classification over arbitrary bytes. The input is
// lines: status, Retry-After, Location, Date, Content-Type, then the body. Checks the
// promises the callers rely on, not just the absence of crashes.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string_view>

#include "endpoint_set.hpp"
#include "http.hpp"
#include "retry_policy.hpp"
#include "vault_error.hpp"

namespace {
using namespace sshcert;

std::string_view next_line(std::string_view& in) {
    auto nl = in.find('\n');
    auto line = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    return line;
}

/// What sanitize_vault_text promises: bounded, valid UTF-8 without control characters.
void check_clean(const std::string& s) {
    if (s.size() > kMaxVaultTextBytes) std::abort();
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7F) std::abort();
    if (sanitize_vault_text(s) != s) std::abort();  // nothing left to replace: already valid and clean
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view status = next_line(in), retry_after = next_line(in), location = next_line(in),
                     date = next_line(in), content_type = next_line(in);

    const std::chrono::seconds cap{5};
    if (auto s = parse_retry_after(retry_after, cap, date); s && (s->count() < 0 || *s > cap)) std::abort();
    RetryPolicy policy;
    std::mt19937_64 rng(size);
    for (int attempt : {0, 3, 70}) {
        auto d = policy.delay(attempt, retry_after, rng, date);
        if (d.count() < 0 || d > std::max<std::chrono::milliseconds>(policy.max_delay, policy.max_retry_after)) std::abort();
    }
    // Four-digit years: 0000-01-01 to 9999-12-31 23:59:60.
    if (auto t = parse_http_date(date); t && (*t < -62167219200 || *t > 253402300800)) std::abort();

    for (const char* from : {"https://standby:8200/v1/sys/thing", "http://standby:8200/v1/sys/thing"}) {
        auto target = EndpointSet::redirect_target(from, std::string(location));
        if (!target) {
            check_clean(target.error().detail);
            continue;
        }
        std::string scheme = target->substr(0, 8);
        for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (std::string_view(from).starts_with("https://") && scheme != "https://") std::abort();  // never a downgrade
        (void)EndpointSet::origin(*target);
    }

    HttpReply reply;
    reply.status = std::strtol(std::string(status).c_str(), nullptr, 10);
    reply.retry_after = retry_after;
    reply.location = location;
    reply.date = date;
    reply.content_type = content_type;
    reply.body = SecretString(in);
    Error e = classify_vault_reply(reply, "https://vault:8200");
    if (e.message.empty()) std::abort();
    check_clean(e.detail);
    check_clean(sanitize_vault_text(in));
    return 0;
}
