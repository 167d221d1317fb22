// SPDX-License-Identifier: Apache-2.0
#include "key_maker.hpp"

namespace sshcert {

namespace {
bool is_rsa(config::KeyType t) { return t == config::KeyType::Rsa3072 || t == config::KeyType::Rsa4096; }

Result<std::shared_ptr<const SshKey>> generate(config::KeyType type) {
    auto key = SshKey::generate(type);
    if (!key) return key.error();
    return std::make_shared<const SshKey>(std::move(*key));
}
}  // namespace

void KeyMaker::make(config::KeyType type, Done done) {
    if (!is_rsa(type)) {
        return asio::post(io_, [type, done = std::move(done)] { done(generate(type)); });
    }
    asio::post(workers_, [this, type, done = std::move(done)]() mutable {
        auto key = generate(type);
        asio::post(io_, [done = std::move(done), key = std::move(key)]() mutable { done(std::move(key)); });
    });
}

}  // namespace sshcert
