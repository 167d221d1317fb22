// SPDX-License-Identifier: Apache-2.0
#include "hygiene.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <string>

#include "log.hpp"

namespace sshcert {

namespace {
/// fds 0-2 must be open, or a socket we create could become "stderr".
void sanitise_stdfd() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1) continue;
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0 && null != fd) {
            ::dup2(null, fd);
            ::close(null);
        }
    }
}

std::string kib(unsigned long long bytes) { return std::to_string(bytes / 1024) + " KiB"; }

/// Raises `resource`'s soft limit to `wanted` (or the hard limit, if lower); returns the soft
/// limit then in force (RLIM_INFINITY when it cannot be read).
rlim_t raise_soft_limit(int resource, rlim_t wanted) {
    rlimit lim{};
    if (::getrlimit(resource, &lim) != 0) return RLIM_INFINITY;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
        rlimit raised = lim;
        raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(lim.rlim_max, wanted);
        if (::setrlimit(resource, &raised) == 0) lim = raised;
    }
    return lim.rlim_cur;
}

/// Lets mlock take the whole heap when the hard limit allows; returns the soft limit then in force.
rlim_t raise_memlock_limit() { return raise_soft_limit(RLIMIT_MEMLOCK, kSecureHeapBytes); }

/// systemd and login shells give 1024 descriptors (soft) of a much higher hard limit, fewer than
/// kMaxConnections on every socket need; asio uses epoll, so more do no harm. The daemon starts no
/// programs that could trip over descriptors above 1024 in select().
void raise_descriptor_limit() { (void)raise_soft_limit(RLIMIT_NOFILE, 16384); }

std::atomic<std::size_t> heap_bytes{0};  ///< set once the heap is ours

SecureHeap set_up_secure_heap() {
    rlim_t limit = raise_memlock_limit();
    int r = CRYPTO_secure_malloc_init(kSecureHeapBytes, 32);
    if (r != 0) heap_bytes = kSecureHeapBytes;
    switch (r) {
        case 1: return SecureHeap::Locked;
        case 2:
            // OpenSSL uses the heap all the same; only the lock (or MADV_DONTDUMP) failed.
            log::warn("the ", kib(kSecureHeapBytes), " secure heap for private keys could not be locked in memory",
                      limit == RLIM_INFINITY ? std::string() : " (RLIMIT_MEMLOCK is " + kib(limit) + ")",
                      ": keys may be swapped to disk. Raise the limit to at least ", kib(kSecureHeapBytes),
                      ": LimitMEMLOCK=", kSecureHeapBytes / (1024 * 1024), "M in sshcertd.service (systemctl --user edit "
                      "sshcertd), or memlock in /etc/security/limits.conf");
            return SecureHeap::Unlocked;
        default:
            log::warn("OpenSSL's secure heap is unavailable; private keys stay in ordinary memory (still never on disk)");
            return SecureHeap::Unavailable;
    }
}
}  // namespace

SecureHeap init_secure_heap() {
    static const SecureHeap state = set_up_secure_heap();
    return state;
}

std::size_t secure_heap_bytes() { return heap_bytes; }

void harden_process() {
    sanitise_stdfd();
    if (::prctl(PR_SET_DUMPABLE, 0) != 0) log::warn("prctl(PR_SET_DUMPABLE) failed; other processes of this user may read our memory");
    rlimit no_core{0, 0};
    if (::setrlimit(RLIMIT_CORE, &no_core) != 0) log::warn("cannot disable core dumps");
    std::signal(SIGPIPE, SIG_IGN);
    raise_descriptor_limit();
    (void)init_secure_heap();
}

}  // namespace sshcert
