// SPDX-License-Identifier: Apache-2.0
// known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT") read backwards:
// from the host key a server proved it holds to the names the user knows it
// by, so agent.sock can offer only the certificates of the profiles for that
// host. Lines come from the user's files, but the host key and certificate
// come from the server: both are untrusted input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ssh_wire.hpp"

namespace sshcert::known_hosts {

enum class Marker { None, CertAuthority, Revoked };

struct Entry {
    Marker marker = Marker::None;
    std::string hosts;  ///< comma-separated patterns, or one hashed name "|1|salt|hash"
    wire::Bytes key;    ///< the public key blob
};

/// The entries of known_hosts text. Lines that do not parse are skipped, as ssh skips them.
std::vector<Entry> parse(std::string_view text);

/// Whether `host` (a name, or "[name]:port") matches an entry's host field: a hashed
/// name (HMAC-SHA1 of the name keyed with the salt) or patterns with '*', '?' and '!'.
bool host_matches(std::string_view hosts, std::string_view host);

/// The names the host holding `host_key` is known by, as ssh would accept it:
///  - a plain key: the literal names of the entries with that key ("[name]:port" as name),
///    and those of `candidates` that an entry with that key matches (hashed or wildcard);
///  - a host certificate valid at `now` and signed by its CA: its principals that an
///    @cert-authority entry for that CA matches; otherwise its key as a plain key, as ssh
///    falls back to it.
/// Nothing for a key (or CA) marked @revoked.
std::vector<std::string> names_for_key(const std::vector<Entry>& entries, wire::ByteView host_key,
                                       const std::vector<std::string>& candidates, std::uint64_t now);

/// The entries of each regular file that exists, in order; files over `max_bytes` or unreadable are left out.
std::vector<Entry> read_files(const std::vector<std::string>& paths, std::size_t max_bytes = 4u << 20);

}  // namespace sshcert::known_hosts
