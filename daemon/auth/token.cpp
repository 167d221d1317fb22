// SPDX-License-Identifier: Apache-2.0
// A token the user already has (VAULT_TOKEN, ~/.vault-token, --token-stdin):
// nothing to exchange, only checked by the lookup-self every login ends with.
#include "methods.hpp"

namespace sshcert {

namespace {
class TokenMethod final : public AuthMethod {
public:
    std::string_view name() const override { return "token"; }
    void start(asio::io_context& io, VaultClient&, const LoginRequest& req, StepDone done) const override {
        asio::post(io, [done = std::move(done), r = check(req)]() mutable { done(std::move(r)); });
    }

private:
    static Result<Step> check(const LoginRequest& req) {
        if (req.secret.empty()) return Error{Errc::InvalidArgument, "no Vault token given"};
        for (char c : req.secret.reveal())
            if (c < 0x21 || c > 0x7e)
                return Error{Errc::InvalidArgument, "the Vault token contains non-printable characters and cannot be used"};
        return Step{LoginGrant{req.secret, std::nullopt}};
    }
};
}  // namespace

const AuthMethod& token_method() {
    static const TokenMethod m;
    return m;
}

}  // namespace sshcert
