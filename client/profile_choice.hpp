// SPDX-License-Identifier: Apache-2.0
// Which profile a host maps to and why: the first profile whose hosts match
// (ssh_config's first-match rule), with the pattern that decided each one.
#pragma once

#include <string>
#include <string_view>

#include "config.hpp"

namespace sshcert::client {

struct ProfileChoice {
    const config::Profile* profile = nullptr;  ///< nullptr: no profile matches
    /// "pattern '*.prod.example.com' matches; before it, 'local': no pattern matches", or why none does.
    std::string why;
};

ProfileChoice explain_profile_for_host(const config::Config& config, std::string_view host);

}  // namespace sshcert::client
