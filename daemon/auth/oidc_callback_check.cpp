// SPDX-License-Identifier: Apache-2.0
#include "oidc_callback_check.hpp"

#include <openssl/crypto.h>

#include "url_query.hpp"

namespace sshcert {

namespace {
constexpr const char* kAgain = "; run `sshcert login --method oidc` again";

bool same(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// For messages: printable ASCII only, and short.
std::string shown(std::string s) {
    for (char& c : s)
        if (c < 0x20 || c > 0x7e) c = '?';
    if (s.size() > 200) s = s.substr(0, 200) + "...";
    return s;
}
}  // namespace

Result<OidcCallback> check_oidc_callback(std::string_view answer, std::string_view expected_state) {
    std::string_view query = query_of(answer);
    if (auto error = query_param(query, "error"); error && !error->empty()) {
        std::string description = query_param(query, "error_description").value_or("");
        return Error{Errc::VaultDenied, "the identity provider refused the sign-in (" + shown(*error) +
                                            (description.empty() ? "" : ": " + shown(description)) + ")" + kAgain};
    }
    auto state = query_param(query, "state");
    auto code = query_param(query, "code");
    if (!state || state->empty() || !code || code->empty())
        return Error{Errc::InvalidArgument,
                     "that is not the OIDC callback: it has no state and code; give the whole address the browser "
                     "ended on (http://localhost:.../oidc/callback?state=...&code=...)"};
    bool matches = same(*state, expected_state);
    wipe(*state);
    if (!matches)
        return Error{Errc::InvalidArgument,
                     std::string("that callback belongs to another login (its state is not this login's)") + kAgain};
    return OidcCallback{SecretString::take(*code)};
}

}  // namespace sshcert
