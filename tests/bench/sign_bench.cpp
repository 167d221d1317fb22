// SPDX-License-Identifier: Apache-2.0
// The floor under the agent: SshKey::sign alone, per key type, on one thread.
//
//   sign_bench [SECONDS_PER_TYPE]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "ssh_key.hpp"

int main(int argc, char** argv) {
    using namespace sshcert;
    double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
    wire::Bytes data(256, 0x5a);
    for (auto type : {config::KeyType::Ed25519, config::KeyType::EcdsaP256, config::KeyType::EcdsaP384,
                      config::KeyType::Rsa3072, config::KeyType::Rsa4096}) {
        auto key = SshKey::generate(type);
        if (!key) return 1;
        auto start = std::chrono::steady_clock::now();
        auto deadline = start + std::chrono::duration<double>(seconds);
        long n = 0;
        while (std::chrono::steady_clock::now() < deadline) {
            if (!key->sign(data, 0x02)) return 1;
            ++n;
        }
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("%-12s %8.0f signatures/s  %7.1f us each\n", std::string(config::to_string(type)).c_str(), n / elapsed,
                    elapsed / static_cast<double>(n) * 1e6);
    }
    return 0;
}
