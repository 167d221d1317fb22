// SPDX-License-Identifier: Apache-2.0
// Containers for secrets (Vault tokens, passwords): wiped before their
// memory is released, never printed.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <string_view>

namespace sshcert {

/// A string whose buffer is cleansed on destruction and on reassignment.
class SecretString {
public:
    SecretString() = default;
    explicit SecretString(std::string_view s) : s_(s) {}
    SecretString(const SecretString& o) : s_(o.s_) {}
    SecretString(SecretString&& o) noexcept : s_(std::move(o.s_)) { o.wipe(); }
    SecretString& operator=(const SecretString& o) {
        if (this != &o) {
            wipe();
            s_ = o.s_;
        }
        return *this;
    }
    SecretString& operator=(SecretString&& o) noexcept {
        if (this != &o) {
            wipe();
            s_ = std::move(o.s_);
            o.wipe();
        }
        return *this;
    }
    ~SecretString() { wipe(); }

    /// Takes over a std::string holding a secret and wipes the original.
    static SecretString take(std::string& s) {
        SecretString out(s);
        OPENSSL_cleanse(s.data(), s.size());
        s.clear();
        return out;
    }

    std::string_view reveal() const noexcept { return s_; }
    const char* c_str() const noexcept { return s_.c_str(); }
    bool empty() const noexcept { return s_.empty(); }

    void wipe() noexcept {
        // Cleanse the whole capacity: a shrinking assignment leaves old bytes behind the terminator.
        s_.resize(s_.capacity());
        OPENSSL_cleanse(s_.data(), s_.size());
        s_.clear();
    }

private:
    std::string s_;
};

}  // namespace sshcert
