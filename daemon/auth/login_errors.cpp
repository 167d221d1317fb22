// SPDX-License-Identifier: Apache-2.0
#include "login_errors.hpp"

namespace sshcert {

std::string said(const Error& e) { return e.detail.empty() ? e.message : e.detail; }

std::optional<Error> missing_mount(const Error& e, std::string_view method, const std::string& mount) {
    if (e.code != Errc::NotFound && said(e).find("no handler for route") == std::string::npos) return std::nullopt;
    return Error{Errc::NotFound,
                 "Vault has no " + std::string(method) + " auth method at auth/" + mount + "; check [auth] mount or --mount",
                 e.detail};
}

}  // namespace sshcert
