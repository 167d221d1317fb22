// SPDX-License-Identifier: Apache-2.0
#include "result.hpp"

#include <array>
#include <utility>

namespace sshcert {

namespace {
constexpr std::array<std::pair<Errc, std::string_view>, 12> kNames{{
    {Errc::InvalidMessage, "invalid_message"},
    {Errc::MessageTooLarge, "message_too_large"},
    {Errc::InvalidArgument, "invalid_argument"},
    {Errc::NotFound, "not_found"},
    {Errc::NotLoggedIn, "not_logged_in"},
    {Errc::VaultUnreachable, "vault_unreachable"},
    {Errc::VaultDenied, "vault_denied"},
    {Errc::VaultRefused, "vault_refused"},
    {Errc::VaultUnavailable, "vault_unavailable"},
    {Errc::VaultBadResponse, "vault_bad_response"},
    {Errc::DaemonUnavailable, "daemon_unavailable"},
    {Errc::Internal, "internal"},
}};
}  // namespace

std::string_view to_string(Errc code) {
    for (const auto& [c, name] : kNames)
        if (c == code) return name;
    return "internal";
}

Errc errc_from_string(std::string_view name) {
    for (const auto& [c, n] : kNames)
        if (n == name) return c;
    return Errc::Internal;
}

}  // namespace sshcert
