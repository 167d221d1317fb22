// SPDX-License-Identifier: Apache-2.0
#include "vault_token_source.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <strings.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "local_file.hpp"
#include "prompt.hpp"

namespace sshcert::client {

namespace {

/// A token is a line; anything bigger is not one (and a runaway helper must not fill memory).
constexpr std::size_t kMaxHelperOutput = 64 * 1024;
constexpr std::size_t kMaxHelperStderr = 1024;

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

/// What a helper said on stderr, safe to print: one line, no control characters, bounded.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : trim(s)) {
        auto u = static_cast<unsigned char>(c);
        out += u == '\n' || u == '\t' ? ' ' : (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    return out;
}

Error config_error(const std::string& origin, int line, const std::string& what) {
    return Error{Errc::InvalidArgument, origin + ":" + std::to_string(line) + ": " + what +
                                            " (the Vault CLI's config takes only token_helper = \"/path/to/helper\")"};
}

/// `key = "value"` in HCL, one per line, with #, // and /* */ comments as HCL has them.
Result<std::optional<std::string>> parse_hcl(std::string_view text, const std::string& origin) {
    std::optional<std::string> helper;
    bool in_block_comment = false;
    int line_no = 0;
    std::istringstream in{std::string(text)};
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        std::string line;
        bool in_string = false;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (in_block_comment) {
                if (raw.compare(i, 2, "*/") == 0) in_block_comment = false, ++i;
                continue;
            }
            if (!in_string && (raw[i] == '#' || raw.compare(i, 2, "//") == 0)) break;
            if (!in_string && raw.compare(i, 2, "/*") == 0) {
                in_block_comment = true;
                ++i;
                continue;
            }
            if (raw[i] == '"' && (i == 0 || raw[i - 1] != '\\')) in_string = !in_string;
            line += raw[i];
        }
        line = trim(line);
        if (line.empty()) continue;
        auto eq = line.find('=');
        std::string key = trim(line.substr(0, eq == std::string::npos ? line.size() : eq));
        if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
        if (eq == std::string::npos) return config_error(origin, line_no, "cannot read \"" + printable(line) + "\"");
        if (key != "token_helper") return config_error(origin, line_no, "invalid key \"" + printable(key) + "\"");
        std::string value = trim(line.substr(eq + 1));
        if (value.size() < 2 || value.front() != '"' || value.back() != '"')
            return config_error(origin, line_no, "token_helper must be a quoted path");
        helper = value.substr(1, value.size() - 2);
    }
    return helper;
}

Result<std::optional<std::string>> parse_json(std::string_view text, const std::string& origin) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return config_error(origin, 1, "not a JSON object");
    std::optional<std::string> helper;
    for (const auto& [key, value] : j.items()) {
        if (key != "token_helper") return config_error(origin, 1, "invalid key \"" + printable(key) + "\"");
        if (!value.is_string()) return config_error(origin, 1, "token_helper must be a string");
        helper = value.get<std::string>();
    }
    return helper;
}

std::string home_of(const config::Getenv& getenv) {
    const char* home = getenv("HOME");
    return home ? home : "";
}

/// Reads both pipes until they close or the deadline passes; false on the deadline.
bool drain(int out_fd, int err_fd, std::string& out, std::string& err, bool& too_much,
           std::chrono::steady_clock::time_point deadline) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    char buf[4096];
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        int n = ::poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                fds[i].fd = -1;
                continue;
            }
            std::string& into = i == 0 ? out : err;
            std::size_t cap = i == 0 ? kMaxHelperOutput : kMaxHelperStderr;
            auto take = std::min(static_cast<std::size_t>(got), cap - std::min(cap, into.size()));
            into.append(buf, take);
            if (i == 0 && take < static_cast<std::size_t>(got)) too_much = true;
        }
    }
    wipe(buf, sizeof buf);
    return true;
}

}  // namespace

Result<std::optional<std::string>> parse_vault_cli_config(std::string_view text, const std::string& origin) {
    std::string t = trim(text);
    return !t.empty() && t.front() == '{' ? parse_json(t, origin) : parse_hcl(text, origin);
}

