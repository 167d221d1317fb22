// SPDX-License-Identifier: Apache-2.0
#include "run_capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace sshcert::client {

namespace {

/// Output past this is not what a config dump looks like; reading stops there.
constexpr std::size_t kMaxCapturedBytes = 4 << 20;

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

Result<Captured> run_capture(const std::vector<std::string>& argv,
                             const std::vector<std::pair<std::string, std::string>>& extra_env,
                             std::chrono::milliseconds timeout) {
    if (argv.empty()) return Error{Errc::InvalidArgument, "no program to run"};
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Error{Errc::Internal, std::string("pipe: ") + std::strerror(errno)};
    if (::pipe2(err, O_CLOEXEC) != 0) {
        ::close(out[0]);
        ::close(out[1]);
        return Error{Errc::Internal, std::string("pipe: ") + std::strerror(errno)};
    }
    // Built before fork: the child only calls async-signal-safe functions.
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& s : args) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string_view entry(*e);
        bool replaced = false;
        for (const auto& [k, v] : extra_env) replaced = replaced || entry.starts_with(k + "=");
        if (!replaced) env.emplace_back(entry);
    }
    for (const auto& [k, v] : extra_env) env.push_back(k + "=" + v);
    std::vector<char*> cenv;
    for (auto& s : env) cenv.push_back(s.data());
    cenv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        if (timeout.count() > 0) ::setpgid(0, 0);  // its own group, so a timeout ends what it started too
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(out[1], STDOUT_FILENO) < 0 || ::dup2(err[1], STDERR_FILENO) < 0)
            ::_exit(126);
        ::execvpe(cargv[0], cargv.data(), cenv.data());
        ::_exit(127);
    }
    if (pid > 0 && timeout.count() > 0) ::setpgid(pid, pid);  // as the child does, whichever runs first
    ::close(out[1]);
    ::close(err[1]);
    if (pid < 0) {
        ::close(out[0]);
        ::close(err[0]);
        return Error{Errc::Internal, std::string("fork: ") + std::strerror(errno)};
    }
    Captured c;
    int fds[2] = {out[0], err[0]};
    std::string* sinks[2] = {&c.out, &c.err};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fds[0] >= 0 || fds[1] >= 0) {
        pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        int wait_ms = -1;
        if (timeout.count() > 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                c.timed_out = true;
                ::kill(-pid, SIGKILL);
                break;
            }
            wait_ms = static_cast<int>(left.count());
        }
        if (::poll(p, 2, wait_ms) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t n = ::read(fds[i], buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0 || sinks[i]->size() > kMaxCapturedBytes) close_fd(fds[i]);
            else sinks[i]->append(buf, static_cast<std::size_t>(n));
        }
    }
    close_fd(fds[0]);
    close_fd(fds[1]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    c.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    if (c.exit_status == 127 && c.out.empty() && c.err.empty())
        return Error{Errc::NotFound, "cannot run " + argv[0] + " (is it installed and in PATH?)"};
    return c;
}

}  // namespace sshcert::client
