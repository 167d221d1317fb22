// SPDX-License-Identifier: Apache-2.0
#include "ca_keys.hpp"

#include <algorithm>

#include "ssh_cert.hpp"

namespace sshcert::client {

namespace {

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

Status for_each_key_line(std::string_view text, const std::function<Status(std::size_t, std::string_view)>& fn) {
    for (std::size_t line_no = 1; !text.empty(); ++line_no) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#') continue;
        if (auto st = fn(line_no, line); !st) return st;
    }
    return ok_status();
}

Result<std::string> check_ca_key(std::string_view line) {
    auto key = parse_public_key_line(line);
    if (!key) return Error{Errc::InvalidArgument, key.error().message};
    return format_key_line(key->blob, printable_ascii(key->comment) ? key->comment : std::string());
}

Result<std::vector<std::string>> parse_ca_keys(std::string_view text, const std::string& origin) {
    // The one mistake that must never reach user data: a CA's private key.
    if (text.find("-----BEGIN") != std::string_view::npos && text.find("PRIVATE KEY") != std::string_view::npos)
        return Error{Errc::InvalidArgument, origin + " holds a private key; give the CA's public key instead "
                                                     "(its .pub file, or the output of `sshcert ca`)"};
    std::vector<std::string> keys;
    auto st = for_each_key_line(text, [&](std::size_t line_no, std::string_view line) -> Status {
        auto key = check_ca_key(line);
        if (!key)
            return Error{Errc::InvalidArgument, origin + " line " + std::to_string(line_no) +
                                                    ": not an SSH public key: " + key.error().message};
        keys.push_back(std::move(*key));
        return ok_status();
    });
    if (!st) return st.error();
    if (keys.empty()) return Error{Errc::InvalidArgument, origin + " holds no SSH public key"};
    return keys;
}

Result<CaKeys> fetch_ca_keys(const ControlClient& daemon, const std::optional<std::string>& profile,
                             const std::optional<std::string>& mount, control::Json route) {
    control::Json args = std::move(route);
    if (mount) args["mount"] = *mount;
    else if (profile) args["profile"] = *profile;
    auto reply = daemon.call(control::make_request(control::op::kCaKeys, std::move(args)));
    if (!reply) return reply.error();
    control::FieldReader f(*reply);
    CaKeys out;
    out.mount = f.string("mount");
    auto lines = f.strings("keys");
    if (f.error()) return *f.error();
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    auto keys = parse_ca_keys(text, "the CA key Vault returned for mount '" + out.mount + "'");
    if (!keys) return Error{Errc::VaultBadResponse, keys.error().message};
    out.keys = std::move(*keys);
    return out;
}

Status check_known_hosts_pattern(std::string_view pattern) {
    if (pattern.empty() || !printable_ascii(pattern) || pattern.find(' ') != std::string_view::npos ||
        pattern.front() == '#' || pattern.front() == '@')
        return Error{Errc::InvalidArgument, "--known-hosts '" + std::string(pattern) +
                                                "' is not a known_hosts host pattern (comma-separated names or "
                                                "wildcards such as '*.example.com', without spaces)"};
    return ok_status();
}

std::string known_hosts_line(std::string_view pattern, std::string_view key) {
    return "@cert-authority " + std::string(pattern) + " " + std::string(key);
}

}  // namespace sshcert::client
