// SPDX-License-Identifier: Apache-2.0
// The control protocol between `sshcert` and `sshcertd` (see PROTOCOL.md):
// a 4-byte big-endian length, then one JSON object with a version field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "result.hpp"
#include "ssh_wire.hpp"

namespace sshcert::control {

using Json = nlohmann::json;

inline constexpr int kVersion = 1;

/// Request operations.
namespace op {
inline constexpr const char* kStatus = "status";
inline constexpr const char* kLogin = "login";
inline constexpr const char* kLoginContinue = "login-continue";
inline constexpr const char* kEnsure = "ensure";
inline constexpr const char* kLogout = "logout";
inline constexpr const char* kCaKeys = "ca-keys";
inline constexpr const char* kReload = "reload";
inline constexpr const char* kVaultHealth = "vault-health";
}  // namespace op

/// A request: op plus its arguments, all in one object.
Json make_request(const std::string& op, Json args = Json::object());
/// A success reply carrying `result`.
Json make_reply(Json result);
/// An error reply.
Json make_error_reply(const Error& error);

/// Serialises a message into one frame.
wire::Bytes encode(const Json& message);
/// Parses one frame body: must be a JSON object whose version we speak.
Result<Json> decode(wire::ByteView body);
/// Splits a decoded reply into its result or its error.
Result<Json> reply_result(const Json& reply);

/// Reads typed fields from a JSON object from a peer. A missing or mistyped
/// field records the first error and yields an empty value, so a decoder
/// reads every field and then checks error() once.
class FieldReader {
public:
    explicit FieldReader(const Json& obj) : obj_(obj) {}

    std::string string(const char* key);
    std::optional<std::string> optional_string(const char* key);
    std::vector<std::string> strings(const char* key);
    std::int64_t integer(const char* key);
    bool boolean(const char* key);
    std::optional<bool> optional_boolean(const char* key);

    const std::optional<Error>& error() const { return error_; }

private:
    const Json* find(const char* key, bool (Json::*is_type)() const noexcept, const char* type_name);
    const Json& obj_;
    std::optional<Error> error_;
};

/// One certificate the daemon holds, as `status` and `ensure` report it.
struct CertSummary {
    std::string profile;
    std::string key_type;
    std::string fingerprint;
    std::string key_id;
    std::string serial;  ///< lowercase hex, as Vault reports it
    std::vector<std::string> principals;
    std::uint64_t valid_after = 0;
    std::uint64_t valid_before = 0;
    std::vector<std::string> extensions;
};
Json to_json(const CertSummary& c);
Result<CertSummary> cert_summary_from_json(const Json& j);

/// The Vault identity the daemon is logged in as.
struct TokenSummary {
    std::string vault_addr;
    std::string display_name;
    std::vector<std::string> policies;
    std::int64_t ttl_seconds = 0;  ///< 0 means the token never expires
    bool renewable = false;
    /// Unix seconds when the maximum TTL ends the login and a new login is required; 0 while
    /// Vault has not said (an explicit_max_ttl, a renewal capped, a token that cannot be renewed).
    std::int64_t login_required_at = 0;
    bool login_end_near = false;  ///< that end is close enough to warn about
};
Json to_json(const TokenSummary& t);
Result<TokenSummary> token_summary_from_json(const Json& j);

/// Kinds of question a login may ask before it gives a token.
namespace challenge_kind {
inline constexpr const char* kPasscode = "mfa_passcode";  ///< type a one-time code (TOTP, Duo passcode)
inline constexpr const char* kPush = "mfa_push";          ///< approve elsewhere (a phone); answer "" at once and wait
/// Sign in at `url` in a browser, which ends on `redirect_uri`; answer with that callback URL (or its query).
inline constexpr const char* kOidcBrowser = "oidc_browser";
}  // namespace challenge_kind

/// A login that needs an answer from the person before it can go on (`login` and
/// `login-continue` reply with one instead of a token). The daemon keeps it until it expires.
struct LoginChallenge {
    std::string id;            ///< opaque; names the pending login in login-continue
    std::string kind;          ///< challenge_kind::kPasscode, kPush or kOidcBrowser
    std::string factor;        ///< Vault's MFA method type: totp, duo, okta, pingid; "oidc" for kOidcBrowser
    std::string factor_name;   ///< the Vault admin's name for the method; may be empty
    std::string prompt;        ///< what to ask or tell the person
    std::int64_t expires_in_seconds = 0;  ///< the pending login is forgotten after this
    std::string retry_error;   ///< why the last answer failed; empty on the first asking
    std::string url;           ///< kOidcBrowser: the identity provider's page to open; else empty
    std::string redirect_uri;  ///< kOidcBrowser: where the browser ends (the client's listener); else empty
};
Json to_json(const LoginChallenge& c);
Result<LoginChallenge> login_challenge_from_json(const Json& j);

}  // namespace sshcert::control
