// SPDX-License-Identifier: Apache-2.0
// Block-style YAML for the small documents we generate (#cloud-config): one
// JSON value in, readable YAML out, so the YAML and JSON outputs can never
// disagree. Scalars are plain where YAML 1.1 (PyYAML, cloud-init) reads them
// back as the same string, block literals when they span lines, else quoted.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sshcert::client {

/// Objects, arrays, strings, booleans and null; numbers are written as JSON writes them.
std::string to_yaml(const nlohmann::ordered_json& value);

}  // namespace sshcert::client
