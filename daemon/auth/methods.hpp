// SPDX-License-Identifier: Apache-2.0
// The auth methods, one file each; registry.cpp lists them.
#pragma once

#include "auth_method.hpp"

namespace sshcert {
const AuthMethod& token_method();
const AuthMethod& userpass_method();
const AuthMethod& ldap_method();
const AuthMethod& oidc_method();
const AuthMethod& approle_method();
const AuthMethod& cert_method();
const AuthMethod& aws_method();
}  // namespace sshcert
