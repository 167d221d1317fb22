// SPDX-License-Identifier: Apache-2.0
// AWS STS answers (AssumeRole, GetSessionToken) as raw bytes, under any HTTP status.
#include <cstdint>
#include <string>

#include "sts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sshcert;
    if (size == 0) return 0;
    std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    static const int kStatuses[] = {200, 400, 403, 500, 503};
    (void)aws::parse_credentials_response(kStatuses[data[0] % 5], body);
    return 0;
}
