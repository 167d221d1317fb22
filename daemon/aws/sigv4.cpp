// SPDX-License-Identifier: Apache-2.0
#include "sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

namespace sshcert::aws {
namespace {

using Digest = std::array<unsigned char, 32>;

/// An HMAC-SHA256 result that is itself a key (the derived signing keys): wiped when done.
struct DerivedKey {
    Digest bytes{};
    ~DerivedKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

void hmac(const void* key, std::size_t key_len, std::string_view data, Digest& out) {
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, static_cast<int>(key_len), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         out.data(), &len);
}

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += kDigits[p[i] >> 4];
        out += kDigits[p[i] & 0xF];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Digest d{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
    return hex(d.data(), d.size());
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Trimmed, with every run of white space (folded lines included) made one space.
std::string canonical_header_value(std::string_view v) {
    std::string out;
    bool pending_space = false;
    for (char c : v) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string uri_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        int hi = 0, lo = 0;
        if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

/// RFC 3986 dot-segment removal, with empty segments (repeated slashes) dropped too.
std::string normalized_path(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = std::min(path.find('/', start), path.size());
        std::string_view seg = path.substr(start, end - start);
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (!seg.empty() && seg != ".") {
            segments.push_back(seg);
        }
        start = end + 1;
    }
    std::string out;
    for (auto seg : segments) (out += '/') += seg;
    if (out.empty()) return "/";
    if (path.ends_with('/')) out += '/';
    return out;
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> params;
    std::size_t start = 0;
    while (start <= query.size()) {
        std::size_t end = std::min(query.find('&', start), query.size());
        std::string_view part = query.substr(start, end - start);
        if (!part.empty()) {
            std::size_t eq = part.find('=');
            std::string_view k = part.substr(0, eq);
            std::string_view v = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
            params.emplace_back(uri_encode(uri_decode(k), false), uri_encode(uri_decode(v), false));
        }
        start = end + 1;
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty()) out += '&';
        out += k + "=" + v;
    }
    return out;
}

struct CanonicalHeaders {
    std::string block;   ///< "name:value\n" per header, sorted
    std::string names;   ///< "host;x-amz-date"
};

CanonicalHeaders canonical_headers(const Request& req) {
    std::map<std::string, std::string> joined;  // sorted by lowercase name; repeats joined with ',' in order
    for (const auto& [name, value] : req.headers) {
        auto [it, fresh] = joined.try_emplace(lower(name));
        if (!fresh) it->second += ',';
        it->second += canonical_header_value(value);
    }
    CanonicalHeaders out;
    for (const auto& [name, value] : joined) {
        out.block += name + ":" + value + "\n";
        if (!out.names.empty()) out.names += ';';
        out.names += name;
    }
    return out;
}

bool has_header(const Request& req, std::string_view name) {
    return std::any_of(req.headers.begin(), req.headers.end(), [&](const auto& h) { return lower(h.first) == name; });
}

std::string credential_scope(const Scope& scope) {
    return amz_date(scope.time).substr(0, 8) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

/// Canonical request, string to sign and signature over the request as it stands.
Signed compute(const Request& req, std::string_view signed_names, std::string_view header_block, const Credentials& creds,
               const Scope& scope, const Options& options) {
    Signed s;
    std::string path = options.normalize_path ? normalized_path(req.path) : req.path;
    s.canonical_request = req.method + "\n" + uri_encode(path, true) + "\n" + canonical_query(req.query) + "\n" +
                          std::string(header_block) + "\n" + std::string(signed_names) + "\n" + sha256_hex(req.body);
    std::string date = amz_date(scope.time);
    s.string_to_sign = "AWS4-HMAC-SHA256\n" + date + "\n" + credential_scope(scope) + "\n" + sha256_hex(s.canonical_request);

    SecretString secret{"AWS4" + std::string(creds.secret_access_key.reveal())};
    DerivedKey k_date, k_region, k_service, k_signing;
    hmac(secret.reveal().data(), secret.reveal().size(), date.substr(0, 8), k_date.bytes);
    hmac(k_date.bytes.data(), k_date.bytes.size(), scope.region, k_region.bytes);
    hmac(k_region.bytes.data(), k_region.bytes.size(), scope.service, k_service.bytes);
    hmac(k_service.bytes.data(), k_service.bytes.size(), "aws4_request", k_signing.bytes);
    Digest sig{};
    hmac(k_signing.bytes.data(), k_signing.bytes.size(), s.string_to_sign, sig);
    s.signature = hex(sig.data(), sig.size());
    return s;
}

void add_query_param(Request& req, std::string_view name, std::string_view value) {
    if (!req.query.empty()) req.query += '&';
    req.query += std::string(name) + "=" + uri_encode(value, false);
}

}  // namespace

std::string amz_date(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[17];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kDigits[c >> 4];
            out += kDigits[c & 0xF];
        }
    }
    return out;
}

Signed sign_with_header(Request& req, const Credentials& creds, const Scope& scope, const Options& options) {
    if (!has_header(req, "x-amz-date")) req.headers.emplace_back("X-Amz-Date", amz_date(scope.time));
    bool token = !creds.session_token.empty();
    if (token && options.sign_session_token)
        req.headers.emplace_back("X-Amz-Security-Token", std::string(creds.session_token.reveal()));
    if (options.content_sha256_header) req.headers.emplace_back("x-amz-content-sha256", sha256_hex(req.body));

    CanonicalHeaders h = canonical_headers(req);
    Signed s = compute(req, h.names, h.block, creds, scope, options);
    req.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" +
                                                  credential_scope(scope) + ", SignedHeaders=" + h.names +
                                                  ", Signature=" + s.signature);
    if (token && !options.sign_session_token)
        req.headers.emplace_back("X-Amz-Security-Token", std::string(creds.session_token.reveal()));
    return s;
}

Signed sign_with_query(Request& req, const Credentials& creds, const Scope& scope, std::chrono::seconds expires,
                       const Options& options) {
    CanonicalHeaders h = canonical_headers(req);
    bool token = !creds.session_token.empty();
    add_query_param(req, "X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    add_query_param(req, "X-Amz-Credential", creds.access_key_id + "/" + credential_scope(scope));
    add_query_param(req, "X-Amz-Date", amz_date(scope.time));
    add_query_param(req, "X-Amz-Expires", std::to_string(expires.count()));
    if (token && options.sign_session_token) add_query_param(req, "X-Amz-Security-Token", creds.session_token.reveal());
    add_query_param(req, "X-Amz-SignedHeaders", h.names);

    Signed s = compute(req, h.names, h.block, creds, scope, options);
    add_query_param(req, "X-Amz-Signature", s.signature);
    if (token && !options.sign_session_token) add_query_param(req, "X-Amz-Security-Token", creds.session_token.reveal());
    return s;
}

}  // namespace sshcert::aws
