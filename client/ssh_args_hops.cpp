// SPDX-License-Identifier: Apache-2.0
#include "ssh_args_hops.hpp"

#include "host_match.hpp"

namespace sshcert::client {

namespace {

/// The few `ssh -G` values the hops depend on.
struct Evaluated {
    std::optional<std::string> user;
    std::string proxyjump;     ///< "a,b" or "none"/empty
    std::string proxycommand;  ///< the command or "none"/empty
    std::string flags;         ///< see Hop::config_flags
};

/// The option letter that asks what `key value` of `ssh -G` asks, or 0.
char implied_flag(const std::string& key, const std::string& value) {
    if (key == "forwardagent") return value == "no" ? 0 : 'A';  // "yes" or an agent socket
    if (key == "localforward") return 'L';
    if (key == "remoteforward") return 'R';
    if (key == "dynamicforward") return 'D';
    if (key == "forwardx11") return value == "yes" ? 'X' : 0;
    if (key == "requesttty") return value == "false" || value == "no" ? 'T' : 0;
    if (key == "sessiontype") return value == "none" ? 'N' : 0;
    return 0;
}

Evaluated read_evaluated(const std::string& out) {
    Evaluated e;
    for (std::size_t pos = 0; pos < out.size();) {
        auto nl = out.find('\n', pos);
        std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? out.size() : nl + 1;
        auto space = line.find(' ');
        if (space == std::string::npos) continue;
        std::string key = line.substr(0, space), value = line.substr(space + 1);
        if (key == "user") e.user = value;
        else if (key == "proxyjump") e.proxyjump = value;
        else if (key == "proxycommand") e.proxycommand = value;
        if (char f = implied_flag(key, value)) e.flags += f;
    }
    if (e.proxyjump == "none") e.proxyjump.clear();
    if (e.proxycommand == "none") e.proxycommand.clear();
    return e;
}

class Resolver {
public:
    Resolver(const SshConfigQuery& query, std::string local_user) : query_(query), local_user_(std::move(local_user)) {}

    /// Adds the hops to `host` (named by `destination`, evaluated with `options`), itself last.
    Status add(const std::string& host, const std::string& destination, std::vector<std::string> options,
               const std::optional<std::string>& config_file, const std::optional<std::string>& known_user, bool jump) {
        if (hops_.size() + pending_ >= kMaxHops)
            return Error{Errc::InvalidArgument, "more than " + std::to_string(kMaxHops) + " hops to reach '" + host +
                                                    "': is there a loop of ProxyJump or ProxyCommand in your ssh_config?"};
        options.push_back(destination);
        auto out = query_(options);
        Evaluated e = out ? read_evaluated(*out) : Evaluated{};
        ++pending_;  // counts against loops while the bastions before it are found
        Status st = ok_status();
        if (!e.proxyjump.empty()) st = add_jumps(config::split_list(e.proxyjump), config_file);
        else if (!e.proxycommand.empty()) st = add_proxy_command(e.proxycommand);
        --pending_;
        if (!st) return st;
        hops_.push_back({host, e.user ? *e.user : known_user ? *known_user : local_user_, jump, e.flags});
        return ok_status();
    }

    std::vector<Hop> hops() && { return std::move(hops_); }

private:
    /// ProxyJump a,b: ssh runs `ssh [-F file] [-l user] [-p port] -J a -W ... b`, so b's own
    /// ProxyJump gives way to a, and a is reached as ssh_config says.
    Status add_jumps(std::vector<std::string> specs, const std::optional<std::string>& config_file) {
        if (specs.empty()) return ok_status();
        auto last = split_destination(specs.back(), true);
        specs.pop_back();
        std::vector<std::string> options;
        if (config_file) options.insert(options.end(), {"-F", *config_file});
        if (last.user) options.insert(options.end(), {"-l", *last.user});
        if (last.port) options.insert(options.end(), {"-p", *last.port});
        if (!specs.empty()) {
            std::string rest;
            for (const auto& s : specs) rest += (rest.empty() ? "" : ",") + s;
            options.insert(options.end(), {"-J", rest});
        }
        if (last.host.empty()) return ok_status();
        return add(last.host, last.host, std::move(options), config_file, last.user, true);
    }

    /// ProxyCommand ssh ... bastion: that ssh reads its own -F (or the default config), not ours.
    /// Another program (nc, a cloud CLI) takes no certificate of ours.
    Status add_proxy_command(const std::string& command) {
        auto words = split_command_words(command);
        if (words.empty()) return ok_status();
        const std::string& program = words.front();
        if (program != "ssh" && !program.ends_with("/ssh")) return ok_status();
        std::vector<std::string> args(words.begin() + 1, words.end());
        auto t = parse_ssh_args(args);
        if (!t || t->host.find('%') != std::string::npos) return ok_status();
        return add(t->host, args[t->destination_index], t->config_options, t->config_file, t->user, true);
    }

    const SshConfigQuery& query_;
    std::string local_user_;
    std::vector<Hop> hops_;
    std::size_t pending_ = 0;  ///< hops whose bastions are being found
};

}  // namespace

std::vector<std::string> split_command_words(std::string_view command) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < command.size(); ++i) {
        char c = command[i];
        if (quote) {
            if (c == quote) quote = 0;
            else if (c == '\\' && quote == '"' && i + 1 < command.size()) word += command[++i];
            else word += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == '\\' && i + 1 < command.size()) {
            word += command[++i];
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    // "exec ssh ..." is a common spelling.
    if (!words.empty() && words.front() == "exec") words.erase(words.begin());
    return words;
}

Result<std::vector<Hop>> resolve_hops(const SshTarget& target, const std::vector<std::string>& args, const SshConfigQuery& query,
                                      const std::string& local_user) {
    Resolver r(query, local_user);
    if (auto st = r.add(target.host, args[target.destination_index], target.config_options, target.config_file, target.user, false);
        !st)
        return st.error();
    return std::move(r).hops();
}

SshConfigQuery ssh_config_query(const std::string& ssh_program) {
    return [ssh_program](const std::vector<std::string>& args) { return ssh_config_dump(ssh_program, args); };
}

}  // namespace sshcert::client
