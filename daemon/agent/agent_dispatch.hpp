// SPDX-License-Identifier: Apache-2.0
// The ssh-agent request handler: one message body in, one reply frame out.
// No sockets here, so unit tests and fuzz targets call it directly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent_codec.hpp"
#include "result.hpp"

namespace sshcert {

/// What the agent knows about one client connection.
struct AgentSession {
    std::uint64_t id = 0;
    std::optional<std::string> profile;  ///< on a per-profile socket: serve only this profile
    struct Binding {
        wire::Bytes host_key;
        wire::Bytes session_id;
        bool forwarding = false;
    };
    std::vector<Binding> bindings;       ///< verified session-bind@openssh.com records, oldest first
    /// The names of the host this connection authenticates to (its binding for authentication),
    /// from known_hosts or its host certificate; empty while bound to none or when not known.
    std::vector<std::string> host_names;
    std::vector<const void*> served;     ///< identities that signed on this connection (for status counts)
};

/// The identities an agent serves and the signing it can do with them.
class AgentKeys {
public:
    virtual ~AgentKeys() = default;
    virtual std::vector<agent::Identity> identities(const AgentSession& session) = 0;
    /// Signs with the key whose (certificate) blob is `key_blob`; NotFound when none is served here.
    virtual Result<wire::Bytes> sign(AgentSession& session, wire::ByteView key_blob, wire::ByteView data,
                                     std::uint32_t flags) = 0;
    /// The names the host holding `host_key` is known by; none when it is not known.
    virtual std::vector<std::string> host_names(wire::ByteView /*host_key*/) { return {}; }
};

/// Answers one request. Malformed, unknown and refused requests get FAILURE,
/// as ssh-agent does; the connection stays usable.
wire::Bytes handle_agent_message(AgentKeys& keys, AgentSession& session, wire::ByteView body);

/// Records a session binding after verifying the server's signature, with
/// OpenSSH's rules: no rebinding after a binding for authentication, no
/// session identifier under two host keys, at most kMaxSessionBindings.
Status bind_session(AgentSession& session, const agent::SessionBind& bind);

/// Encodes an identities answer, leaving out identities that would push it
/// past the 256 KiB message limit (ssh would refuse the whole answer).
wire::Bytes encode_identities_within_limit(const std::vector<agent::Identity>& ids);

}  // namespace sshcert
