// SPDX-License-Identifier: Apache-2.0
#include "ssh_args.hpp"

#include <string_view>

namespace sshcert::client {

namespace {

/// ssh's getopt string in OpenSSH 9.2: these letters take a value.
constexpr std::string_view kWithValue = "BbcDEeFIiJLlmOoPpQRSWw";
constexpr std::string_view kFlags = "1246AaCfGgKkMNnqsTtVvXxYy";

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

/// Splits "user@host", "ssh://user@host:port" into user and host.
void split_destination(std::string_view dest, SshTarget& t, std::optional<std::string>& dest_user) {
    if (dest.starts_with("ssh://")) {
        dest.remove_prefix(6);
        if (auto slash = dest.find('/'); slash != std::string_view::npos) dest = dest.substr(0, slash);
        if (auto at = dest.rfind('@'); at != std::string_view::npos) {
            dest_user = std::string(dest.substr(0, at));
            dest.remove_prefix(at + 1);
        }
        if (dest.starts_with('[')) {
            auto close = dest.find(']');
            t.host = std::string(dest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
        } else {
            t.host = std::string(dest.substr(0, dest.find(':')));
        }
        return;
    }
    if (auto at = dest.rfind('@'); at != std::string_view::npos) {
        dest_user = std::string(dest.substr(0, at));
        dest.remove_prefix(at + 1);
    }
    t.host = std::string(dest);
}

}  // namespace

Result<SshTarget> parse_ssh_args(const std::vector<std::string>& args) {
    SshTarget t;
    std::optional<std::string> option_user;  // -l and -o User: the first one given wins, as in ssh
    std::optional<std::string> dest_user;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        bool end_of_options = a == "--";
        if (end_of_options) ++i;
        if (end_of_options || a.size() < 2 || a[0] != '-') {
            if (i >= args.size()) break;
            t.destination_index = i;
            split_destination(args[i], t, dest_user);
            if (t.host.empty()) return Error{Errc::InvalidArgument, "empty host name in '" + args[i] + "'"};
            t.user = option_user ? option_user : dest_user;
            return t;
        }
        for (std::size_t k = 1; k < a.size(); ++k) {
            char c = a[k];
            if (kWithValue.find(c) != std::string_view::npos) {
                std::string value;
                if (k + 1 < a.size()) value = std::string(a.substr(k + 1));
                else if (i + 1 < args.size()) value = args[++i];
                else return Error{Errc::InvalidArgument, std::string("ssh option -") + c + " needs a value"};
                if (c == 'l' && !option_user) option_user = value;
                if (c == 'o' && !option_user)
                    if (auto u = option_value(value, "User")) option_user = u;
                break;
            }
            if (kFlags.find(c) == std::string_view::npos)
                return Error{Errc::InvalidArgument, std::string("unknown ssh option -") + c};
        }
    }
    return Error{Errc::InvalidArgument, "no destination given: usage: sshcert ssh [ssh options] [user@]host [command]"};
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
