// SPDX-License-Identifier: Apache-2.0
// userpass: users and passwords kept by Vault itself.
#include "methods.hpp"
#include "password_login.hpp"

namespace sshcert {

const AuthMethod& userpass_method() {
    static const PasswordMethod m("userpass");
    return m;
}

}  // namespace sshcert
