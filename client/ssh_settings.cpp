// SPDX-License-Identifier: Apache-2.0
#include "ssh_settings.hpp"

#include "run_capture.hpp"

namespace sshcert::client {

SshSettings SshSettings::parse(std::string_view dump) {
    SshSettings s;
    while (!dump.empty()) {
        auto nl = dump.find('\n');
        std::string_view line = dump.substr(0, nl);
        dump = nl == std::string_view::npos ? std::string_view{} : dump.substr(nl + 1);
        auto space = line.find(' ');
        if (space == 0 || space == std::string_view::npos) continue;
        s.lines_.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
    }
    return s;
}

std::optional<std::string> SshSettings::first(std::string_view keyword) const {
    for (const auto& [k, v] : lines_)
        if (k == keyword) return v;
    return std::nullopt;
}

std::vector<std::string> SshSettings::all(std::string_view keyword) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : lines_)
        if (k == keyword) out.push_back(v);
    return out;
}

std::vector<std::string> SshSettings::words(std::string_view keyword) const {
    std::vector<std::string> out;
    for (const auto& value : all(keyword)) {
        std::string_view rest = value;
        while (!rest.empty()) {
            auto space = rest.find(' ');
            if (space != 0) out.emplace_back(rest.substr(0, space));
            if (space == std::string_view::npos) break;
            rest.remove_prefix(space + 1);
        }
    }
    return out;
}

std::string ssh_program(const config::Getenv& getenv) {
    const char* p = getenv("SSHCERT_SSH");
    return p && *p ? p : "ssh";
}

Result<std::string> ssh_config_dump(const std::string& ssh_program, const std::vector<std::string>& ssh_args) {
    std::vector<std::string> argv{ssh_program, "-G"};
    argv.insert(argv.end(), ssh_args.begin(), ssh_args.end());
    auto run = run_capture(argv, {{kInSshG, "1"}});
    if (!run) return run.error();
    if (run->exit_status != 0) {
        std::string why = run->err;
        while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
        return Error{Errc::InvalidArgument, ssh_program + " -G failed" + (why.empty() ? "" : ": " + why)};
    }
    return std::move(run->out);
}

Result<SshSettings> query_ssh_settings(const std::string& ssh_program, const std::vector<std::string>& ssh_args) {
    // RequestTTY=no: without a command ssh would want a tty for the session, and with stdin at
    // /dev/null it would say "Pseudo-terminal will not be allocated" for a session it never opens.
    std::vector<std::string> args{"-o", "RequestTTY=no"};
    args.insert(args.end(), ssh_args.begin(), ssh_args.end());
    auto dump = ssh_config_dump(ssh_program, args);
    if (!dump) return dump.error();
    return SshSettings::parse(*dump);
}

}  // namespace sshcert::client
