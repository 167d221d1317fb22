// SPDX-License-Identifier: Apache-2.0
// One sshcertd per runtime directory. Two started at once (a login shell and
// the systemd unit, say) would otherwise race to replace each other's
// sockets and leave neither reachable.
#pragma once

#include <string>

namespace sshcert {

/// An flock on <dir>/sshcertd.lock, held for the daemon's life and dropped by the
/// kernel however the process ends, so a killed daemon never blocks the next. The
/// file holds the holder's PID for the message of the daemon that lost.
class InstanceLock {
public:
    /// Throws StartupError naming the PID of the daemon that holds the lock.
    explicit InstanceLock(const std::string& dir);
    ~InstanceLock();
    InstanceLock(const InstanceLock&) = delete;
    InstanceLock& operator=(const InstanceLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace sshcert
