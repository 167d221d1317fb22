// SPDX-License-Identifier: Apache-2.0
#include "ssh_config.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "format.hpp"
#include "paths.hpp"

namespace sshcert::client {

namespace {

bool control_char(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

/// Nothing in it means anything to ssh_config's tokenizers, to a shell, or to ssh's %-expansion.
bool plain(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._+-:@,=", c) != nullptr;
    });
}

/// OpenSSH before 9.9 reads a Match line's quoted words up to the next '"' with no escapes, later
/// versions with backslash escapes: a quote or backslash inside means different things to them.
Status check_quotable(const std::string& what, const std::string& text) {
    for (char c : text)
        if (c == '"' || c == '\'' || c == '\\' || control_char(c))
            return Error{Errc::InvalidArgument, what + " '" + text + "' has a quote, backslash or control character, which ssh_config "
                                                "cannot carry into every OpenSSH version; use a path without them"};
    return ok_status();
}

/// ssh expands %x in IdentityAgent and Match exec; %% is a literal %.
std::string escape_percent(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '%' ? std::string("%%") : std::string(1, c);
    return out;
}

/// A double-quoted ssh_config word unless it needs no quotes.
std::string config_word(const std::string& text) { return plain(text) ? text : "\"" + text + "\""; }

Result<std::string> identity_agent_word(const std::string& socket) {
    if (auto st = check_quotable("the agent socket path", socket); !st) return st.error();
    if (socket.find("${") != std::string::npos)  // ssh expands ${VAR} there, with no way to escape it
        return Error{Errc::InvalidArgument, "the agent socket path '" + socket + "' has '${', which ssh would expand; set XDG_RUNTIME_DIR to a path without it"};
    return config_word(escape_percent(socket));
}

/// UserKnownHostsFile's words: the user's own file first (where ssh adds new host keys), then ours.
Result<std::string> known_hosts_words(const std::string& file) {
    if (auto st = check_quotable("the known_hosts path", file); !st) return st.error();
    if (file.find("${") != std::string::npos)
        return Error{Errc::InvalidArgument, "the known_hosts path '" + file + "' has '${', which ssh would expand; set XDG_CONFIG_HOME to a path without it"};
    return "~/.ssh/known_hosts " + config_word(escape_percent(file));
}

/// The Match exec command: run by the user's $SHELL (sh, bash, zsh, fish alike) after ssh's %-expansion.
Result<std::string> ensure_command(const std::string& sshcert_path, const std::string& profile) {
    if (auto st = check_quotable("the sshcert path", sshcert_path); !st) return st.error();
    std::string program = plain(sshcert_path) ? sshcert_path : "'" + sshcert_path + "'";
    // %n and %r are quoted too: an OpenSSH older than 9.6 passes shell characters in them through.
    return escape_percent(program) + " ensure --profile " + profile + " --host '%n' --user '%r' --quiet";
}

/// A profile's hosts as one Match pattern list: comma-separated, negations kept.
Result<std::string> pattern_list(const config::Profile& p) {
    for (const auto& h : p.hosts) {
        bool bad = h.empty() || h == "!" || std::any_of(h.begin(), h.end(), [](char c) {
                       return std::isspace(static_cast<unsigned char>(c)) || std::strchr(",\"'\\#", c) != nullptr || control_char(c);
                   });
        if (bad)
            return Error{Errc::InvalidArgument, "profile '" + p.name + "' has host pattern '" + h +
                                                    "', which ssh_config cannot match (no spaces, commas, quotes, backslashes or '#')"};
    }
    return join(p.hosts, ",");
}

/// The start of a config line: its keyword, lowercased, and the words after it (quotes removed).
std::pair<std::string, std::vector<std::string>> config_words(std::string_view line) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (std::isspace(static_cast<unsigned char>(line[i])) || (words.size() == 1 && line[i] == '='))) ++i;
        if (i == line.size() || (line[i] == '#' && words.empty())) break;
        std::string word;
        char quote = 0;
        for (; i < line.size() && (quote || !(std::isspace(static_cast<unsigned char>(line[i])) || (words.empty() && line[i] == '='))); ++i) {
            if (line[i] == '"') quote = quote ? 0 : '"';
            else word += line[i];
        }
        words.push_back(std::move(word));
    }
    if (words.empty()) return {};
    std::string keyword = words.front();
    std::transform(keyword.begin(), keyword.end(), keyword.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return {keyword, {words.begin() + 1, words.end()}};
}

}  // namespace

