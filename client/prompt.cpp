// SPDX-License-Identifier: Apache-2.0
#include "prompt.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>  // explicit_bzero: libc's own, so sshcert needs no libcrypto

namespace sshcert::client {

namespace {
/// Secrets are short; a bound keeps a mistaken pipe from filling memory.
constexpr std::size_t kMaxSecretBytes = 8192;

Result<std::string> read_line(int fd, const char* what) {
    std::string out;
    char c;
    while (true) {
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') break;
        if (out.size() == kMaxSecretBytes) return Error{Errc::InvalidArgument, std::string(what) + " is too long"};
        out += c;
    }
    if (!out.empty() && out.back() == '\r') out.pop_back();
    if (out.empty()) return Error{Errc::InvalidArgument, std::string("no ") + what + " given"};
    return out;
}
}  // namespace

bool have_terminal() {
    int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) return false;
    ::close(tty);
    return true;
}

Result<std::string> prompt_secret(const std::string& prompt, const char* what, const char* otherwise) {
    int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0)
        return Error{Errc::InvalidArgument, std::string("no terminal to ask for the ") + what + "; " + otherwise};
    termios old{};
    bool restore = ::tcgetattr(tty, &old) == 0;
    if (restore) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        ::tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    (void)!::write(tty, prompt.data(), prompt.size());
    auto line = read_line(tty, what);
    if (restore) ::tcsetattr(tty, TCSAFLUSH, &old);
    ::close(tty);
    return line;
}

Result<std::string> read_secret_line_from_stdin(const char* what) { return read_line(STDIN_FILENO, what); }

void wipe(void* data, std::size_t size) { ::explicit_bzero(data, size); }

}  // namespace sshcert::client
