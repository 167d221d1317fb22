// SPDX-License-Identifier: Apache-2.0
// Vault replies: the error-body reader on raw bytes, and every reply decoder on any JSON.
#include <cstdint>
#include <string_view>

#include "vault_decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sshcert;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    (void)vault::error_text(body);
    auto j = vault::Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return 0;
    (void)vault::decode_login(j);
    (void)vault::decode_lookup_self(j);
    (void)vault::decode_renew(j, 200);
    (void)vault::decode_renew(j, 204);
    (void)vault::summary_from_login(j);
    (void)vault::decode_signed_key(j);
    return 0;
}
