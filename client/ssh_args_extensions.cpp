// SPDX-License-Identifier: Apache-2.0
#include "ssh_args_extensions.hpp"

#include <algorithm>

namespace sshcert::client {

namespace {

struct Rule {
    std::string_view extension;
    std::string_view needed_by;  ///< option letters that need it; empty: every session
    std::string_view ruled_out_by;  ///< option letters that make it needless
};

constexpr Rule kRules[] = {
    {"permit-X11-forwarding", "XY", ""},
    {"permit-agent-forwarding", "A", ""},
    {"permit-port-forwarding", "LRDW", ""},
    {"permit-pty", "", "TNW"},  // -W forwards stdio instead of starting a session
    {"permit-user-rc", "", "NW"},
};

bool any_of(std::string_view flags, std::string_view letters) {
    return std::any_of(flags.begin(), flags.end(), [&](char c) { return letters.find(c) != std::string_view::npos; });
}

bool needs(const Rule& r, std::string_view flags) {
    if (!r.needed_by.empty()) return any_of(flags, r.needed_by);
    return !any_of(flags, r.ruled_out_by);
}

}  // namespace

std::vector<std::string> needed_extensions(std::string_view flags) {
    std::vector<std::string> out;
    for (const auto& r : kRules)
        if (needs(r, flags)) out.emplace_back(r.extension);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> jump_extensions() { return {"permit-port-forwarding"}; }

std::optional<std::string> effect_without(std::string_view extension, std::string_view flags, bool jump) {
    if (jump) return extension == "permit-port-forwarding" ? std::optional<std::string>("the jump to the next host will fail") : std::nullopt;
    if (extension == "permit-pty") return "ssh gets no terminal";
    if (extension == "permit-user-rc") return std::nullopt;
    for (const auto& r : kRules) {
        if (r.extension != extension || r.needed_by.empty()) continue;
        std::string used;
        for (char c : r.needed_by)
            if (flags.find(c) != std::string_view::npos) used += (used.empty() ? "-" : ", -") + std::string(1, c);
        if (!used.empty()) return used + " will fail";
    }
    return std::nullopt;
}

}  // namespace sshcert::client
