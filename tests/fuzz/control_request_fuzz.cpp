// SPDX-License-Identifier: Apache-2.0
// The control protocol decoder and every typed reader on top of it.
#include <cstdint>

#include "control_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sshcert;
    auto msg = control::decode(wire::ByteView(data, size));
    if (!msg) return 0;
    control::FieldReader f(*msg);
    (void)f.string("op");
    (void)f.optional_string("host");
    (void)f.strings("principals");
    (void)f.integer("valid_before");
    (void)f.boolean("ok");
    (void)control::reply_result(*msg);
    if (auto r = msg->find("result"); r != msg->end()) {
        (void)control::cert_summary_from_json(*r);
        (void)control::token_summary_from_json(*r);
    }
    (void)control::encode(*msg);  // whatever was accepted can be sent back
    return 0;
}
