// SPDX-License-Identifier: Apache-2.0
#include "key_maker.hpp"

namespace sshcert {

namespace {
bool is_rsa(config::KeyType t) { return t == config::KeyType::Rsa3072 || t == config::KeyType::Rsa4096; }

Result<std::shared_ptr<const SshKey>> new_key(config::KeyType type) {
    auto key = SshKey::generate(type);
    if (!key) return key.error();
    return std::make_shared<const SshKey>(std::move(*key));
}
}  // namespace

void KeyMaker::make(config::KeyType type, Done done) {
    if (auto it = spares_.find(type); it != spares_.end()) {
        auto key = std::move(it->second);
        spares_.erase(it);  // handed out once only
        asio::post(io_, [done = std::move(done), key = std::move(key)] { done(key); });
    } else {
        generate(type, std::move(done));
    }
    keep_spare(type);
}

void KeyMaker::prepare(const std::vector<config::Profile>& profiles) {
    for (const auto& p : profiles)
        if (is_rsa(p.key_type)) keep_spare(p.key_type);
}

void KeyMaker::keep_spare(config::KeyType type) {
    if (spares_.count(type) || !making_.insert(type).second) return;
    generate(type, [this, type](Result<std::shared_ptr<const SshKey>> key) {
        making_.erase(type);
        if (key) spares_[type] = std::move(*key);  // a failure is met again, and reported, by the next make()
    });
}

void KeyMaker::generate(config::KeyType type, Done done) {
    if (!is_rsa(type)) {
        return asio::post(io_, [type, done = std::move(done)] { done(new_key(type)); });
    }
    asio::post(workers_, [this, type, done = std::move(done)]() mutable {
        auto key = new_key(type);
        asio::post(io_, [done = std::move(done), key = std::move(key)]() mutable { done(std::move(key)); });
    });
}

}  // namespace sshcert
