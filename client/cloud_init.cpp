// SPDX-License-Identifier: Apache-2.0
#include "cloud_init.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "ca_keys.hpp"
#include "ssh_cert.hpp"
#include "ssh_wire.hpp"
#include "version.hpp"
#include "yaml_writer.hpp"

namespace sshcert::client::cloud_init {

namespace {

using Json = nlohmann::ordered_json;

/// The first 8 bytes of every KRL (OpenSSH's PROTOCOL.krl: "SSHKRL\n\0").
constexpr std::string_view kKrlMagic{"SSHKRL\n\0", 8};
/// MIME's line length for base64; keeps every line of the document short.
constexpr std::size_t kBase64LineChars = 76;
/// Lets our part be combined with earlier cloud-config parts: lists such as
/// write_files and runcmd are appended to, not replaced (cloud-init's default).
constexpr const char* kMimeMergeType = "list(append)+dict(no_replace,recurse_list)+str()";
/// Debian and Ubuntu name the unit ssh.service (sshd.service is only an alias, and
/// missing where ssh is socket-activated); RHEL, Fedora and Amazon Linux name it sshd.service.
constexpr const char* kRestartSshd = "systemctl restart ssh.service 2>/dev/null || systemctl restart sshd.service";
constexpr const char* kWrittenBy = "by cloud-init from sshcert user data: trust SSH certificates signed by the Vault CA.";

Error bad(std::string message) { return Error{Errc::InvalidArgument, std::move(message)}; }

/// Names the principals file, so no '/' and no leading '.' or '-'.
bool valid_user(std::string_view u) {
    if (u.empty() || u.size() > 255 || u.front() == '-' || u.front() == '.') return false;
    return std::all_of(u.begin(), u.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
    });
}

/// One line of an AuthorizedPrincipalsFile: sshd would read a space as the end
/// of key options and '#' as a comment.
bool valid_principal(std::string_view p) {
    return !p.empty() && p.front() != '#' &&
           std::all_of(p.begin(), p.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ','; });
}

Status check_mapping(const PrincipalMapping& m, const std::string& given) {
    if (m.user.empty()) return bad(given + ": the local user before '=' is empty");
    if (!valid_user(m.user))
        return bad(given + ": '" + m.user + "' is not a local user name (letters, digits, '.', '_', '-', '@'; "
                                            "not starting with '.' or '-')");
    if (m.principals.empty()) return bad(given + ": no principals for user '" + m.user + "'");
    for (const auto& p : m.principals) {
        if (p.empty()) return bad(given + ": an empty principal in the list");
        if (!valid_principal(p))
            return bad(given + ": principal '" + p + "' holds a space, a control character or a leading '#'");
    }
    return ok_status();
}

/// "type base64" of a checked key line.
std::string_view without_comment(std::string_view key_line) {
    return key_line.substr(0, key_line.find(' ', key_line.find(' ') + 1));
}

std::string lines(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += s + "\n";
    return out;
}

std::string base64_lines(std::string_view data) {
    std::string b64 = wire::base64_encode(wire::view(data));
    std::string out;
    for (std::size_t i = 0; i < b64.size(); i += kBase64LineChars) out += b64.substr(i, kBase64LineChars) + "\n";
    return out;
}

Json file_entry(const std::string& path, std::string content, bool base64 = false) {
    Json f = Json::object();
    f["path"] = path;
    f["owner"] = "root:root";
    f["permissions"] = "0644";
    if (base64) f["encoding"] = "b64";
    f["content"] = std::move(content);
    return f;
}

/// Puts the settings at the top of sshd_config, once per machine: sshd keeps the
/// first value it reads, and lines appended after a Match block would only apply
/// inside it. The file is rewritten in place, so its owner, mode and SELinux
/// label stay as they are.
std::string prepend_script(const std::string& settings) {
    return std::string("cloud-init-per once sshcert_sshd_config sh -c '") + "f=" + kSshdConfigPath +
           "; { cat; cat \"$f\"; } > \"$f.sshcert\" && cat \"$f.sshcert\" > \"$f\" && rm -f \"$f.sshcert\"' <<'EOF'\n" +
           "# Added " + kWrittenBy + "\n" + settings + "\nEOF\n";
}

