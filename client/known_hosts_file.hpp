// SPDX-License-Identifier: Apache-2.0
// The known_hosts file `sshcert known-hosts` keeps: one @cert-authority line
// per profile and host CA key, so ssh trusts the host certificates that the
// profile's host CA mount signs for the profile's hosts, on any port.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "result.hpp"

namespace sshcert::client {

/// A profile's hosts as known_hosts patterns: each host, then each as "[host]:*" (other ports),
/// comma-separated; negations stay negations. An error names a pattern known_hosts cannot carry.
Result<std::string> known_hosts_patterns(const config::Profile& profile);

struct ProfileCaKeys {
    const config::Profile* profile = nullptr;
    std::vector<std::string> keys;  ///< checked CA key lines (check_ca_key)
};

/// The file's text: a header naming `source`, then the lines of each profile in order.
Result<std::string> managed_known_hosts_text(const std::string& source, const std::vector<ProfileCaKeys>& profiles);

}  // namespace sshcert::client
