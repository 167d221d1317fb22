// SPDX-License-Identifier: Apache-2.0
#include "local_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
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

Status write_local_file(const std::string& path, const std::string& data, mode_t mode) {
    std::string tmp = path + ".sshcert-XXXXXX";
    int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) return Error{Errc::InvalidArgument, "cannot write " + path + ": " + std::strerror(errno)};
    int err = ::fchmod(fd, mode) == 0 ? 0 : errno;
    for (std::size_t off = 0; err == 0 && off < data.size();) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) err = n < 0 ? errno : EIO;
        else off += static_cast<std::size_t>(n);
    }
    if (err == 0 && ::fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err == 0) return ok_status();
    ::unlink(tmp.c_str());
    return Error{Errc::InvalidArgument, "cannot write " + path + ": " + std::strerror(err)};
}

Status make_dirs(const std::string& dir) {
    for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        std::string part = dir.substr(0, slash);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
            return Error{Errc::InvalidArgument, "cannot create " + part + ": " + std::strerror(errno)};
        if (slash == std::string::npos) return ok_status();
    }
}

}  // namespace sshcert::client
