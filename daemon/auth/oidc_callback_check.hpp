// SPDX-License-Identifier: Apache-2.0
// The answer to an oidc_browser challenge: the URL the browser ended on (or
// its query), checked before anything goes to Vault. Pure, for unit tests.
#pragma once

#include <string_view>

#include "result.hpp"
#include "secure_bytes.hpp"

namespace sshcert {

struct OidcCallback {
    SecretString code;  ///< the provider's authorization code: with the state, it completes the login
};

/// The code of callback `answer` ("http://localhost:8250/oidc/callback?state=..&code=..", or the query
/// alone), once its state is `expected_state`. Errors say what is wrong in the user's terms: the
/// provider's own error (`error`, `error_description`), no state or code, or another login's state.
Result<OidcCallback> check_oidc_callback(std::string_view answer, std::string_view expected_state);

}  // namespace sshcert
