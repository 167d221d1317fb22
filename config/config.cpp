// SPDX-License-Identifier: Apache-2.0
// This is the only file that includes toml++: header-only, parse errors returned as values.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "host_match.hpp"
#include "paths.hpp"

namespace sshcert::config {

namespace {

constexpr std::array<std::pair<KeyType, std::string_view>, 5> kKeyTypes{{
    {KeyType::Ed25519, "ed25519"},
    {KeyType::EcdsaP256, "ecdsa-p256"},
    {KeyType::EcdsaP384, "ecdsa-p384"},
    {KeyType::Rsa3072, "rsa-3072"},
    {KeyType::Rsa4096, "rsa-4096"},
}};

/// Walks one TOML table, reading known keys and reporting the first problem
/// as "<origin>:<line>: <what>".
class TableReader {
public:
    TableReader(const toml::table& table, std::string section, const std::string& origin)
        : table_(table), section_(std::move(section)), origin_(origin) {}

    void string(const char* key, std::string& out) {
        if (auto* v = get(key)) {
            if (auto s = v->value<std::string>()) out = *s;
            else fail(*v, key, "must be a string");
        }
    }
    void boolean(const char* key, bool& out) {
        if (auto* v = get(key)) {
            if (auto b = v->value<bool>()) out = *b;
            else fail(*v, key, "must be true or false");
        }
    }
    void strings(const char* key, std::vector<std::string>& out) {
        auto* v = get(key);
        if (!v) return;
        auto* arr = v->as_array();
        if (!arr) return fail(*v, key, "must be a list of strings, e.g. [\"a\", \"b\"]");
        out.clear();
        for (const auto& item : *arr) {
            auto s = item.value<std::string>();
            if (!s) return fail(item, key, "must contain only strings");
            out.push_back(*s);
        }
    }
    /// A list of strings, or the one word `word` (which sets `is_word`).
    void strings_or(const char* key, const char* word, std::vector<std::string>& out, bool& is_word) {
        if (auto* v = get(key); v && v->is_string()) {
            if (*v->value<std::string>() == word) is_word = true;
            else fail(*v, key, (std::string("must be a list of strings, e.g. [\"a\", \"b\"], or \"") + word + "\"").c_str());
            return;
        }
        strings(key, out);
    }
    void duration(const char* key, std::chrono::seconds& out) {
        auto* v = get(key);
        if (!v) return;
        std::optional<std::chrono::seconds> d;
        if (auto i = v->value<std::int64_t>(); i && *i >= 0 && v->is_integer()) d = std::chrono::seconds(*i);
        else if (auto s = v->value<std::string>()) d = parse_duration(*s);
        if (d) out = *d;
        else fail(*v, key, "must be a duration such as \"30m\", \"8h\" or a number of seconds");
    }
    void port(const char* key, int& out, int lowest) {
        auto* v = get(key);
        if (!v) return;
        auto i = v->value<std::int64_t>();
        if (v->is_integer() && i && *i >= lowest && *i <= 65535) out = static_cast<int>(*i);
        else fail(*v, key, "must be a TCP port number, " + std::to_string(lowest) + " to 65535");
    }
    void key_type(const char* key, KeyType& out) {
        std::string s;
        string(key, s);
        if (s.empty() || error_) return;
        if (auto t = key_type_from_string(s)) out = *t;
        else fail(*get(key), key, "must be one of ed25519, ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096");
    }
    /// Marks `key` as read elsewhere (a sub-table).
    void allow(const std::string& key) { known_.insert(key); }
    /// Reports keys nobody asked for (typos stay visible instead of silently ignored).
    void reject_unknown() {
        for (const auto& [k, v] : table_) {
            if (error_) return;
            if (!known_.count(std::string(k.str())))
                error_ = Error{Errc::InvalidArgument, where(k.source()) + "unknown key '" + std::string(k.str()) + "' in " +
                                                          section_};
        }
    }
    void fail_at(const toml::source_region& src, const std::string& what) {
        if (!error_) error_ = Error{Errc::InvalidArgument, where(src) + what};
    }
    std::optional<Error>& error() { return error_; }

private:
    const toml::node* get(const char* key) {
        known_.insert(key);
        return error_ ? nullptr : table_.get(key);
    }
    void fail(const toml::node& node, const char* key, const std::string& what) {
        fail_at(node.source(), section_ + " " + key + " " + what);
    }
    std::string where(const toml::source_region& src) const {
        return origin_ + ":" + std::to_string(src.begin.line) + ": ";
    }

