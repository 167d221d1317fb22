// SPDX-License-Identifier: Apache-2.0
#include "known_hosts.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "host_match.hpp"
#include "ssh_cert.hpp"
#include "ssh_verify.hpp"

namespace sshcert::known_hosts {

namespace {

constexpr std::string_view kHashMagic = "|1|";

std::string_view next_field(std::string_view& rest) {
    auto start = rest.find_first_not_of(" \t");
    if (start == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(start);
    auto end = rest.find_first_of(" \t");
    auto field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    return field;
}

/// "|1|salt|hash" against `host`: ssh's HASH_MAGIC format, HMAC-SHA1 keyed with the salt.
bool hashed_matches(std::string_view field, std::string_view host) {
    field.remove_prefix(kHashMagic.size());
    auto bar = field.find('|');
    if (bar == std::string_view::npos) return false;
    wire::Bytes salt, hash;
    if (!wire::base64_decode(field.substr(0, bar), salt) || !wire::base64_decode(field.substr(bar + 1), hash)) return false;
    if (salt.size() != 20 || hash.size() != 20) return false;  // SHA-1 sized, as ssh writes them
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(host.data()),
              host.size(), mac, &mac_len))
        return false;
    return mac_len == hash.size() && std::equal(hash.begin(), hash.end(), mac);
}

/// A pattern that names one host: no wildcard, no negation; "[name]:port" gives the name.
std::optional<std::string> literal_name(std::string_view pattern) {
    if (pattern.empty() || pattern.find_first_of("*?!") != std::string_view::npos) return std::nullopt;
    if (pattern.front() == '[') {
        auto close = pattern.find("]:");
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        return std::string(pattern.substr(1, close - 1));
    }
    return std::string(pattern);
}

void add_unique(std::vector<std::string>& names, std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
}

bool revoked(const std::vector<Entry>& entries, wire::ByteView key) {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const Entry& e) { return e.marker == Marker::Revoked && std::ranges::equal(e.key, key); });
}

std::vector<std::string> names_for_plain_key(const std::vector<Entry>& entries, wire::ByteView key,
                                             const std::vector<std::string>& candidates) {
    std::vector<std::string> names;
    for (const auto& e : entries) {
        if (e.marker != Marker::None || !std::ranges::equal(e.key, key)) continue;
        if (!e.hosts.starts_with(kHashMagic))
            for (const auto& pattern : config::split_list(e.hosts))
                if (auto name = literal_name(pattern)) add_unique(names, *name);
        for (const auto& c : candidates)
            if (host_matches(e.hosts, c)) add_unique(names, c);
    }
    return names;
}

}  // namespace

std::vector<Entry> parse(std::string_view text) {
    std::vector<Entry> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view rest = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        Entry e;
        auto first = next_field(rest);
        if (first.empty() || first.front() == '#') continue;
        if (first.front() == '@') {
            if (first == "@cert-authority") e.marker = Marker::CertAuthority;
            else if (first == "@revoked") e.marker = Marker::Revoked;
            else continue;  // a marker we do not know: ssh skips the line
            first = next_field(rest);
            if (first.empty()) continue;
        }
        e.hosts = std::string(first);
        auto key = parse_key_line(rest);
        if (!key) continue;
        e.key = std::move(key->blob);
        out.push_back(std::move(e));
    }
    return out;
}

bool host_matches(std::string_view hosts, std::string_view host) {
    if (hosts.starts_with(kHashMagic)) return hashed_matches(hosts, host);
    return config::match_host(config::split_list(hosts), host);
}

std::vector<std::string> names_for_key(const std::vector<Entry>& entries, wire::ByteView host_key,
                                       const std::vector<std::string>& candidates, std::uint64_t now) {
    if (revoked(entries, host_key)) return {};
    auto cert = parse_certificate(host_key);
    if (!cert) return names_for_plain_key(entries, host_key, candidates);
    if (revoked(entries, cert->public_key)) return {};
    std::vector<std::string> names;
    bool trusted = cert->type == CertType::Host && cert->valid_at(now) && !revoked(entries, cert->signature_key) &&
                   verify_ssh_signature(cert->signature_key, cert->signature, host_key.first(cert->signed_length));
    if (trusted)
        for (const auto& e : entries)
            if (e.marker == Marker::CertAuthority && std::ranges::equal(e.key, cert->signature_key))
                for (const auto& principal : cert->principals)
                    if (host_matches(e.hosts, principal)) add_unique(names, principal);
    return names.empty() ? names_for_plain_key(entries, cert->public_key, candidates) : names;
}

std::vector<Entry> read_files(const std::vector<std::string>& paths, std::size_t max_bytes) {
    std::vector<Entry> out;
    for (const auto& path : paths) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) continue;  // a FIFO would hold the event loop
        std::ifstream in(path, std::ios::binary);
        if (!in) continue;
        std::string text;
        char chunk[65536];
        while (text.size() <= max_bytes && in.read(chunk, sizeof chunk).gcount() > 0) text.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes) continue;
        auto entries = parse(text);
        std::move(entries.begin(), entries.end(), std::back_inserter(out));
    }
    return out;
}

}  // namespace sshcert::known_hosts
