// SPDX-License-Identifier: Apache-2.0
// The findings of `sshcert doctor`: one line per check, ok, warn or FAIL,
// with what to do when it is not ok; as text for people, JSON for scripts.
#pragma once

#include <string>
#include <vector>

namespace sshcert::client {

enum class CheckStatus { Ok, Warn, Fail };

struct CheckResult {
    std::string check;   ///< short name: "config", "daemon", "vault", ...
    CheckStatus status = CheckStatus::Ok;
    std::string detail;  ///< what was found
    std::string fix;     ///< what to do; empty when ok
};

class DoctorReport {
public:
    void ok(std::string check, std::string detail) { add({std::move(check), CheckStatus::Ok, std::move(detail), {}}); }
    void warn(std::string check, std::string detail, std::string fix) {
        add({std::move(check), CheckStatus::Warn, std::move(detail), std::move(fix)});
    }
    void fail(std::string check, std::string detail, std::string fix) {
        add({std::move(check), CheckStatus::Fail, std::move(detail), std::move(fix)});
    }

    const std::vector<CheckResult>& checks() const noexcept { return checks_; }
    /// The first failed check, or nullptr when none failed.
    const CheckResult* first_failure() const;

    /// "ok    config: ...", the fix indented below a warn or FAIL, and a last line naming the first broken link.
    std::string text() const;
    /// A JSON array of {check, status ("ok", "warn", "fail"), detail, fix}.
    std::string json() const;

private:
    void add(CheckResult r) { checks_.push_back(std::move(r)); }
    std::vector<CheckResult> checks_;
};

}  // namespace sshcert::client
