// SPDX-License-Identifier: Apache-2.0
// The ssh-agent wire protocol (RFC 9987, formerly draft-miller-ssh-agent):
// framing, request decoding and reply encoding. Pure functions over bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "framing.hpp"
#include "result.hpp"
#include "ssh_wire.hpp"

namespace sshcert::agent {

enum class MsgType : std::uint8_t {
    Failure = 5,
    Success = 6,
    RequestIdentities = 11,
    IdentitiesAnswer = 12,
    SignRequest = 13,
    SignResponse = 14,
    Extension = 27,
    ExtensionFailure = 28,
    ExtensionResponse = 29,
};

/// Sign request flags (RFC 9987 section 4.5.1); ignored for non-RSA keys.
inline constexpr std::uint32_t kFlagRsaSha2_256 = 0x02;
inline constexpr std::uint32_t kFlagRsaSha2_512 = 0x04;


struct RequestIdentities {};
struct SignRequest {
    wire::Bytes key_blob;
    wire::Bytes data;
    std::uint32_t flags = 0;
};
struct ExtensionRequest {
    std::string name;
    wire::Bytes contents;
};
/// A message type we do not implement (answered with FAILURE).
struct UnsupportedRequest {
    std::uint8_t type;
};
using Request = std::variant<RequestIdentities, SignRequest, ExtensionRequest, UnsupportedRequest>;

/// Decodes one message body (type byte included, length prefix excluded).
/// Malformed input yields Errc::InvalidMessage; unknown types are not errors.
Result<Request> decode_request(wire::ByteView body);

struct Identity {
    wire::Bytes key_blob;
    std::string comment;
};

/// OpenSSH's session-bind@openssh.com extension (PROTOCOL.agent section 1).
inline constexpr std::string_view kSessionBind = "session-bind@openssh.com";
inline constexpr std::string_view kQuery = "query";
/// OpenSSH's AGENT_MAX_SID_LEN: an exchange hash is at most 64 bytes; 128 leaves room.
inline constexpr std::size_t kMaxSessionIdBytes = 128;
/// OpenSSH's AGENT_MAX_SESSION_IDS: bindings recorded per connection (hops of forwarding).
inline constexpr std::size_t kMaxSessionBindings = 16;

struct SessionBind {
    wire::Bytes host_key;    ///< the server's host key blob
    wire::Bytes session_id;  ///< the exchange hash of the initial key exchange
    wire::Bytes signature;   ///< the server's signature of session_id with host_key
    bool is_forwarding = false;
};
/// Decodes the contents of a session-bind extension request (after the name).
Result<SessionBind> decode_session_bind(wire::ByteView contents);

/// Replies, each a complete frame (length prefix included).
wire::Bytes encode_failure();
/// SSH_AGENT_EXTENSION_FAILURE: the extension is known but its request failed.
wire::Bytes encode_extension_failure();
/// The reply to the "query" extension: the names of the extensions we support.
wire::Bytes encode_query_response(const std::vector<std::string_view>& extensions);
wire::Bytes encode_success();
wire::Bytes encode_identities(const std::vector<Identity>& ids);
wire::Bytes encode_sign_response(wire::ByteView signature_blob);

/// Requests, each a complete frame; used by tests, benchmarks and the fuzz corpus.
wire::Bytes encode_request_identities();
wire::Bytes encode_sign_request(wire::ByteView key_blob, wire::ByteView data, std::uint32_t flags);
wire::Bytes encode_extension_request(std::string_view name, wire::ByteView contents);

/// Parses an IDENTITIES_ANSWER body (client side of the protocol).
Result<std::vector<Identity>> decode_identities(wire::ByteView body);

}  // namespace sshcert::agent
