// SPDX-License-Identifier: Apache-2.0
#include "cert_check.hpp"

#include <algorithm>
#include <ctime>

namespace sshcert {

namespace {
Error bad(std::string what) { return Error{Errc::VaultBadResponse, std::move(what)}; }

std::string utc(std::uint64_t t) {
    if (t > static_cast<std::uint64_t>(INT32_MAX) * 4) return "forever";
    std::time_t tt = static_cast<std::time_t>(t);
    char buf[32];
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}
}  // namespace

Result<std::vector<std::string>> check_issued(const Certificate& cert, const wire::Bytes& our_key, const CertKey& key,
                                              const config::Profile& profile, std::uint64_t vault_now) {
    const std::string role = "role '" + profile.role + "'";
    if (cert.public_key != our_key) return bad("Vault returned a certificate for a different key than the one sent");
    if (cert.type != CertType::User) return bad("Vault returned a host certificate; " + role + " must issue user certificates");
    for (const auto& p : key.principals)
        if (std::find(cert.principals.begin(), cert.principals.end(), p) == cert.principals.end())
            return bad("Vault's certificate does not name the principal '" + p + "'");
    if (cert.signature_type == "ssh-rsa")
        return bad("Vault signed the certificate with ssh-rsa (SHA-1), which OpenSSH 8.2 and later refuse; ask your Vault "
                   "admin to set algorithm_signer=rsa-sha2-256 on " + role + " (roles made before Vault 1.10 keep ssh-rsa)");
    if (cert.valid_before <= vault_now)
        return bad("Vault returned a certificate that expired at " + utc(cert.valid_before) +
                   "; check Vault's clock and the ttl of " + role);

    std::vector<std::string> warnings;
    if (cert.extensions.empty())
        warnings.push_back("the certificate from " + role + " has no extensions, so ssh gets no terminal and no forwarding; "
                           "ask your Vault admin to set default_extensions (e.g. permit-pty) on the role, or set "
                           "extensions in profile '" + profile.name + "'");
    std::uint64_t lifetime = cert.valid_before - std::min(cert.valid_before, std::max(cert.valid_after, vault_now));
    if (profile.ttl.count() == 0 && lifetime > kLongLivedSeconds)
        warnings.push_back("the certificate is valid until " + utc(cert.valid_before) + " because neither profile '" +
                           profile.name + "' nor " + role + " sets a short ttl; set ttl (e.g. \"1h\") in the profile");
    return warnings;
}

}  // namespace sshcert
