// SPDX-License-Identifier: Apache-2.0
#include "instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "unix_listener.hpp"

namespace sshcert {
namespace {

/// The holder's PID, which it writes just after taking the lock: wait briefly for it.
std::string holder_pid(int fd) {
    for (int i = 0; i < 20; ++i) {
        char buf[32] = {};
        ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        std::string pid(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        if (!pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos) return pid;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return {};
}

}  // namespace

InstanceLock::InstanceLock(const std::string& dir) {
    const std::string path = dir + "/sshcertd.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) throw StartupError("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        std::string pid = err == EWOULDBLOCK ? holder_pid(fd_) : "";
        ::close(fd_);
        if (err != EWOULDBLOCK) throw StartupError("cannot lock " + path + ": " + std::strerror(err));
        const std::string who = pid.empty() ? "another sshcertd" : "another sshcertd (PID " + pid + ")";
        throw StartupError(who + " is already running for this user and serves " + dir +
                           "; use it (sshcert status), or stop it first (systemctl --user stop sshcertd" +
                           (pid.empty() ? "" : ", or kill " + pid) + ")");
    }
    const std::string mine = std::to_string(::getpid()) + "\n";
    bool written = ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, mine.data(), mine.size(), 0) == static_cast<ssize_t>(mine.size());
    (void)written;  // the lock holds all the same; only a loser's message would lack our PID
}

InstanceLock::~InstanceLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace sshcert
