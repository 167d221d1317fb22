// SPDX-License-Identifier: Apache-2.0
// Apart from the parsers so that sshcert, which never hashes a key, does not
// need libcrypto: loading it would slow the start of every `sshcert ensure`.
#include <openssl/evp.h>

#include <array>

#include "ssh_cert.hpp"

namespace sshcert {

std::string fingerprint_sha256(wire::ByteView key_blob) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int n = 0;
    EVP_Digest(key_blob.data(), key_blob.size(), md.data(), &n, EVP_sha256(), nullptr);
    std::string b64 = wire::base64_encode({md.data(), n});
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    return "SHA256:" + b64;
}

}  // namespace sshcert
