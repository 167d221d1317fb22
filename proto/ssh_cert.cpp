// SPDX-License-Identifier: Apache-2.0
#include "ssh_cert.hpp"

#include <array>
#include <string_view>

#include "limits.hpp"

namespace sshcert {

namespace {

constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";

Error bad_cert(std::string what) {
    return Error{Errc::InvalidMessage, "malformed SSH certificate: " + std::move(what)};
}

/// Reads the type-specific public fields of the certified key; returns false
/// for key types we do not know.
bool skip_public_fields(std::string_view key_type, wire::Reader& r) {
    if (key_type == "ssh-ed25519") {
        r.string();
    } else if (key_type.starts_with("ecdsa-sha2-")) {
        r.string();  // curve name
        r.string();  // point
    } else if (key_type == "ssh-rsa") {
        r.string();  // e
        r.string();  // n
    } else {
        return false;
    }
    return true;
}

/// Decodes a critical-options or extensions section: (name, data) pairs where
/// data, when present, is itself a string.
bool parse_options(wire::ByteView section, std::vector<std::pair<std::string, std::string>>& out) {
    wire::Reader r(section);
    while (r.ok() && !r.at_end()) {
        auto name = r.string_view();
        auto data = r.string();
        if (!r.ok()) return false;
        std::string value;
        if (!data.empty()) {
            wire::Reader inner(data);
            value = std::string(inner.string_view());
            if (!inner.ok() || !inner.at_end()) return false;
        }
        out.emplace_back(std::string(name), std::move(value));
    }
    return r.ok();
}

}  // namespace

Result<Certificate> parse_certificate(wire::ByteView blob) {
    wire::Reader r(blob);
    Certificate c;
    c.cert_key_type = std::string(r.string_view());
    if (!r.ok()) return bad_cert("no key type");
    if (!c.cert_key_type.ends_with(kCertSuffix)) return bad_cert("'" + c.cert_key_type + "' is not a certificate type");
    c.key_type = c.cert_key_type.substr(0, c.cert_key_type.size() - kCertSuffix.size());

    r.string();  // nonce
    std::size_t fields_start = blob.size() - r.remaining();
    if (!skip_public_fields(c.key_type, r)) return bad_cert("unsupported key type '" + c.key_type + "'");
    std::size_t fields_end = blob.size() - r.remaining();

    c.serial = r.u64();
    std::uint32_t type = r.u32();
    c.key_id = std::string(r.string_view());
    auto principals = r.string();
    c.valid_after = r.u64();
    c.valid_before = r.u64();
    auto critical = r.string();
    auto extensions = r.string();
    r.string();  // reserved
    auto sig_key = r.string();
    auto signature = r.string();
    if (!r.ok()) return bad_cert("truncated");
    if (!r.at_end()) return bad_cert("trailing bytes");

    if (type != 1 && type != 2) return bad_cert("unknown certificate type " + std::to_string(type));
    c.type = static_cast<CertType>(type);
    if (c.valid_after > c.valid_before) return bad_cert("valid_after is later than valid_before");

    wire::Reader pr(principals);
    while (pr.ok() && !pr.at_end()) {
        if (c.principals.size() == limits::kMaxCertPrincipals) return bad_cert("too many principals");
        auto p = pr.string_view();
        if (pr.ok()) c.principals.emplace_back(p);
    }
    if (!pr.ok()) return bad_cert("bad principals list");
    if (!parse_options(critical, c.critical_options)) return bad_cert("bad critical options");
    if (!parse_options(extensions, c.extensions)) return bad_cert("bad extensions");

    wire::Reader sr(signature);
    c.signature_type = std::string(sr.string_view());
    sr.string();
    if (!sr.ok() || c.signature_type.empty()) return bad_cert("bad signature");
    if (sig_key.empty()) return bad_cert("no signature key");
    c.signature_key.assign(sig_key.begin(), sig_key.end());
    c.signature.assign(signature.begin(), signature.end());
    c.signed_length = blob.size() - 4 - signature.size();

    wire::Writer pub;
    pub.string(c.key_type);
    pub.raw(blob.subspan(fields_start, fields_end - fields_start));
    c.public_key = pub.take();
    return c;
}

Result<KeyLine> parse_key_line(std::string_view line) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
            s.remove_suffix(1);
        return s;
    };
    line = trim(line);
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) return Error{Errc::InvalidMessage, "not an SSH public key line (expected 'type base64')"};
    KeyLine k;
    k.type = std::string(line.substr(0, sp));
    auto rest = trim(line.substr(sp + 1));
    auto sp2 = rest.find_first_of(" \t");
    auto b64 = rest.substr(0, sp2);
    if (sp2 != std::string_view::npos) k.comment = std::string(trim(rest.substr(sp2 + 1)));
    if (!wire::base64_decode(b64, k.blob)) return Error{Errc::InvalidMessage, "SSH public key is not valid base64"};
    wire::Reader r(k.blob);
    if (r.string_view() != k.type || !r.ok())
        return Error{Errc::InvalidMessage, "SSH public key type '" + k.type + "' does not match its encoded data"};
    return k;
}

Result<KeyLine> parse_public_key_line(std::string_view line) {
    auto k = parse_key_line(line);
    if (!k) return k;
    if (k->type.ends_with(kCertSuffix))
        return Error{Errc::InvalidMessage, "'" + k->type + "' is a certificate, not a public key"};
    wire::Reader r(k->blob);
    r.string();  // the type, checked by parse_key_line
    if (!skip_public_fields(k->type, r))
        return Error{Errc::InvalidMessage, "unsupported key type '" + k->type + "' (use ssh-ed25519, ecdsa-sha2-* or ssh-rsa)"};
    if (!r.ok() || !r.at_end()) return Error{Errc::InvalidMessage, "malformed " + k->type + " public key (truncated or with extra bytes)"};
    return k;
}

std::string format_key_line(wire::ByteView blob, std::string_view comment) {
    wire::Reader r(blob);
    std::string line(r.string_view());
    line += ' ';
    line += wire::base64_encode(blob);
    if (!comment.empty()) {
        line += ' ';
        line += comment;
    }
    return line;
}

}  // namespace sshcert
