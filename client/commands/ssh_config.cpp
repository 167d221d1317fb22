// SPDX-License-Identifier: Apache-2.0
// sshcert ssh-config: the ssh_config blocks that give plain ssh, scp, sftp,
// rsync and git their certificates (see ssh_config.hpp); with --install they
// go to a file of their own, which ~/.ssh/config includes from its first line,
// as `step ssh config` does. Nothing here needs systemd or the daemon.
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"
#include "local_file.hpp"
#include "paths.hpp"
#include "ssh_config.hpp"

namespace sshcert::client {

namespace {

/// ~/.ssh/config and our own file are small; anything larger is not what we think it is.
constexpr std::size_t kMaxSshConfigBytes = 1 << 20;

/// The running sshcert, for ssh's Match exec: an absolute path, as ssh runs it with whatever PATH it has.
Result<std::string> own_path() {
    std::error_code ec;
    auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return Error{Errc::Internal, "cannot find this sshcert's own path in /proc/self/exe: " + ec.message()};
    return path.string();
}

Result<std::string> blocks(const Context& ctx, const config::Config& config) {
    auto self = own_path();
    if (!self) return self.error();
    return ssh_config_text(config, ctx.daemon.runtime_dir(), *self, config::managed_known_hosts_path(ctx.getenv));
}

/// The file's text, or "" when it does not exist.
Result<std::string> read_if_present(const std::string& path) {
    auto text = read_local_file(path, kMaxSshConfigBytes);
    if (!text && text.error().code == Errc::NotFound) return std::string();
    return text;
}

/// Where ~/.ssh/config really is: a dotfile manager's symlink stays a symlink, and its target gets the change.
std::string resolved(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

/// Adds the Include line at the top of ~/.ssh/config, creating ~/.ssh (0700) and the file (0600) if need be.
Status include_from_ssh_config(const Context& ctx, const std::string& file) {
    const char* home = ctx.getenv("HOME");
    if (!home || *home != '/') return Error{Errc::InvalidArgument, "HOME is not set to an absolute path, so ~/.ssh/config cannot be found"};
    std::string ssh_dir = std::string(home) + "/.ssh";
    if (::mkdir(ssh_dir.c_str(), 0700) != 0 && errno != EEXIST)
        return Error{Errc::InvalidArgument, "cannot create " + ssh_dir + ": " + std::strerror(errno)};
    std::string path = resolved(ssh_dir + "/config");
    auto text = read_if_present(path);
    if (!text) return text.error();
    auto line = include_line(file);
    if (!line) return line.error();
    switch (find_include(*text, file, home)) {
        case IncludeState::AtTop:
            std::cout << path << " includes it already.\n";
            return ok_status();
        case IncludeState::AfterHostOrMatch:
            // The user moved it; tell them what that costs rather than add a second one.
            std::cerr << "sshcert: warning: " << path << " includes " << file
                      << " only after a Host or Match line, so it applies to those hosts alone and loses to options set before it; "
                         "move `" << *line << "` to the top\n";
            return ok_status();
        case IncludeState::Missing:
            break;
    }
    struct stat info {};
    mode_t mode = ::stat(path.c_str(), &info) == 0 ? (info.st_mode & 07777) : 0600;
    if (auto st = write_local_file(path, with_include_at_top(*text, *line), mode); !st) return st;
    std::cout << (text->empty() ? "Wrote " + path + " with `" + *line + "`.\n" : "Added `" + *line + "` at the top of " + path + ".\n");
    return ok_status();
}

}  // namespace

Status install_ssh_config(const Context& ctx, const config::Config& config) {
    auto text = blocks(ctx, config);
    if (!text) return text.error();
    std::string file = config::ssh_config_include_path(ctx.getenv);
    auto current = read_if_present(file);
    if (!current) return current.error();
    std::vector<std::string> names;
    for (const auto& p : config.profiles) names.push_back(p.name);
    if (*current == *text) {
        std::cout << file << " is up to date (profiles " << join(names, ", ") << ").\n";
    } else {
        if (auto st = make_dirs(std::filesystem::path(file).parent_path().string()); !st) return st;
        if (auto st = write_local_file(file, *text, 0600); !st) return st;  // ssh refuses included files others may write
        std::cout << "Wrote " << file << " for profiles " << join(names, ", ") << ".\n";
    }
    return include_from_ssh_config(ctx, file);
}

int cmd_ssh_config(const Context& ctx, bool install) {
    auto config = ctx.load_config();
    if (!config) return fail(config.error());
    if (install) {
        if (auto st = install_ssh_config(ctx, *config); !st) return fail(st.error());
        std::cout << "Plain ssh, scp, sftp, rsync and git now get certificates for these profiles' hosts (after `sshcert login`).\n";
        return 0;
    }
    auto text = blocks(ctx, *config);
    if (!text) return fail(text.error());
    std::cout << *text;
    return 0;
}

}  // namespace sshcert::client
