// SPDX-License-Identifier: Apache-2.0
// The Vault addresses a profile may use, in order. A call goes to the one
// that last answered; when it cannot be reached the next is tried. One 307
// from an HA standby to the active node is followed per call, never from
// https to http.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace sshcert {

class EndpointSet {
public:
    explicit EndpointSet(std::vector<std::string> addresses);  ///< trailing '/' trimmed; at least one

    const std::string& current() const noexcept { return addresses_[current_]; }
    std::size_t size() const noexcept { return addresses_.size(); }
    const std::string& at(std::size_t i) const { return addresses_[i]; }
    /// The address tried `step` places after the current one (wrapping).
    std::size_t index_after(std::size_t step) const noexcept { return (current_ + step) % addresses_.size(); }
    /// Remembers the address that answered.
    void answered(std::size_t index) noexcept { current_ = index; }

    /// The URL to follow for a redirect's Location from `from_url`: an absolute http(s) URL
    /// or a path on the same origin, never https -> http (Errc::VaultBadResponse with why).
    static Result<std::string> redirect_target(const std::string& from_url, const std::string& location);
    /// "https://vault:8200" of "https://vault:8200/v1/sys/health?x": what messages name.
    static std::string origin(std::string_view url);

private:
    std::vector<std::string> addresses_;
    std::size_t current_ = 0;
};

}  // namespace sshcert
