// SPDX-License-Identifier: Apache-2.0
// sshcert's configuration: the TOML file (see example-config.toml), its
// defaults, and the Vault CLI environment variables that override it.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paths.hpp"
#include "result.hpp"

namespace sshcert::config {

enum class KeyType { Ed25519, EcdsaP256, EcdsaP384, Rsa3072, Rsa4096 };
/// The config spelling of a key type ("ed25519", "ecdsa-p256", ...).
std::string_view to_string(KeyType t);
std::optional<KeyType> key_type_from_string(std::string_view s);

/// The ways `sshcert login` can log in ([auth] method, --method), in the order help texts list them.
inline constexpr std::array<std::string_view, 7> kLoginMethods{"token", "userpass", "ldap", "oidc", "approle", "cert", "aws"};
bool is_login_method(std::string_view name);
/// "token, userpass, ldap, oidc, approle, cert or aws" (`last` joins the last two: "or", "and").
std::string login_method_list(std::string_view last);

struct VaultSettings {
    std::string address = "https://127.0.0.1:8200";  ///< the Vault CLI's default
    std::vector<std::string> fallback_addresses;      ///< tried in order when `address` cannot be reached
    std::string namespace_name;                       ///< sent as X-Vault-Namespace when set
    std::string ca_cert;                              ///< PEM bundle to trust instead of the system roots
    std::string ca_path;                              ///< directory of PEM files to trust
    bool skip_verify = false;                         ///< disables TLS verification (never in production)
    /// A TLS client certificate and its key (PEM files), presented on every request to this Vault,
    /// as the Vault CLI's VAULT_CLIENT_CERT / VAULT_CLIENT_KEY: Vault's cert auth method checks it
    /// at login and again at every token renewal.
    std::string client_cert;
    std::string client_key;  ///< empty: the key is in the client_cert file
    /// The name Vault's certificate is checked against and sent as SNI and Host when it differs from
    /// the address's host (VAULT_TLS_SERVER_NAME): https://10.0.0.5:8200 with a certificate for vault.internal.
    std::string tls_server_name;
    std::chrono::seconds timeout{30};                 ///< whole-request timeout for each Vault call

    bool operator==(const VaultSettings&) const = default;
};

struct AuthSettings {
    std::string method = "token";  ///< default for `sshcert login`: one of kLoginMethods
    std::string mount;             ///< auth mount path; empty means the method's own name
    std::string username;          ///< default user name for password methods
    /// How long a login waits for its second factor (a passcode, a push approved); Vault itself
    /// forgets the login after 5 minutes, so no more than that.
    std::chrono::seconds mfa_timeout{300};
    /// Keep the login in the kernel keyring, so it outlives a restart of sshcertd.
    bool persist_login = true;
    std::string role;  ///< the Vault role of an oidc login; empty: the mount's default_role
    /// Where `sshcert login --method oidc` listens for the browser coming back (the Vault CLI's
    /// listenaddress and port), and the callback host and port Vault is told (its callbackhost and
    /// callbackport; 0: the listen port), which the role's allowed_redirect_uris must list.
    std::string oidc_listen_address = "127.0.0.1";
    int oidc_listen_port = 8250;
    std::string oidc_callback_host = "localhost";
    int oidc_callback_port = 0;
    /// approle: files holding the role_id and the secret_id (absolute, or starting with ~/), read at
    /// every login; with secret_id_wrapped the second holds a response-wrapping token for the secret_id.
    std::string role_id_file;
    std::string secret_id_file;
    bool secret_id_wrapped = false;
    /// aws: the ~/.aws profile (AWS_PROFILE wins), the region STS is signed for and asked in
    /// (AWS_REGION wins), the X-Vault-AWS-IAM-Server-ID Vault's config/client wants, and an STS
    /// endpoint URL other than AWS's (AWS_ENDPOINT_URL_STS wins). `role` is the Vault aws role.
    std::string aws_profile;
    std::string region;
    std::string header_value;
    std::string sts_endpoint;

    /// http://<oidc_callback_host>:<port>/oidc/callback, as the Vault CLI builds it.
    std::string oidc_redirect_uri() const;
};

/// The name of the Vault in [vault] and [auth]; [vault.<name>] tables name the others.
inline constexpr const char* kDefaultVault = "default";

/// A Vault beside the default one: [vault.<name>] and its [auth.<name>].
struct NamedVault {
    std::string name;
    VaultSettings vault;
    AuthSettings auth;  ///< [auth.<name>]; the built-in defaults without one
};

struct AgentSettings {
    /// The user's previous ssh-agent socket: its keys are listed after ours and
    /// their sign requests passed through. Empty: off.
    std::string upstream_agent;
    /// Certificates asked for within this long are renewed in the background before they run
    /// out, so no ssh waits on Vault; 0 turns background renewal off.
    std::chrono::seconds renew_window{1800};
};

struct Profile {
    std::string name;
    std::vector<std::string> hosts;       ///< ssh_config-style patterns, "!" negates
    std::string mount = "ssh";            ///< SSH secrets engine mount
    std::string host_ca_mount;            ///< the SSH secrets engine mount that signs the hosts' keys; empty: none
    std::string role;                     ///< Vault role to sign with
    std::vector<std::string> principals;  ///< empty: the remote user name
    std::chrono::seconds ttl{0};          ///< 0: the role's default
    KeyType key_type = KeyType::Ed25519;
    std::vector<std::string> extensions;  ///< requested extensions; empty: the role's default_extensions
    /// extensions = "auto": what each ssh command line needs (sshcert ssh's flags), and without
    /// them (plain ssh's Match exec) every one the role allows.
    bool auto_extensions = false;
    std::string vault = kDefaultVault;    ///< the Vault that signs: kDefaultVault or a [vault.<name>]
};

struct Config {
    std::string source;  ///< the file read, or empty when defaults are in use
    VaultSettings vault;  ///< the default Vault ([vault]); the environment applies to it alone
    AuthSettings auth;
    std::vector<NamedVault> vaults;  ///< the [vault.<name>] ones, in file order
    AgentSettings agent;
    std::vector<Profile> profiles;

    /// The settings of Vault `name` (kDefaultVault or a [vault.<name>]), or nullptr.
    const VaultSettings* find_vault(std::string_view name) const;
    const AuthSettings* find_auth(std::string_view name) const;
    /// kDefaultVault first, then the named ones.
    std::vector<std::string> vault_names() const;

    const Profile* find_profile(std::string_view name) const;
    /// The first profile whose host patterns match, as ssh_config's first-match rule.
    const Profile* profile_for_host(std::string_view host) const;
};

/// Parses TOML text; errors name `origin` and the line ("config.toml:12: ...").
Result<Config> parse(std::string_view text, const std::string& origin);
/// Reads and parses a file. A missing file is an error only when `must_exist`.
Result<Config> load_file(const std::string& path, bool must_exist);

using Getenv = std::function<const char*(const char*)>;
/// Applies VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH and
/// VAULT_SKIP_VERIFY on top of the file's default [vault], as the Vault CLI does
/// (never to a [vault.<name>]: one environment names one Vault).
Status apply_vault_env(Config& config, const Getenv& getenv);

/// Loads the config the way both binaries do: the `--config` path, else the
/// XDG default, else (when the user has no file) `system_path`; then the environment.
Result<Config> load(const std::optional<std::string>& explicit_path, const Getenv& getenv,
                    const std::string& system_path = kSystemConfigPath);

/// Parses "90", "90s", "15m", "1h30m", "2d" (Vault's duration forms) into seconds.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace sshcert::config
