// SPDX-License-Identifier: Apache-2.0
// OpenSSH certificates from untrusted bytes: as a blob and as a key line.
#include <cstdint>
#include <string_view>

#include "ssh_cert.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sshcert;
    auto cert = parse_certificate(wire::ByteView(data, size));
    if (cert) {
        if (cert->valid_after > cert->valid_before) __builtin_trap();
        (void)fingerprint_sha256(cert->public_key);
    }
    auto line = parse_key_line(std::string_view(reinterpret_cast<const char*>(data), size));
    if (line) (void)parse_certificate(line->blob);
    return 0;
}
