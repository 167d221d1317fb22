// SPDX-License-Identifier: Apache-2.0
// Pieces several ops share.
#include "control_service.hpp"
#include "ssh_cert.hpp"

namespace sshcert::ops {

std::string profile_names(const config::Config& c) {
    std::string out;
    for (const auto& p : c.profiles) out += (out.empty() ? "" : ", ") + p.name;
    return out.empty() ? "none" : out;
}

control::Json describe(const HeldCert& held, const Listeners& listeners) {
    control::CertSummary s;
    s.profile = held.key.profile;
    s.key_type = held.cert.key_type;
    s.fingerprint = fingerprint_sha256(held.cert.public_key);
    s.key_id = held.cert.key_id;
    s.serial = held.serial_hex;
    s.principals = held.cert.principals;
    s.valid_after = held.cert.valid_after;
    s.valid_before = held.cert.valid_before;
    for (const auto& [name, value] : held.cert.extensions) s.extensions.push_back(name);
    control::Json j = control::to_json(s);
    j["warnings"] = held.warnings;
    j["agent_socket"] = listeners.socket_for_profile(held.key.profile);
    return j;
}

}  // namespace sshcert::ops
