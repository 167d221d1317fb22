// SPDX-License-Identifier: Apache-2.0
#include "paths.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sshcert::config {

namespace {
std::string home(const Getenv& getenv) {
    const char* h = getenv("HOME");
    return h && *h ? h : "/";
}

/// An XDG base directory: the variable when it holds an absolute path, else the default under $HOME.
std::string xdg_dir(const Getenv& getenv, const char* variable, const char* default_under_home) {
    const char* v = getenv(variable);
    return (v && *v == '/') ? v : home(getenv) + default_under_home;
}

/// The absolute entries of a colon-separated XDG list, or `fallback` when it has none.
std::vector<std::string> xdg_list(const Getenv& getenv, const char* variable, std::vector<std::string> fallback) {
    std::vector<std::string> out;
    std::string_view rest = getenv(variable) ? getenv(variable) : "";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        auto item = rest.substr(0, colon);
        if (item.starts_with('/')) out.emplace_back(item);
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
    return out.empty() ? fallback : out;
}
/// "user alice (uid 1001)", or "uid 1001" when it has no name.
std::string user_description(uid_t uid) {
    std::string id = "uid " + std::to_string(uid);
    std::vector<char> buf(4096);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return "user " + std::string(pw.pw_name) + " (" + id + ")";
    return id;
}

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}
}  // namespace

std::string default_config_path(const Getenv& getenv) { return xdg_dir(getenv, "XDG_CONFIG_HOME", "/.config") + "/sshcert/config.toml"; }
std::string ssh_config_include_path(const Getenv& getenv) { return xdg_dir(getenv, "XDG_CONFIG_HOME", "/.config") + "/sshcert/ssh_config"; }
std::string managed_known_hosts_path(const Getenv& getenv) { return xdg_dir(getenv, "XDG_CONFIG_HOME", "/.config") + "/sshcert/known_hosts"; }
std::string user_known_hosts_path(const Getenv& getenv) { return home(getenv) + "/.ssh/known_hosts"; }

std::vector<std::string> user_unit_dirs(const Getenv& getenv) {
    std::vector<std::string> dirs{xdg_dir(getenv, "XDG_CONFIG_HOME", "/.config") + "/systemd/user"};
    for (const auto& d : xdg_list(getenv, "XDG_CONFIG_DIRS", {"/etc/xdg"})) dirs.push_back(d + "/systemd/user");
    dirs.emplace_back("/etc/systemd/user");
    if (const char* rt = getenv("XDG_RUNTIME_DIR"); rt && *rt == '/') dirs.push_back(std::string(rt) + "/systemd/user");
    dirs.emplace_back("/run/systemd/user");
    dirs.push_back(xdg_dir(getenv, "XDG_DATA_HOME", "/.local/share") + "/systemd/user");
    for (const auto& d : xdg_list(getenv, "XDG_DATA_DIRS", {"/usr/local/share", "/usr/share"})) dirs.push_back(d + "/systemd/user");
    dirs.emplace_back("/usr/local/lib/systemd/user");
    dirs.emplace_back("/usr/lib/systemd/user");
    return dirs;
}

std::string find_user_unit(const Getenv& getenv, const std::string& name) {
    for (const auto& dir : user_unit_dirs(getenv)) {
        std::string path = dir + "/" + name;
        if (::access(path.c_str(), F_OK) == 0) return path;
    }
    return {};
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
    if (st.st_uid != getuid() || !S_ISDIR(st.st_mode)) {
        // Not ours, or not a directory: in /tmp that may be another user keeping sshcertd from starting.
        std::string owner = user_description(st.st_uid) + ", mode " + octal_mode(st.st_mode);
        bool ours = st.st_uid == getuid();
        std::string msg = S_ISDIR(st.st_mode) ? dir + " belongs to " + owner + ", not to you (uid " + std::to_string(getuid()) + ")"
                                              : dir + " is " + (S_ISLNK(st.st_mode) ? "a symlink" : "not a directory") + " (" +
                                                    owner + "); sshcertd needs a directory of your own there with mode 0700";
        if (!ours) msg += "; another user may have created it to keep sshcertd from starting";
        msg += ". Fix: set XDG_RUNTIME_DIR to a private directory of yours (a systemd login session has /run/user/" +
               std::to_string(getuid()) + "), or remove it" + (ours ? ": rm " : " as root: rm -r ") + dir;
        return Error{Errc::InvalidArgument, msg};
    }
    if ((st.st_mode & 077) != 0)
        return Error{Errc::InvalidArgument,
                     dir + " is accessible to other users (mode " + octal_mode(st.st_mode) + "); run: chmod 700 " + dir};
    return ok_status();
}

Status make_private_dir(const std::string& dir) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return Error{Errc::Internal, "cannot create " + dir + ": " + std::strerror(errno)};
    return check_private_dir(dir);
}

std::string expand_tilde(const std::string& path, const std::string& home) {
    if (path == "~") return home;
    if (path.starts_with("~/")) return home + path.substr(1);
    return path;
}

std::string expand_home(const std::string& path, const Getenv& getenv) {
    const char* home = getenv("HOME");
    return expand_tilde(path, home ? home : "");
}

}  // namespace sshcert::config
