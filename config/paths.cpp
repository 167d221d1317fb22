// SPDX-License-Identifier: Apache-2.0
#include "paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sshcert::config {

namespace {
std::string home(const Getenv& getenv) {
    const char* h = getenv("HOME");
    return h && *h ? h : "/";
}
}  // namespace

std::string default_config_path(const Getenv& getenv) {
    const char* xdg = getenv("XDG_CONFIG_HOME");
    std::string base = (xdg && *xdg == '/') ? xdg : home(getenv) + "/.config";
    return base + "/sshcert/config.toml";
}

std::string runtime_dir(const Getenv& getenv) {
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg == '/') return std::string(xdg) + "/sshcert";
    return "/tmp/sshcert-" + std::to_string(getuid());
}

std::string control_socket_path(const std::string& runtime_dir) { return runtime_dir + "/control.sock"; }
std::string agent_socket_path(const std::string& runtime_dir) { return runtime_dir + "/agent.sock"; }
std::string profile_agent_socket_path(const std::string& runtime_dir, const std::string& profile) {
    return runtime_dir + "/agent-" + profile + ".sock";
}

Status check_private_dir(const std::string& dir) {
    struct stat st {};
    if (lstat(dir.c_str(), &st) != 0)
        return Error{errno == ENOENT ? Errc::NotFound : Errc::Internal, dir + ": " + std::strerror(errno)};
    if (!S_ISDIR(st.st_mode)) return Error{Errc::InvalidArgument, dir + " is not a directory (a symlink is refused)"};
    if (st.st_uid != getuid())
        return Error{Errc::InvalidArgument, dir + " belongs to uid " + std::to_string(st.st_uid) + ", not to you; remove it"};
    if ((st.st_mode & 077) != 0)
        return Error{Errc::InvalidArgument, dir + " is accessible to other users; run: chmod 700 " + dir};
    return ok_status();
}

Status make_private_dir(const std::string& dir) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return Error{Errc::Internal, "cannot create " + dir + ": " + std::strerror(errno)};
    return check_private_dir(dir);
}

}  // namespace sshcert::config
