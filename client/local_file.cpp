// SPDX-License-Identifier: Apache-2.0
#include "local_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sshcert::client {

Result<std::string> read_local_file(const std::string& path, std::size_t max_bytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return Error{errno == ENOENT ? Errc::NotFound : Errc::InvalidArgument, "cannot read " + path + ": " + std::strerror(errno)};
    std::string data;
    char buf[4096];
    int read_errno = 0;
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) read_errno = errno;
        if (n <= 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_bytes) break;
    }
    ::close(fd);
    if (read_errno != 0) return Error{Errc::InvalidArgument, "cannot read " + path + ": " + std::strerror(read_errno)};
    if (data.size() > max_bytes)
        return Error{Errc::InvalidArgument, path + " is larger than " + std::to_string(max_bytes) + " bytes"};
    return data;
}

}  // namespace sshcert::client
