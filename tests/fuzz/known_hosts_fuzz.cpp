// SPDX-License-Identifier: Apache-2.0
// known_hosts text and a server's host key from untrusted bytes: the first
// line is the host key (base64), the rest the file.
#include <cstdint>
#include <string_view>

#include "known_hosts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sshcert;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto nl = text.find('\n');
    wire::Bytes host_key;
    if (nl != std::string_view::npos) (void)wire::base64_decode(text.substr(0, nl), host_key);
    auto entries = known_hosts::parse(text);
    for (const auto& e : entries)
        if (e.key.empty()) __builtin_trap();  // only lines with a key are entries
    auto names = known_hosts::names_for_key(entries, host_key, {"host.example.com", "10.0.0.1"}, 1700000000);
    for (const auto& n : names)
        if (n.empty()) __builtin_trap();
    return 0;
}
