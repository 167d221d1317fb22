// SPDX-License-Identifier: Apache-2.0
// A Getenv over a fixed set of variables, so tests never read the real environment.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "paths.hpp"

namespace sshcert::test {

inline config::Getenv env(std::map<std::string, std::string> vars) {
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    return [shared](const char* name) -> const char* {
        auto it = shared->find(name);
        return it == shared->end() ? nullptr : it->second.c_str();
    };
}

}  // namespace sshcert::test
