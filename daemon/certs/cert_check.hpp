// SPDX-License-Identifier: Apache-2.0
// What we check in a certificate Vault returns before we serve it, and what
// we warn about. Pure, so unit tests cover every case.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cert_cache.hpp"
#include "config.hpp"
#include "result.hpp"
#include "ssh_cert.hpp"

namespace sshcert {

/// A certificate valid longer than this without the profile asking is worth a warning.
inline constexpr std::uint64_t kLongLivedSeconds = 24 * 3600;

/// Errors for a certificate we must not serve: another key, a host certificate, a missing
/// principal, a SHA-1 (ssh-rsa) CA signature that OpenSSH 8.2+ refuses, already expired at
/// `vault_now`. On success, the warnings the user should see.
Result<std::vector<std::string>> check_issued(const Certificate& cert, const wire::Bytes& our_key, const CertKey& key,
                                              const config::Profile& profile, std::uint64_t vault_now);

}  // namespace sshcert
