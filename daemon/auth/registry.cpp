// SPDX-License-Identifier: Apache-2.0
#include <array>

#include "auth_method.hpp"
#include "methods.hpp"

namespace sshcert {

namespace {
const std::array<const AuthMethod*, 7>& methods() {
    static const std::array<const AuthMethod*, 7> all{&token_method(), &userpass_method(), &ldap_method(), &oidc_method(),
                                                      &approle_method(), &cert_method(), &aws_method()};
    return all;
}
}  // namespace

const AuthMethod* find_auth_method(std::string_view name) {
    for (const auto* m : methods())
        if (m->name() == name) return m;
    return nullptr;
}

std::string auth_method_names() {
    std::string out;
    for (const auto* m : methods()) out += (out.empty() ? "" : ", ") + std::string(m->name());
    return out;
}

}  // namespace sshcert
