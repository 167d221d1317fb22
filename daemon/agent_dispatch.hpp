// SPDX-License-Identifier: Apache-2.0
// The ssh-agent request handler: one message body in, one reply frame out.
// No sockets here, so unit tests and fuzz targets call it directly.
#pragma once

#include <vector>

#include "agent_codec.hpp"
#include "result.hpp"

namespace sshcert {

/// The identities an agent serves and the signing it can do with them.
class AgentKeys {
public:
    virtual ~AgentKeys() = default;
    virtual std::vector<agent::Identity> identities() = 0;
    /// Signs with the key whose (certificate) blob is `key_blob`; NotFound when none is held.
    virtual Result<wire::Bytes> sign(wire::ByteView key_blob, wire::ByteView data, std::uint32_t flags) = 0;
};

/// Answers one request. Malformed, unknown and refused requests get FAILURE,
/// as ssh-agent does; the connection stays usable.
wire::Bytes handle_agent_message(AgentKeys& keys, wire::ByteView body);

}  // namespace sshcert
