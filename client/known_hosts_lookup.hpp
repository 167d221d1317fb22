// SPDX-License-Identifier: Apache-2.0
// Reading known_hosts(5) files for the host CA: whether an @cert-authority
// line's host patterns cover a host, as ssh would match them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sshcert::client {

/// The first `@cert-authority` line in `files` (missing ones skipped) whose patterns match one of
/// `names` ("host", "[host]:port"), as "FILE:LINE"; nullopt when there is none.
std::optional<std::string> find_cert_authority(const std::vector<std::string>& files, const std::vector<std::string>& names);

}  // namespace sshcert::client
