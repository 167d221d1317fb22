// SPDX-License-Identifier: Apache-2.0
#include "ssh_args.hpp"

#include <string_view>

namespace sshcert::client {

namespace {

/// ssh's getopt string in OpenSSH 9.2: these letters take a value.
constexpr std::string_view kWithValue = "BbcDEeFIiJLlmOoPpQRSWw";
constexpr std::string_view kFlags = "1246AaCfGgKkMNnqsTtVvXxYy";
/// The options with values that ssh_config's evaluation depends on.
constexpr std::string_view kConfigOptions = "FJloPp";

/// "User=bob", "user bob", "User = bob" -> "bob" when the keyword is `keyword`.
std::optional<std::string> option_value(std::string_view opt, std::string_view keyword) {
    if (opt.size() <= keyword.size()) return std::nullopt;
    for (std::size_t i = 0; i < keyword.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(opt[i])) != std::tolower(static_cast<unsigned char>(keyword[i])))
            return std::nullopt;
    auto rest = opt.substr(keyword.size());
    std::size_t i = 0;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    bool has_eq = i < rest.size() && rest[i] == '=';
    if (has_eq) ++i;
    if (i == 0 && !has_eq) return std::nullopt;  // "Username=..." is another keyword
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    if (i == rest.size()) return std::nullopt;
    return std::string(rest.substr(i));
}

}  // namespace

Destination split_destination(std::string_view dest, bool with_port) {
    Destination d;
    bool uri = dest.starts_with("ssh://");
    if (uri) {
        dest.remove_prefix(6);
        if (auto slash = dest.find('/'); slash != std::string_view::npos) dest = dest.substr(0, slash);
    }
    if (auto at = dest.rfind('@'); at != std::string_view::npos) {
        d.user = std::string(dest.substr(0, at));
        dest.remove_prefix(at + 1);
    }
    if (!uri && !with_port) {
        d.host = std::string(dest);
        return d;
    }
    std::string_view rest;
    if (dest.starts_with('[')) {
        auto close = dest.find(']');
        d.host = std::string(dest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
        rest = close == std::string_view::npos ? std::string_view{} : dest.substr(close + 1);
    } else {
        auto colon = dest.find(':');
        d.host = std::string(dest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : dest.substr(colon);
    }
    if (rest.starts_with(':') && rest.size() > 1) d.port = std::string(rest.substr(1));
    return d;
}

Result<SshTarget> parse_ssh_args(const std::vector<std::string>& args) {
    SshTarget t;
    std::optional<std::string> option_user;  // -l and -o User: the first one given wins, as in ssh
    std::optional<std::string> dest_user;
    bool have_destination = false;
    auto take_destination = [&](std::size_t i) -> Status {
        auto d = split_destination(args[i], false);
        if (d.host.empty()) return Error{Errc::InvalidArgument, "empty host name in '" + args[i] + "'"};
        t.host = std::move(d.host);
        dest_user = std::move(d.user);
        t.destination_index = i;
        have_destination = true;
        return ok_status();
    };
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a == "--") {  // the end of the options: the destination (if not yet given), then the command
            ++i;
            if (!have_destination && i < args.size()) {
                if (auto st = take_destination(i); !st) return st.error();
                ++i;
            }
            break;
        }
        if (a.size() < 2 || a[0] != '-') {
            if (have_destination) break;  // ssh reads options after the destination up to the remote command
            if (auto st = take_destination(i); !st) return st.error();
            continue;
        }
        if (a.starts_with("--"))
            return Error{Errc::InvalidArgument, "ssh has no option '" + args[i] + "'; sshcert's own (--profile, --help) come "
                                                "before ssh's arguments: sshcert ssh [--profile P] [ssh options] [user@]host [command]"};
        for (std::size_t k = 1; k < a.size(); ++k) {
            char c = a[k];
            t.flags += c;
            if (kWithValue.find(c) != std::string_view::npos) {
                std::string value;
                if (k + 1 < a.size()) value = std::string(a.substr(k + 1));
                else if (i + 1 < args.size()) value = args[++i];
                else return Error{Errc::InvalidArgument, std::string("ssh option -") + c + " needs a value"};
                if (c == 'l' && !option_user) option_user = value;
                if (c == 'o' && !option_user)
                    if (auto u = option_value(value, "User")) option_user = u;
                if (c == 'F' && !t.config_file) t.config_file = value;
                if (kConfigOptions.find(c) != std::string_view::npos) t.config_options.insert(t.config_options.end(), {std::string("-") + c, value});
                break;
            }
            if (kFlags.find(c) == std::string_view::npos)
                return Error{Errc::InvalidArgument, std::string("unknown ssh option -") + c + " (see ssh(1) for the options ssh takes)"};
        }
    }
    if (!have_destination)
        return Error{Errc::InvalidArgument, "no destination given: usage: sshcert ssh [--profile P] [ssh options] [user@]host [command]"};
    t.command_index = i;
    t.user = option_user ? option_user : dest_user;
    return t;
}

std::vector<std::string> build_ssh_argv(const std::string& ssh_program, const std::string& agent_socket,
                                        const std::vector<std::string>& args) {
    // ssh_config values are tokenised: quote a path with spaces. The first -o wins in ssh, so ours comes first.
    std::string agent = agent_socket.find(' ') == std::string::npos ? agent_socket : "\"" + agent_socket + "\"";
    std::vector<std::string> argv{ssh_program, "-o", "IdentityAgent=" + agent};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

}  // namespace sshcert::client
