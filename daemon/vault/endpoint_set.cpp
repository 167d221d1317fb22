// SPDX-License-Identifier: Apache-2.0
#include "endpoint_set.hpp"

#include <algorithm>

#include "vault_error.hpp"

namespace sshcert {

namespace {
/// The scheme of an http(s) URL, lower-cased; empty for anything else.
std::string scheme_of(std::string_view url) {
    auto colon = url.find("://");
    if (colon == std::string_view::npos) return {};
    std::string s(url.substr(0, colon));
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s == "http" || s == "https" ? s : std::string();
}

Error bad(std::string message) { return Error{Errc::VaultBadResponse, std::move(message)}; }
}  // namespace

EndpointSet::EndpointSet(std::vector<std::string> addresses) : addresses_(std::move(addresses)) {
    if (addresses_.empty()) addresses_.emplace_back();  // refused by the client as "not an http(s) URL"
    for (auto& a : addresses_)
        while (!a.empty() && a.back() == '/') a.pop_back();
}

std::string EndpointSet::origin(std::string_view url) {
    auto colon = url.find("://");
    std::size_t host = colon == std::string_view::npos ? 0 : colon + 3;
    return std::string(url.substr(0, url.find_first_of("/?#", host)));
}

Result<std::string> EndpointSet::redirect_target(const std::string& from_url, const std::string& location) {
    const std::string from = origin(from_url);
    std::string_view loc = location;
    while (!loc.empty() && (loc.front() == ' ' || loc.front() == '\t')) loc.remove_prefix(1);
    while (!loc.empty() && (loc.back() == ' ' || loc.back() == '\t')) loc.remove_suffix(1);
    if (loc.empty()) return bad("Vault at " + from + " sent a redirect without a Location");
    // A URL is printable ASCII; anything else would be escaped differently by every library.
    if (std::any_of(loc.begin(), loc.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7F; }))
        return bad("Vault at " + from + " sent a redirect to an invalid URL '" + sanitize_vault_text(loc) + "'");
    std::string target;
    if (loc.front() == '/' && !loc.starts_with("//")) {
        target = from + std::string(loc);
    } else {
        std::string scheme = scheme_of(loc);
        if (scheme.empty() || origin(loc).size() <= scheme.size() + 3)
            return bad("Vault at " + from + " redirected to '" + std::string(loc) + "', which is not an http(s) URL");
        target = std::string(loc);
    }
    if (scheme_of(from_url) == "https" && scheme_of(target) != "https")
        return bad("Vault at " + from + " redirected to " + origin(target) +
                   ", which would send the request without TLS; refusing the downgrade (set VAULT_ADDR to the active "
                   "node's https:// address)");
    return target;
}

}  // namespace sshcert
