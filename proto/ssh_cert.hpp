// SPDX-License-Identifier: Apache-2.0
// OpenSSH certificates (PROTOCOL.certkeys): parsing from untrusted bytes and
// authorized_keys lines, for the daemon (checking what Vault returned) and
// for status output.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "result.hpp"
#include "ssh_wire.hpp"

namespace sshcert {

enum class CertType : std::uint32_t { User = 1, Host = 2 };

struct Certificate {
    std::string cert_key_type;  ///< e.g. "ssh-ed25519-cert-v01@openssh.com"
    std::string key_type;       ///< the certified key's own type, e.g. "ssh-ed25519"
    wire::Bytes public_key;     ///< the certified key as a plain public key blob
    std::uint64_t serial = 0;
    CertType type = CertType::User;
    std::string key_id;
    std::vector<std::string> principals;
    std::uint64_t valid_after = 0;   ///< Unix seconds
    std::uint64_t valid_before = 0;  ///< Unix seconds; UINT64_MAX means forever
    std::vector<std::pair<std::string, std::string>> critical_options;
    std::vector<std::pair<std::string, std::string>> extensions;
    wire::Bytes signature_key;  ///< the CA's public key blob
    std::string signature_type; ///< e.g. "ssh-ed25519", "rsa-sha2-256"
    wire::Bytes signature;      ///< the CA's signature blob (string algorithm, string signature)
    std::size_t signed_length = 0;  ///< the CA signed the blob's first signed_length bytes

    /// True while now lies in [valid_after, valid_before).
    bool valid_at(std::uint64_t now) const { return now >= valid_after && now < valid_before; }
};

/// Parses a certificate blob (the base64-decoded middle field of a cert line).
Result<Certificate> parse_certificate(wire::ByteView blob);

/// Splits an authorized_keys style line "type base64 [comment]" into the
/// type and the decoded blob; rejects a line whose type and blob disagree.
struct KeyLine {
    std::string type;
    wire::Bytes blob;
    std::string comment;
};
Result<KeyLine> parse_key_line(std::string_view line);

/// parse_key_line for a key that is to be trusted (a CA key): only a plain
/// public key of a type we know (Ed25519, ECDSA, RSA) whose blob holds exactly
/// that key's fields; certificates and anything truncated are refused.
Result<KeyLine> parse_public_key_line(std::string_view line);

/// "type base64" for a blob whose first field is its type.
std::string format_key_line(wire::ByteView blob, std::string_view comment = {});

/// OpenSSH-style fingerprint, "SHA256:<unpadded base64>".
std::string fingerprint_sha256(wire::ByteView key_blob);

}  // namespace sshcert