Result<std::optional<std::string>> configured_token_helper(const config::Getenv& getenv) {
    std::string path = "~/.vault";
    if (const char* p = getenv("VAULT_CONFIG_PATH"); p && *p) path = p;
    if (path == "~" || path.starts_with("~/")) path = home_of(getenv) + path.substr(1);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::optional<std::string>();
    auto text = read_local_file(path, 64 * 1024);
    if (!text) return text.error();
    auto helper = parse_vault_cli_config(*text, path);
    if (!helper || !*helper || (*helper)->empty()) return helper;
    std::string h = **helper;
    if (h.front() != '/') {  // as the Vault CLI: relative to here, never looked up in $PATH
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd)) return Error{Errc::InvalidArgument, "cannot resolve the token helper path " + h};
        h = std::string(cwd) + "/" + h;
    }
    if (::stat(h.c_str(), &st) != 0)
        return Error{Errc::InvalidArgument, "the Vault token helper " + h + " (token_helper in " + path + ") does not exist: " +
                                                std::strerror(errno)};
    if (!S_ISREG(st.st_mode) || ::access(h.c_str(), X_OK) != 0)
        return Error{Errc::InvalidArgument, "the Vault token helper " + h + " (token_helper in " + path + ") is not an executable file"};
    return std::optional<std::string>(h);
}

Result<std::string> run_token_helper(const std::string& helper, std::chrono::milliseconds timeout) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Error{Errc::Internal, std::string("pipe: ") + std::strerror(errno)};
    if (::pipe2(err, O_CLOEXEC) != 0) {
        ::close(out[0]), ::close(out[1]);
        return Error{Errc::Internal, std::string("pipe: ") + std::strerror(errno)};
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0), ::dup2(out[1], 1), ::dup2(err[1], 2);
        char* argv[] = {const_cast<char*>(helper.c_str()), const_cast<char*>("get"), nullptr};
        ::execv(helper.c_str(), argv);
        static constexpr char kFailed[] = "could not be executed\n";
        (void)!::write(2, kFailed, sizeof kFailed - 1);
        ::_exit(127);
    }
    ::close(out[1]), ::close(err[1]);
    if (pid < 0) {
        ::close(out[0]), ::close(err[0]);
        return Error{Errc::Internal, std::string("fork: ") + std::strerror(errno)};
    }
    std::string token, stderr_text;
    token.reserve(kMaxHelperOutput);  // no reallocation leaves a copy of the token behind
    bool too_much = false;
    bool finished = drain(out[0], err[0], token, stderr_text, too_much, std::chrono::steady_clock::now() + timeout);
    ::close(out[0]), ::close(err[0]);
    if (!finished) ::kill(pid, SIGKILL);  // ours, not yet reaped: the PID cannot have been reused
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string result = trim(token);
    wipe(token.data(), token.size());
    auto fail = [&](std::string what) {
        wipe(result.data(), result.size());
        std::string said = printable(stderr_text);
        return Error{Errc::InvalidArgument, "the Vault token helper " + helper + " " + what + (said.empty() ? "" : ": " + said) +
                                                "; fix it, or give the token with --token-stdin or VAULT_TOKEN"};
    };
    if (!finished) return fail("did not answer within " + std::to_string(timeout.count() / 1000) + " s and was stopped");
    if (WIFSIGNALED(status)) return fail("was killed by signal " + std::to_string(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0) return fail("failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")");
    if (too_much) return fail("printed more than 64 KiB, which is no token");
    return result;
}

Result<std::string> find_vault_token(const config::Getenv& getenv, bool from_stdin) {
    if (from_stdin) return read_secret_line_from_stdin("token");
    if (const char* t = getenv("VAULT_TOKEN"); t && *t) return std::string(t);
    auto helper = configured_token_helper(getenv);
    if (!helper) return helper.error();
    if (*helper) {
        auto token = run_token_helper(**helper);
        if (!token || !token->empty()) return token;
        return Error{Errc::InvalidArgument, "the Vault token helper " + **helper +
                                                " holds no token; run `vault login` first, or give one with --token-stdin "
                                                "(or use --method userpass or ldap)"};
    }
    std::ifstream in(home_of(getenv) + "/.vault-token");
    std::string token;
    if (in && std::getline(in, token)) {
        std::string trimmed = trim(token);
        wipe(token.data(), token.size());
        if (!trimmed.empty()) return trimmed;
    }
    return Error{Errc::InvalidArgument, "no Vault token: pass one with --token-stdin, set VAULT_TOKEN, or run `vault login` "
                                        "to create ~/.vault-token (or use --method userpass or ldap)"};
}

}  // namespace sshcert::client
