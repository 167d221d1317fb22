// SPDX-License-Identifier: Apache-2.0
#include "vault_error.hpp"

#include "vault_decode.hpp"

namespace sshcert {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026
constexpr char32_t kInvalid = 0xFFFFFFFF;

struct CodePoint {
    char32_t value;
    std::size_t length;
};

/// The UTF-8 sequence at s[i]; kInvalid (length 1) for a stray, truncated, overlong or surrogate one.
CodePoint decode_utf8(std::string_view s, std::size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return {c, 1};
    std::size_t len = 0;
    char32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return {kInvalid, 1};
    if (s.size() - i < len) return {kInvalid, 1};
    for (std::size_t k = 1; k < len; ++k) {
        auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return {kInvalid, 1};
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {kInvalid, 1};
    return {cp, len};
}

/// Bytes after an escape introducer that belong to it: a CSI's parameters and final byte, or an
/// OSC/DCS/APC/PM/SOS string up to BEL or ST. `csi` and `string` say which one was introduced.
std::size_t skip_sequence(std::string_view s, std::size_t i, bool csi, bool string) {
    if (csi) {
        while (i < s.size() && static_cast<unsigned char>(s[i]) >= 0x20 && static_cast<unsigned char>(s[i]) <= 0x3F) ++i;
        while (i < s.size() && static_cast<unsigned char>(s[i]) >= 0x20 && static_cast<unsigned char>(s[i]) <= 0x2F) ++i;
        if (i < s.size() && static_cast<unsigned char>(s[i]) >= 0x40 && static_cast<unsigned char>(s[i]) <= 0x7E) ++i;
        return i;
    }
    if (string) {
        while (i < s.size()) {
            if (s[i] == '\a') return i + 1;
            if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '\\') return i + 2;
            if (s[i] == '\x1b') return i;  // another sequence starts: let it be handled as one
            ++i;
        }
    }
    return i;
}

/// Right-to-left overrides and isolates can make a terminal show text in another order than it is.
bool is_bidi_control(char32_t cp) { return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069); }

std::string with_detail(std::string message, const std::string& detail) {
    return detail.empty() ? message : message + ": " + detail;
}

bool looks_like_json(const HttpReply& reply) { return reply.content_type.find("json") != std::string::npos; }

}  // namespace

std::string sanitize_vault_text(std::string_view text) {
    std::string out;
    out.reserve(std::min(text.size(), kMaxVaultTextBytes) + kEllipsis.size());
    for (std::size_t i = 0; i < text.size() && out.size() <= kMaxVaultTextBytes;) {
        auto [cp, len] = decode_utf8(text, i);
        std::size_t start = i;
        i += len;
        if (cp == 0x1B) {  // ESC: drop the whole sequence, not just its first byte
            char next = i < text.size() ? text[i] : '\0';
            bool csi = next == '[';
            bool string = next == ']' || next == 'P' || next == 'X' || next == '^' || next == '_';
            if (csi || string) i = skip_sequence(text, i + 1, csi, string);
            else if (next >= 0x20 && next <= 0x7E) ++i;
            continue;
        }
        if (cp == 0x9B || cp == 0x9D) {  // C1 CSI and OSC
            i = skip_sequence(text, i, cp == 0x9B, cp == 0x9D);
            continue;
        }
        if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f') {
            out += ' ';
        } else if (cp == kInvalid || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || is_bidi_control(cp)) {
            out += kReplacement;
        } else {
            out.append(text.substr(start, len));
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::size_t lead = out.find_first_not_of(' ');
    out.erase(0, lead == std::string::npos ? out.size() : lead);
    if (out.size() > kMaxVaultTextBytes) {
        std::size_t cut = kMaxVaultTextBytes - kEllipsis.size();
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // a code point boundary
        out.resize(cut);
        out += kEllipsis;
    }
    return out;
}

Error classify_vault_reply(const HttpReply& reply, const std::string& address) {
    std::string text = vault::error_text(reply.body.reveal());
    const long s = reply.status;
    const std::string at = "Vault at " + address;
    const std::string http = "HTTP " + std::to_string(s);
    auto error = [&](Errc code, std::string message) { return Error{code, std::move(message), text}; };

    // A proxy or another server answering: its body is not Vault's, so say so rather than guess.
    std::string not_vault;
    if (text.empty() && !reply.body.empty() && !looks_like_json(reply))
        not_vault = " (the reply was not Vault's JSON" +
                    (reply.content_type.empty() ? std::string() : ", but " + sanitize_vault_text(reply.content_type)) +
                    "; is VAULT_ADDR pointing at Vault?)";

    if (s == 403) {
        if (text.find("invalid token") != std::string::npos)
            return error(Errc::VaultDenied, at + " no longer accepts this token (" + text + "); log in again");
        return error(Errc::VaultDenied,
                     with_detail(at + " denied the request", text.empty() ? "permission denied" : text) + not_vault);
    }
    if (s == 503 && text.find("Vault is sealed") != std::string::npos)
        return error(Errc::VaultUnavailable, at + " is sealed; ask your Vault operator to unseal it");
    if (s == 429)
        return error(Errc::VaultUnavailable,
                     at + " is rate-limiting requests" + (text.empty() ? "" : " (" + text + ")") + "; try again in a moment");
    if (s >= 500 && s <= 599)
        return error(Errc::VaultUnavailable, with_detail(at + " failed with " + http, text) + not_vault);
    if (s == 404 && text.empty())
        return error(Errc::NotFound, at + " has nothing at that path (" + http + "); check the mount and role names" +
                                         not_vault);
    if (s >= 400 && s <= 499)
        return error(Errc::VaultRefused,
                     with_detail(at + " refused the request", text.empty() ? http : text) + not_vault);
    if (s >= 300 && s <= 399)
        return error(Errc::VaultBadResponse, at + " answered with a redirect (" + http +
                                                 ") that sshcert does not follow; is VAULT_ADDR the address Vault "
                                                 "advertises (https://, the right port)?");
    return error(Errc::VaultBadResponse, at + " answered with " + http + ", which is not an HTTP status Vault uses" +
                                             not_vault);
}

bool says_invalid_token(const Error& e) {
    return e.code == Errc::VaultDenied && e.detail.find("invalid token") != std::string::npos;
}

}  // namespace sshcert