    const toml::table& table_;
    std::string section_;
    const std::string& origin_;
    std::set<std::string> known_;
    std::optional<Error> error_;
};

bool valid_profile_name(const std::string& name) {
    if (name.size() > 64 || name[0] == '.') return false;
    for (char ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') return false;
    return true;
}

Error error_at(const std::string& origin, const toml::source_region& src, const std::string& what) {
    return Error{Errc::InvalidArgument, origin + ":" + std::to_string(src.begin.line) + ": " + what};
}

std::optional<Error> read_profile(const toml::table& t, const std::string& origin, const Config& c, Profile& p) {
    TableReader r(t, "[[profile]]", origin);
    r.string("name", p.name);
    r.strings("hosts", p.hosts);
    r.string("mount", p.mount);
    r.string("host_ca_mount", p.host_ca_mount);
    r.string("role", p.role);
    r.strings("principals", p.principals);
    r.duration("ttl", p.ttl);
    r.key_type("key_type", p.key_type);
    r.strings_or("extensions", "auto", p.extensions, p.auto_extensions);
    r.string("vault", p.vault);
    r.reject_unknown();
    if (!r.error()) {
        if (p.name.empty()) r.fail_at(t.source(), "[[profile]] needs a name");
        else if (!valid_profile_name(p.name))
            r.fail_at(t.source(), "profile name '" + p.name + "' may use only letters, digits, '.', '_' and '-' (it names a socket file)");
        else if (p.role.empty()) r.fail_at(t.source(), "profile '" + p.name + "' needs a role (the Vault SSH role to sign with)");
        else if (p.hosts.empty()) r.fail_at(t.source(), "profile '" + p.name + "' needs hosts, e.g. hosts = [\"*.example.com\"]");
        else if (p.mount.empty()) r.fail_at(t.source(), "profile '" + p.name + "' has an empty mount");
        else if (!c.find_vault(p.vault)) {
            std::string names;
            for (const auto& n : c.vault_names()) names += (names.empty() ? "" : ", ") + n;
            r.fail_at(t.get("vault")->source(), "profile '" + p.name + "' names vault '" + p.vault + "', but there is no [vault." +
                                                    p.vault + "] (Vaults: " + names + ")");
        }
    }
    return r.error();
}

/// What is wrong with a Vault's tls_server_name (`from` says where it was set), if anything: it must be a
/// host name, and only https addresses have a certificate to check it against.
std::optional<std::string> tls_server_name_problem(const VaultSettings& v, const std::string& from) {
    const std::string& name = v.tls_server_name;
    if (name.empty()) return std::nullopt;
    bool host_name = name.size() <= 253 && name.front() != '.' && name.front() != '-' &&
                     std::all_of(name.begin(), name.end(), [](unsigned char ch) {
                         return std::isalnum(ch) || ch == '-' || ch == '.';
                     });
    if (!host_name)
        return from + " '" + name + "' is not a host name (letters, digits, '-' and '.'), e.g. vault.example.com";
    std::vector<std::string> addresses{v.address};
    addresses.insert(addresses.end(), v.fallback_addresses.begin(), v.fallback_addresses.end());
    for (const auto& a : addresses)
        if (a.rfind("http://", 0) == 0)
            return from + " applies only to https:// addresses, but Vault's address " + a +
                   " is plain http: use https:// or remove it";
    return std::nullopt;
}

/// Reads a [vault] or [vault.<name>] table; `skip` are its sub-tables (the named Vaults).
std::optional<Error> read_vault(const toml::table& t, const std::string& section, const std::string& origin,
                                VaultSettings& v, const std::vector<std::string>& skip = {}) {
    TableReader r(t, section, origin);
    for (const auto& k : skip) r.allow(k);
    r.string("address", v.address);
    r.strings("fallback_addresses", v.fallback_addresses);
    r.string("namespace", v.namespace_name);
    r.string("ca_cert", v.ca_cert);
    r.string("ca_path", v.ca_path);
    r.boolean("skip_verify", v.skip_verify);
    r.string("client_cert", v.client_cert);
    r.string("client_key", v.client_key);
    r.string("tls_server_name", v.tls_server_name);
    r.duration("timeout", v.timeout);
    r.reject_unknown();
    if (!r.error() && v.client_cert.empty() && !v.client_key.empty())
        r.fail_at(t.get("client_key")->source(),
                  section + " client_key needs client_cert, the certificate it belongs to");
    if (auto problem = tls_server_name_problem(v, section + " tls_server_name"); problem && !r.error()) {
        const toml::node* at = t.get("tls_server_name");
        r.fail_at(at ? at->source() : t.source(), *problem);
    }
    return r.error();
}

/// Reads an [auth] or [auth.<name>] table: one parser for both, so every key works in either. Its
/// client_cert and client_key are the cert method's names for those of its Vault (`v`): Vault checks the
/// certificate at every renewal too, so it belongs to the connection.
std::optional<Error> read_auth(const toml::table& t, const std::string& section, const std::string& origin,
                               AuthSettings& a, VaultSettings& v, const std::vector<std::string>& skip = {}) {
    TableReader r(t, section, origin);
    for (const auto& k : skip) r.allow(k);
    r.string("method", a.method);
    r.string("mount", a.mount);
    r.string("username", a.username);
    r.duration("mfa_timeout", a.mfa_timeout);
    r.boolean("persist_login", a.persist_login);
    r.string("role", a.role);
    r.string("oidc_listen_address", a.oidc_listen_address);
    r.port("oidc_listen_port", a.oidc_listen_port, 1);
    r.string("oidc_callback_host", a.oidc_callback_host);
    r.port("oidc_callback_port", a.oidc_callback_port, 0);
    r.string("role_id_file", a.role_id_file);
    r.string("secret_id_file", a.secret_id_file);
    r.boolean("secret_id_wrapped", a.secret_id_wrapped);
    r.string("aws_profile", a.aws_profile);
    r.string("region", a.region);
    r.string("header_value", a.header_value);
    r.string("sts_endpoint", a.sts_endpoint);
    std::string client_cert, client_key;
    r.string("client_cert", client_cert);
    r.string("client_key", client_key);
    r.reject_unknown();
    for (auto [key, value, field] : {std::tuple{"client_cert", &client_cert, &v.client_cert},
                                     std::tuple{"client_key", &client_key, &v.client_key}}) {
        if (r.error() || value->empty()) continue;
        if (!field->empty() && *field != *value)
            r.fail_at(t.get(key)->source(), section + " " + key + " differs from the Vault's " + key + " (" + *field +
                                                "); set it in one place");
        *field = *value;
    }
    if (!r.error() && v.client_cert.empty() && !v.client_key.empty())
        r.fail_at(t.get("client_key")->source(), section + " client_key needs client_cert, the certificate it belongs to");
    if (!r.error() && !is_login_method(a.method))
        r.fail_at(t.get("method")->source(), section + " method must be " + login_method_list("or"));
    for (const char* key : {"role_id_file", "secret_id_file"}) {
        const std::string& path = std::string_view(key) == "role_id_file" ? a.role_id_file : a.secret_id_file;
        if (!r.error() && !path.empty() && path[0] != '/' && !path.starts_with("~/"))
            r.fail_at(t.get(key)->source(), section + " " + key + " must be an absolute path (or start with ~/)");
    }
    if (!r.error() && !a.sts_endpoint.empty() && !a.sts_endpoint.starts_with("https://") &&
        !a.sts_endpoint.starts_with("http://"))
        r.fail_at(t.get("sts_endpoint")->source(), section + " sts_endpoint must be a URL, e.g. \"https://sts.eu-west-1.amazonaws.com\"");
    if (!r.error() && a.oidc_listen_address.empty())
        r.fail_at(t.get("oidc_listen_address")->source(),
                  section + " oidc_listen_address must be an address to listen on, e.g. \"127.0.0.1\"");
    if (!r.error() && (a.oidc_callback_host.empty() ||
                       a.oidc_callback_host.find_first_of("/?#@ ") != std::string::npos))
        r.fail_at(t.get("oidc_callback_host")->source(),
                  section + " oidc_callback_host must be a host name such as \"localhost\"");
    if (!r.error() && (a.mfa_timeout.count() < 1 || a.mfa_timeout.count() > 300))
        r.fail_at(t.get("mfa_timeout")->source(),
                  section + " mfa_timeout must be between 1s and 5m (Vault forgets a login waiting for MFA after 5 minutes)");
    return r.error();
}

/// The names of a table's sub-tables: [vault.<name>] inside [vault].
std::vector<std::string> sub_tables(const toml::table* t) {
    std::vector<std::string> out;
    if (t)
        for (const auto& [k, v] : *t)
            if (v.is_table()) out.emplace_back(k.str());
    return out;
}

/// [vault], [auth] and every [vault.<name>] with its [auth.<name>].
std::optional<Error> read_vaults(const toml::table& root, const std::string& origin, Config& c) {
    const auto* vault = root.get_as<toml::table>("vault");
    const auto* auth = root.get_as<toml::table>("auth");
    auto names = sub_tables(vault);
    if (vault)
        if (auto e = read_vault(*vault, "[vault]", origin, c.vault, names)) return e;
    if (auth)
        if (auto e = read_auth(*auth, "[auth]", origin, c.auth, c.vault, sub_tables(auth))) return e;
    for (const auto& name : names) {
        const auto& t = *vault->get_as<toml::table>(name);
        std::string section = "[vault." + name + "]";
        if (name == kDefaultVault)
            return error_at(origin, t.source(), "[vault.default] is not allowed: the default Vault is [vault] itself");
        if (!valid_profile_name(name))
            return error_at(origin, t.source(), "Vault name '" + name + "' may use only letters, digits, '.', '_' and '-'");
        NamedVault nv{.name = name};
        nv.vault.address.clear();
        if (auto e = read_vault(t, section, origin, nv.vault)) return e;
        if (nv.vault.address.empty())
            return error_at(origin, t.source(), section + " needs an address, e.g. address = \"https://vault.example.com:8200\"");
        if (nv.vault.address == c.vault.address)
            return error_at(origin, t.source(), section + " has the address of [vault] (" + nv.vault.address +
                                                    "); one Vault is one table: use the default, or give this one its own address");
        for (const auto& other : c.vaults)
            if (other.vault.address == nv.vault.address)
                return error_at(origin, t.source(), section + " has the address of [vault." + other.name + "] (" +
                                                        nv.vault.address + "); one Vault is one table");
        if (const auto* a = auth ? auth->get_as<toml::table>(name) : nullptr)
            if (auto e = read_auth(*a, "[auth." + name + "]", origin, nv.auth, nv.vault)) return e;
        c.vaults.push_back(std::move(nv));
    }
    for (const auto& name : sub_tables(auth))
        if (!c.find_vault(name))
            return error_at(origin, auth->get(name)->source(),
                            "[auth." + name + "] belongs to no Vault; add a [vault." + name + "] with its address");
    return std::nullopt;
}

}  // namespace

bool is_login_method(std::string_view name) {
    return std::find(kLoginMethods.begin(), kLoginMethods.end(), name) != kLoginMethods.end();
}

std::string login_method_list(std::string_view last) {
    std::string out;
    for (std::size_t i = 0; i < kLoginMethods.size(); ++i)
        out += (i == 0 ? "" : i + 1 == kLoginMethods.size() ? " " + std::string(last) + " " : ", ") + std::string(kLoginMethods[i]);
    return out;
}

std::string_view to_string(KeyType t) {
    for (const auto& [k, name] : kKeyTypes)
        if (k == t) return name;
    return "ed25519";
}

std::optional<KeyType> key_type_from_string(std::string_view s) {
    for (const auto& [k, name] : kKeyTypes)
        if (name == s) return k;
    return std::nullopt;
}

std::string AuthSettings::oidc_redirect_uri() const {
    int port = oidc_callback_port ? oidc_callback_port : oidc_listen_port;
    return "http://" + oidc_callback_host + ":" + std::to_string(port) + "/oidc/callback";
}

const Profile* Config::find_profile(std::string_view name) const {
    for (const auto& p : profiles)
        if (p.name == name) return &p;
    return nullptr;
}

const VaultSettings* Config::find_vault(std::string_view name) const {
    if (name == kDefaultVault) return &vault;
    for (const auto& v : vaults)
        if (v.name == name) return &v.vault;
    return nullptr;
}

const AuthSettings* Config::find_auth(std::string_view name) const {
    if (name == kDefaultVault) return &auth;
    for (const auto& v : vaults)
        if (v.name == name) return &v.auth;
    return nullptr;
}

std::vector<std::string> Config::vault_names() const {
    std::vector<std::string> out{kDefaultVault};
    for (const auto& v : vaults) out.push_back(v.name);
    return out;
}

const Profile* Config::profile_for_host(std::string_view host) const {
    for (const auto& p : profiles)
        if (match_host(p.hosts, host)) return &p;
    return nullptr;
}

Result<Config> parse(std::string_view text, const std::string& origin) {
    toml::parse_result parsed = toml::parse(text, origin);
    if (!parsed) {
        const auto& err = parsed.error();
        return Error{Errc::InvalidArgument,
                     origin + ":" + std::to_string(err.source().begin.line) + ": " + std::string(err.description())};
    }
    const toml::table& root = parsed.table();
    for (const auto& [k, v] : root) {
        std::string key(k.str());
        if (key == "vault" || key == "auth" || key == "agent") {
            if (!v.is_table()) return error_at(origin, v.source(), "[" + key + "] must be a table");
        } else if (key != "profile") {
            return error_at(origin, k.source(), "unknown key '" + key + "' (expected [vault], [auth], [agent] or [[profile]])");
        }
    }

    Config c;
    c.source = origin;
    if (auto e = read_vaults(root, origin, c)) return *e;
    if (const auto* agent = root.get_as<toml::table>("agent")) {
        TableReader r(*agent, "[agent]", origin);
        r.string("upstream_agent", c.agent.upstream_agent);
        r.duration("renew_window", c.agent.renew_window);
        r.reject_unknown();
        if (!r.error() && !c.agent.upstream_agent.empty() && c.agent.upstream_agent[0] != '/' &&
            !c.agent.upstream_agent.starts_with("~/"))
            r.fail_at(agent->get("upstream_agent")->source(), "[agent] upstream_agent must be an absolute path (or start with ~/)");
        if (r.error()) return *r.error();
    }
    if (const toml::node* profiles = root.get("profile")) {
        const auto* arr = profiles->as_array();
        if (!arr || !arr->is_array_of_tables())
            return error_at(origin, profiles->source(), "profiles are written as [[profile]] tables");
        for (const auto& node : *arr) {
            Profile p;
            if (auto e = read_profile(*node.as_table(), origin, c, p)) return *e;
            if (c.find_profile(p.name)) return error_at(origin, node.source(), "profile '" + p.name + "' is defined twice");
            c.profiles.push_back(std::move(p));
        }
    }
    return c;
}

Result<Config> load_file(const std::string& path, bool must_exist) {
    std::ifstream in(path);
    if (!in) {
        if (!must_exist && errno == ENOENT) return Config{};
        return Error{Errc::NotFound, "cannot read config file " + path + ": " + std::strerror(errno)};
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path);
}

namespace {
/// Go's strconv.ParseBool, which the Vault CLI uses for VAULT_SKIP_VERIFY.
std::optional<bool> parse_go_bool(std::string_view s) {
    for (auto t : {"1", "t", "T", "TRUE", "true", "True"})
        if (s == t) return true;
    for (auto f : {"0", "f", "F", "FALSE", "false", "False"})
        if (s == f) return false;
    return std::nullopt;
}
}  // namespace

Status apply_vault_env(Config& config, const Getenv& getenv) {
    auto set = [&](const char* name, std::string& field) {
        if (const char* v = getenv(name); v && *v) field = v;
    };
    if (const char* v = getenv("VAULT_ADDR"); v && *v && config.vault.address != v) {
        config.vault.address = v;
        config.vault.fallback_addresses.clear();  // they are the file's Vault, not necessarily this one
    }
    set("VAULT_NAMESPACE", config.vault.namespace_name);
    set("VAULT_CACERT", config.vault.ca_cert);
    set("VAULT_CAPATH", config.vault.ca_path);
    set("VAULT_CLIENT_CERT", config.vault.client_cert);
    set("VAULT_CLIENT_KEY", config.vault.client_key);
    const char* name_env = getenv("VAULT_TLS_SERVER_NAME");
    bool name_from_env = name_env && *name_env;
    if (name_from_env) config.vault.tls_server_name = name_env;
    if (auto problem = tls_server_name_problem(config.vault, name_from_env ? "VAULT_TLS_SERVER_NAME" : "[vault] tls_server_name"))
        return Error{Errc::InvalidArgument, *problem};
    if (const char* v = getenv("VAULT_SKIP_VERIFY"); v && *v) {
        auto b = parse_go_bool(v);
        if (!b) return Error{Errc::InvalidArgument, std::string("could not parse VAULT_SKIP_VERIFY='") + v +
                                                        "': use true or false"};
        config.vault.skip_verify = *b;
    }
    return ok_status();
}

Result<Config> load(const std::optional<std::string>& explicit_path, const Getenv& getenv, const std::string& system_path) {
    auto config = load_file(explicit_path.value_or(default_config_path(getenv)), explicit_path.has_value());
    // Without a file of their own, users get the system-wide one; the two are never merged.
    if (config && config->source.empty() && !explicit_path) config = load_file(system_path, false);
    if (!config) return config;
    if (auto st = apply_vault_env(*config, getenv); !st) return st.error();
    return config;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::size_t i = 0;
    bool bare_number = true;
    while (i < text.size()) {
        std::int64_t n = 0;
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            n = n * 10 + (text[i++] - '0');
            if (++digits > 9) return std::nullopt;  // keeps every sum far from overflow
        }
        if (digits == 0) return std::nullopt;
        std::int64_t unit = 1;
        if (i < text.size()) {
            bare_number = false;
            switch (text[i++]) {
                case 's': unit = 1; break;
                case 'm': unit = 60; break;
                case 'h': unit = 3600; break;
                case 'd': unit = 86400; break;
                default: return std::nullopt;
            }
        } else if (!bare_number) {
            return std::nullopt;  // "1h30" has a number without a unit
        }
        total += n * unit;
    }
    return std::chrono::seconds(total);
}

}  // namespace sshcert::config