std::string printable(std::string s) {
    std::replace_if(s.begin(), s.end(), [](char c) { return c < 0x20 || c > 0x7e; }, '?');
    return s;
}

std::string mime(const std::string& cloud_config) {
    std::string boundary = "sshcert-user-data";
    for (int n = 1; cloud_config.find(boundary) != std::string::npos; ++n) boundary = "sshcert-user-data-" + std::to_string(n);
    return "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\n"
           "MIME-Version: 1.0\n"
           "\n"
           "--" + boundary + "\n"
           "Content-Type: text/cloud-config; charset=\"us-ascii\"\n"
           "MIME-Version: 1.0\n"
           "Content-Transfer-Encoding: 7bit\n"
           "Content-Disposition: attachment; filename=\"sshcert.cfg\"\n"
           "Merge-Type: " + kMimeMergeType + "\n"
           "\n" + cloud_config +
           "\n--" + boundary + "--\n";  // the line break before a boundary belongs to the boundary
}

}  // namespace

Result<Style> parse_style(std::string_view name) {
    if (name == "dropin") return Style::DropIn;
    if (name == "append") return Style::Append;
    return bad("unknown --style '" + std::string(name) + "' (use dropin or append)");
}

Result<Format> parse_format(std::string_view name) {
    if (name == "yaml") return Format::Yaml;
    if (name == "json") return Format::Json;
    if (name == "mime") return Format::Mime;
    if (name == "base64") return Format::Base64;
    return bad("unknown --format '" + std::string(name) + "' (use yaml, json, mime or base64)");
}

Result<PrincipalMapping> parse_principal_mapping(std::string_view text) {
    std::string given = "--principals '" + std::string(text) + "'";
    auto eq = text.find('=');
    if (eq == std::string_view::npos) return bad(given + ": expected USER=PRINCIPAL[,PRINCIPAL...]");
    PrincipalMapping m{std::string(text.substr(0, eq)), {}};
    for (std::string_view list = text.substr(eq + 1); !list.empty();) {
        auto comma = list.find(',');
        m.principals.emplace_back(list.substr(0, comma));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
        if (list.empty()) m.principals.emplace_back();  // "a,": the empty principal after the comma
    }
    if (auto st = check_mapping(m, given); !st) return st.error();
    return m;
}

Status check_revoked_keys(std::string_view data, const std::string& origin) {
    if (data.starts_with(kKrlMagic)) return ok_status();
    // Not a KRL: sshd then reads the file as public keys, one a line.
    bool any = false;
    auto st = for_each_key_line(data, [&](std::size_t line_no, std::string_view line) -> Status {
        if (auto key = parse_key_line(line); !key)
            return bad(origin + " is neither a KRL (made by ssh-keygen -k) nor a list of public keys: line " +
                       std::to_string(line_no) + ": " + key.error().message);
        any = true;
        return ok_status();
    });
    if (st && !any) return bad(origin + " revokes nothing; make a KRL with ssh-keygen -k");
    return st;
}

namespace {

/// The keys checked and rewritten; the same key from two files is listed once, whatever its comments say.
Result<std::vector<std::string>> distinct_keys(const std::vector<std::string>& lines) {
    if (lines.empty()) return bad("no CA key to trust");
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto key = check_ca_key(lines[i]);
        if (!key) return bad("CA key " + std::to_string(i + 1) + ": " + key.error().message);
        auto same = [&](const std::string& k) { return without_comment(k) == without_comment(*key); };
        if (std::none_of(keys.begin(), keys.end(), same)) keys.push_back(std::move(*key));
    }
    return keys;
}

