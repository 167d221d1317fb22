// SPDX-License-Identifier: Apache-2.0
// Length-prefixed framing shared by the agent and control protocols: a
// 4-byte big-endian length, then that many bytes.
#pragma once

#include <cstddef>

#include "ssh_wire.hpp"

namespace sshcert {

/// Where the next frame in a connection's input buffer stands.
struct FrameCheck {
    enum class Kind {
        NeedMore,  ///< not all of the frame has arrived yet
        Complete,  ///< `body_size` bytes after the 4-byte length are the message
        Empty,     ///< a zero-length frame: reply with an error and drop its 4 bytes
        TooLarge,  ///< the length exceeds the limit: close the connection
    } kind;
    std::size_t body_size = 0;
};

/// Checks the length prefix before anything is buffered beyond it.
inline FrameCheck check_frame(wire::ByteView buffered, std::size_t max_body) {
    if (buffered.size() < 4) return {FrameCheck::Kind::NeedMore};
    std::size_t len = wire::load_be32(buffered.data());
    if (len == 0) return {FrameCheck::Kind::Empty};
    if (len > max_body) return {FrameCheck::Kind::TooLarge, len};
    if (buffered.size() - 4 < len) return {FrameCheck::Kind::NeedMore, len};
    return {FrameCheck::Kind::Complete, len};
}

/// Prefixes a body with its length.
inline wire::Bytes encode_frame(wire::ByteView body) {
    wire::Writer w;
    w.string(body);
    return w.take();
}

}  // namespace sshcert
