// SPDX-License-Identifier: Apache-2.0
// The error vocabulary shared by the daemon and the client: a short list of
// specific codes, an Error carrying a human message, and Result<T> for
// expected failures (bytes from a peer, Vault answers, missing files).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sshcert {

enum class Errc {
    InvalidMessage,    ///< a peer sent bytes we cannot parse
    MessageTooLarge,   ///< a length prefix exceeds our limit
    InvalidArgument,   ///< the user asked for something malformed
    NotFound,          ///< no such profile, certificate, file
    NotLoggedIn,       ///< the daemon holds no Vault token
    VaultUnreachable,  ///< connection, TLS or timeout failure talking to Vault
    VaultDenied,       ///< Vault answered 403
    VaultRefused,      ///< Vault answered 4xx with a reason (role rules, bad credentials)
    VaultUnavailable,  ///< Vault answered 5xx (sealed, standby, overloaded)
    VaultBadResponse,  ///< Vault answered, but not with what the API promises
    DaemonUnavailable, ///< the client cannot reach sshcertd
    Internal,          ///< a bug or resource exhaustion on our side
};

/// Stable wire name of a code (used by the control protocol).
std::string_view to_string(Errc code);
/// Inverse of to_string; unknown names map to Errc::Internal.
Errc errc_from_string(std::string_view name);

struct Error {
    Errc code;
    std::string message;  ///< what went wrong and what to do next, in the user's terms
    std::string detail;   ///< the peer's own words (Vault's error text), sanitized; may be empty
};

/// A value or an Error. Cheap to move, must be inspected.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

/// Result of an operation that yields nothing but may fail.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace sshcert
