// SPDX-License-Identifier: Apache-2.0
// The cloud-init user data that makes a new instance trust the Vault SSH CA
// from its first boot. Pure: inputs in, text out, no I/O. On the instance it
// writes (mode 0644, owned by root):
//
//   /etc/ssh/trusted_user_ca_keys           the CA keys (two or more during a rotation)
//   /etc/ssh/auth_principals/<user>         the principals per local user (--principals)
//   /etc/ssh/revoked_keys                   the KRL (--revoked-keys)
//   /etc/ssh/sshd_config.d/10-sshcert.conf  the sshd settings (style dropin)
//
// Style append puts the settings into /etc/ssh/sshd_config itself instead,
// once, from bootcmd. Either way runcmd restarts sshd at the end of the boot.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace sshcert::client::cloud_init {

enum class Style { DropIn, Append };
enum class Format { Yaml, Json, Mime, Base64 };

inline constexpr const char* kCaKeysPath = "/etc/ssh/trusted_user_ca_keys";
inline constexpr const char* kPrincipalsDir = "/etc/ssh/auth_principals";
inline constexpr const char* kRevokedKeysPath = "/etc/ssh/revoked_keys";
/// sshd keeps the first value it reads for each keyword, and Debian, Ubuntu,
/// RHEL and Amazon Linux include sshd_config.d/*.conf in lexical order from the
/// top of sshd_config, so 10- wins over the images' own 50-cloud-init.conf,
/// 50-redhat.conf and 60-cloudimg-settings.conf.
inline constexpr const char* kDropInPath = "/etc/ssh/sshd_config.d/10-sshcert.conf";
inline constexpr const char* kSshdConfigPath = "/etc/ssh/sshd_config";
/// EC2 refuses user data over 16 KiB, counted before base64 encoding.
inline constexpr std::size_t kEc2UserDataLimitBytes = 16384;

struct PrincipalMapping {
    std::string user;                     ///< local account on the instance
    std::vector<std::string> principals;  ///< certificate principals that may log in as it
};

struct Inputs {
    std::vector<std::string> ca_keys;          ///< public key lines; at least one
    std::vector<PrincipalMapping> principals;  ///< none: a certificate logs in as the users it names
    std::optional<std::string> revoked_keys;   ///< a KRL or a list of public keys, shipped byte for byte
    Style style = Style::DropIn;
    Format format = Format::Yaml;
    std::string origin;  ///< where the keys came from, for the YAML header comment
};

struct UserData {
    std::string text;                 ///< what to print
    std::size_t user_data_bytes = 0;  ///< the size a cloud counts: the document before base64
};

Result<Style> parse_style(std::string_view name);
Result<Format> parse_format(std::string_view name);
/// "USER=P1,P2" as given to --principals.
Result<PrincipalMapping> parse_principal_mapping(std::string_view text);
/// A KRL (ssh-keygen -k) or a text list of public keys; `origin` names the file in errors.
Status check_revoked_keys(std::string_view data, const std::string& origin);

/// The user data in the requested format. Fails on bad inputs and, for
/// base64 (which is meant for EC2), on user data over EC2's limit.
Result<UserData> generate(const Inputs& in);

}  // namespace sshcert::client::cloud_init
