// SPDX-License-Identifier: Apache-2.0
#include "hygiene.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

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

/// OpenSSL's secure heap is mlock'ed and excluded from core dumps; OpenSSL 3
/// keeps private key material (EC, Ed25519, RSA secrets) there once it exists.
constexpr std::size_t kSecureHeapBytes = 256 * 1024;
}  // namespace

void harden_process() {
    sanitise_stdfd();
    if (::prctl(PR_SET_DUMPABLE, 0) != 0) log::warn("prctl(PR_SET_DUMPABLE) failed; other processes of this user may read our memory");
    rlimit no_core{0, 0};
    if (::setrlimit(RLIMIT_CORE, &no_core) != 0) log::warn("cannot disable core dumps");
    std::signal(SIGPIPE, SIG_IGN);
    if (CRYPTO_secure_malloc_init(kSecureHeapBytes, 32) == 0)
        log::info("OpenSSL secure heap unavailable (RLIMIT_MEMLOCK too low?); keys stay in ordinary memory, still never on disk");
}

}  // namespace sshcert
