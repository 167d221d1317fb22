// SPDX-License-Identifier: Apache-2.0
// ldap: Vault binds to the team's directory as the user with the password,
// and maps the user's groups to policies. The same request as userpass.
#include "methods.hpp"
#include "password_login.hpp"

namespace sshcert {

const AuthMethod& ldap_method() {
    static const PasswordMethod m("ldap");
    return m;
}

}  // namespace sshcert
