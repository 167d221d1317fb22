// SPDX-License-Identifier: Apache-2.0
// Every bound on what we accept from a peer, with the reason for its size.
#pragma once

#include <chrono>
#include <cstddef>

namespace sshcert::limits {

/// OpenSSH's AGENT_MAX_LEN: ssh and ssh-add never send more, so neither do we, in either direction.
inline constexpr std::size_t kMaxAgentMessageBytes = 256 * 1024;
/// OpenSSH's AGENT_RBUF_LEN: bytes read per call, so a flood is consumed in small steps.
inline constexpr std::size_t kReadChunkBytes = 4096;
/// Control requests are small JSON objects; 64 KiB leaves room for a dozen CA keys in a reply.
inline constexpr std::size_t kMaxControlMessageBytes = 64 * 1024;
/// Replies may list every certificate held (status: ~600 bytes each, up to CertCache::kMaxHeld).
inline constexpr std::size_t kMaxControlReplyBytes = 4 * 1024 * 1024;
/// Vault answers for sign, login and lookup are a few KiB; 1 MiB stops a runaway server.
inline constexpr std::size_t kMaxVaultResponseBytes = 1024 * 1024;
/// Per-socket cap on live connections; far above what one user's ssh sessions need, within reach of a
/// script fanning out to hundreds of hosts (harden_process raises the descriptor limit to hold them). At
/// the cap the connection that has waited longest for a request is closed to make room, so idle holders
/// never lock clients out.
inline constexpr std::size_t kMaxConnections = 1024;
/// A control client that sends nothing for this long between requests is dropped (a login waits on Vault, not on the client).
inline constexpr std::chrono::seconds kControlIdleTimeout{60};
/// An agent connection idle this long between requests is closed; ssh keeps its agent connection only while authenticating.
inline constexpr std::chrono::minutes kAgentIdleTimeout{10};
/// Once the first byte of a frame arrives, the whole frame must arrive within this, and a reply must be taken
/// by the client within it: ssh, ssh-add and sshcert write a request and read its reply in one go, so only a
/// stuck or hostile client (one byte every few seconds, or never reading) takes longer. Both sockets.
inline constexpr std::chrono::seconds kMessageDeadline{10};
/// Accepting pauses this long when the process is out of descriptors or memory, doubling up to the maximum;
/// a connection of ours closing resumes it at once.
inline constexpr std::chrono::milliseconds kAcceptRetryFirst{100};
inline constexpr std::chrono::milliseconds kAcceptRetryMax{1000};
/// Principals in one certificate; Vault and OpenSSH accept many, but 256 is far beyond real roles.
inline constexpr std::size_t kMaxCertPrincipals = 256;

}  // namespace sshcert::limits
