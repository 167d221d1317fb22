// SPDX-License-Identifier: Apache-2.0
// Containers for secrets (Vault tokens, passwords): wiped before their
// memory is released, never printed.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <string_view>

namespace sshcert {

/// Overwrites a string's whole buffer (capacity included) and empties it.
inline void wipe(std::string& s) noexcept {
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

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
        sshcert::wipe(s);
        return out;
    }

    std::string_view reveal() const noexcept { return s_; }
    const char* c_str() const noexcept { return s_.c_str(); }
    bool empty() const noexcept { return s_.empty(); }

    /// Cleanses the whole capacity: a shrinking assignment leaves old bytes behind the terminator.
    void wipe() noexcept { sshcert::wipe(s_); }

private:
    std::string s_;
};

}  // namespace sshcert