/// One mapping per user, in the order the users were first given.
Result<std::vector<PrincipalMapping>> merged(const std::vector<PrincipalMapping>& given) {
    std::vector<PrincipalMapping> out;
    for (const auto& m : given) {
        if (auto st = check_mapping(m, "principals for '" + m.user + "'"); !st) return st.error();
        auto it = std::find_if(out.begin(), out.end(), [&](const auto& x) { return x.user == m.user; });
        if (it == out.end()) it = out.insert(out.end(), PrincipalMapping{m.user, {}});
        for (const auto& p : m.principals)
            if (std::find(it->principals.begin(), it->principals.end(), p) == it->principals.end()) it->principals.push_back(p);
    }
    return out;
}

}  // namespace

Result<UserData> generate(const Inputs& in) {
    auto keys = distinct_keys(in.ca_keys);
    if (!keys) return keys.error();
    auto mappings = merged(in.principals);
    if (!mappings) return mappings.error();
    if (in.revoked_keys)
        if (auto st = check_revoked_keys(*in.revoked_keys, "the revoked keys"); !st) return st.error();

    std::string settings = std::string("TrustedUserCAKeys ") + kCaKeysPath + "\n";
    if (!mappings->empty()) settings += std::string("AuthorizedPrincipalsFile ") + kPrincipalsDir + "/%u\n";
    if (in.revoked_keys) settings += std::string("RevokedKeys ") + kRevokedKeysPath + "\n";

    Json files = Json::array();
    files.push_back(file_entry(kCaKeysPath, "# SSH CA keys trusted for user certificates (sshcert user data)\n" + lines(*keys)));
    for (const auto& m : *mappings)
        files.push_back(file_entry(std::string(kPrincipalsDir) + "/" + m.user,
                                   "# Certificate principals that may log in as " + m.user + " (sshcert user data)\n" + lines(m.principals)));
    if (in.revoked_keys) files.push_back(file_entry(kRevokedKeysPath, base64_lines(*in.revoked_keys), true));
    if (in.style == Style::DropIn) files.push_back(file_entry(kDropInPath, std::string("# Written ") + kWrittenBy + "\n" + settings));

    // bootcmd runs before write_files; sshd reads the files only when a user logs in.
    Json doc = Json::object();
    if (in.style == Style::Append) doc["bootcmd"] = Json::array({prepend_script(settings)});
    doc["write_files"] = std::move(files);
    doc["runcmd"] = Json::array({kRestartSshd});

    std::string header = "#cloud-config\n";
    std::string yaml = header + "# sshcert " + kVersion + ": trust SSH user certificates signed by " +
                       printable(in.origin.empty() ? "the Vault SSH CA" : in.origin) + ".\n" + to_yaml(doc);
    switch (in.format) {
        case Format::Yaml: return UserData{yaml, yaml.size()};
        case Format::Json: {
            // JSON from the first byte, for the tools that build user data from it (jsonencode, an API
            // field); as user data itself it needs the #cloud-config line, or the text/cloud-config type, first.
            std::string json = doc.dump(2, ' ', true) + "\n";
            return UserData{json, json.size()};
        }
        case Format::Mime: {
            std::string text = mime(yaml);
            return UserData{text, text.size()};
        }
        case Format::Base64:
            if (yaml.size() > kEc2UserDataLimitBytes)
                return bad("the user data is " + std::to_string(yaml.size()) + " bytes, " +
                           std::to_string(yaml.size() - kEc2UserDataLimitBytes) + " over EC2's limit of " +
                           std::to_string(kEc2UserDataLimitBytes) + " bytes (counted before base64); ship a smaller "
                           "KRL or fewer keys and principals");
            return UserData{wire::base64_encode(wire::view(yaml)) + "\n", yaml.size()};
    }
    return bad("unknown format");
}

}  // namespace sshcert::client::cloud_init