Result<std::string> ssh_config_text(const config::Config& config, const std::string& runtime_dir, const std::string& sshcert_path,
                                    const std::string& known_hosts_file) {
    if (config.profiles.empty())
        return Error{Errc::NotFound, "no [[profile]] is configured" + (config.source.empty() ? std::string() : " in " + config.source) +
                                         "; add one (see sshcert.toml(5)), then run this again"};
    std::string agents, ensures, earlier;  // earlier: the criteria that leave out hosts an earlier profile takes
    for (const auto& p : config.profiles) {
        auto patterns = pattern_list(p);
        if (!patterns) return patterns.error();
        auto agent = identity_agent_word(config::profile_agent_socket_path(runtime_dir, p.name));
        if (!agent) return agent.error();
        auto command = ensure_command(sshcert_path, p.name);
        if (!command) return command.error();
        // As the daemon does, the first profile whose hosts match takes the host.
        std::string criteria = "originalhost " + *patterns + earlier;
        agents += "Match " + criteria + "\n    IdentityAgent " + *agent + "\n    IdentitiesOnly no\n";
        if (!p.host_ca_mount.empty() && !known_hosts_file.empty()) {
            auto files = known_hosts_words(known_hosts_file);
            if (!files) return files.error();
            agents += "    UserKnownHostsFile " + *files + "\n";
        }
        ensures += "Match final " + criteria + " exec \"" + *command + "\"\n";
        earlier += " !originalhost " + *patterns;
    }
    return "# Written by `sshcert ssh-config` from " + config.source +
           ": plain ssh, scp, sftp, rsync and git\n"
           "# get sshcert's certificates for these hosts. ssh keeps the first value it reads for an option, so this\n"
           "# must come before the rest of ~/.ssh/config: `sshcert ssh-config --install` includes it at the top.\n"
           "# Run that again after changing the profiles; edits here are lost.\n"
           "\n"
           "# Read first: each profile's hosts use its own agent socket, which offers only its certificate.\n"
           "# IdentitiesOnly yes would hide the agent's certificates (no IdentityFile names them). Hosts are\n"
           "# matched as typed, as `sshcert ssh` matches them; every other option is left to your config.\n" +
           agents +
           "\n"
           "# On ssh's final pass, once any User line has set %r: the certificate for the host and remote user,\n"
           "# from the daemon or fetched from Vault, or one line on stderr saying why not.\n" +
           ensures;
}

Result<std::string> include_line(const std::string& path) {
    if (auto st = check_quotable("the file", path); !st) return st.error();
    if (path.find_first_of("*?[") != std::string::npos)  // Include takes glob patterns
        return Error{Errc::InvalidArgument, "the file '" + path + "' has glob characters (*?[), which Include would expand"};
    return "Include " + config_word(path);
}

IncludeState find_include(std::string_view ssh_config, const std::string& path, const std::string& home) {
    bool in_block = false;
    for (std::size_t pos = 0; pos < ssh_config.size();) {
        auto nl = ssh_config.find('\n', pos);
        auto [keyword, args] = config_words(ssh_config.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
        pos = nl == std::string_view::npos ? ssh_config.size() : nl + 1;
        if (keyword == "host" || keyword == "match") in_block = true;
        if (keyword != "include") continue;
        for (const auto& a : args)
            if (a == path || (a.starts_with("~/") && home + a.substr(1) == path))
                return in_block ? IncludeState::AfterHostOrMatch : IncludeState::AtTop;
    }
    return IncludeState::Missing;
}

std::string with_include_at_top(std::string_view ssh_config, const std::string& line) {
    std::string out = "# sshcert's certificates for plain ssh; keep this above every Host and Match line\n" + line + "\n";
    if (!ssh_config.empty()) out += "\n" + std::string(ssh_config);
    return out;
}

}  // namespace sshcert::client
