// SPDX-License-Identifier: Apache-2.0
#include "doctor_report.hpp"

#include <nlohmann/json.hpp>

namespace sshcert::client {

namespace {
const char* label(CheckStatus s) {
    switch (s) {
        case CheckStatus::Ok: return "ok";
        case CheckStatus::Warn: return "warn";
        case CheckStatus::Fail: return "fail";
    }
    return "fail";
}
}  // namespace

const CheckResult* DoctorReport::first_failure() const {
    for (const auto& c : checks_)
        if (c.status == CheckStatus::Fail) return &c;
    return nullptr;
}

std::string DoctorReport::text() const {
    std::string out;
    for (const auto& c : checks_) {
        std::string tag = c.status == CheckStatus::Fail ? "FAIL" : label(c.status);
        out += tag + std::string(6 - tag.size(), ' ') + c.check + ": " + c.detail + "\n";
        if (!c.fix.empty()) out += "      fix: " + c.fix + "\n";
    }
    if (const auto* f = first_failure()) out += "The first broken link: " + f->check + " (its fix above).\n";
    return out;
}

std::string DoctorReport::json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : checks_) out.push_back({{"check", c.check}, {"status", label(c.status)}, {"detail", c.detail}, {"fix", c.fix}});
    return out.dump(2) + "\n";
}

}  // namespace sshcert::client
