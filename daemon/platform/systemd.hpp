// SPDX-License-Identifier: Apache-2.0
// What sshcertd asks of systemd, through libsystemd (sd-daemon(3)): the
// listening sockets of socket activation, adopted by FileDescriptorName=,
// and state notifications (READY=1, STATUS=, RELOADING=1, STOPPING=1).
// Outside systemd there are no passed sockets and notify() does nothing.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sshcert::systemd {

/// A descriptor passed by the service manager, with its FileDescriptorName=.
struct PassedFd {
    int fd = -1;
    std::string name;
};

/// Takes the descriptors of sd_listen_fds_with_names(3): none unless LISTEN_PID
/// is ours. Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES; every descriptor
/// is close-on-exec. The caller owns them.
std::vector<PassedFd> take_passed_fds();

/// Keeps the first descriptor for each name in `wanted` that is a listening
/// AF_UNIX stream socket; closes and logs every other one. The caller owns the result.
std::map<std::string, int> adopt_listeners(const std::vector<PassedFd>& passed, const std::vector<std::string>& wanted);

/// Sends one notification ("READY=1\nSTATUS=...") when NOTIFY_SOCKET is set.
void notify(const std::string& state);
/// RELOADING=1 with the MONOTONIC_USEC= that systemd 253 and later require.
void notify_reloading();

}  // namespace sshcert::systemd
