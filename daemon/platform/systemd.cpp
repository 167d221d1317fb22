// SPDX-License-Identifier: Apache-2.0
#include "systemd.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "log.hpp"

namespace sshcert::systemd {

std::vector<PassedFd> take_passed_fds() {
    char** names = nullptr;
    // Checks LISTEN_PID, sets FD_CLOEXEC on each descriptor and, with 1, unsets the variables.
    int n = sd_listen_fds_with_names(1, &names);
    std::unique_ptr<char*, decltype(&std::free)> owner(names, &std::free);
    if (n < 0) {
        log::error("cannot take the sockets systemd passed: ", std::strerror(-n));
        return {};
    }
    std::vector<PassedFd> fds;
    for (int i = 0; i < n; ++i) {
        fds.push_back({SD_LISTEN_FDS_START + i, names && names[i] ? names[i] : "unknown"});
        if (names) std::free(names[i]);
    }
    return fds;
}

std::map<std::string, int> adopt_listeners(const std::vector<PassedFd>& passed, const std::vector<std::string>& wanted) {
    std::map<std::string, int> adopted;
    for (const auto& p : passed) {
        bool is_wanted = std::find(wanted.begin(), wanted.end(), p.name) != wanted.end();
        const char* problem = nullptr;
        if (!is_wanted)
            problem = "its name is not one sshcertd serves (FileDescriptorName= must be agent or control)";
        else if (adopted.count(p.name))
            problem = "a socket of that name was already passed";
        else if (sd_is_socket_unix(p.fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
            problem = "it is not a listening AF_UNIX stream socket (ListenStream= with a path)";
        if (problem) {
            log::warn("closing socket '", p.name, "' (fd ", p.fd, ") passed by systemd: ", problem);
            ::close(p.fd);
            continue;
        }
        adopted[p.name] = p.fd;
    }
    return adopted;
}

void notify(const std::string& state) {
    int r = sd_notify(0, state.c_str());
    if (r < 0) log::debug("sd_notify failed: ", std::strerror(-r));
}

void notify_reloading() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

}  // namespace sshcert::systemd
