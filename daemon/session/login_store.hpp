// SPDX-License-Identifier: Apache-2.0
// Logins kept in the kernel's keyring, so a login outlives a restart of
// sshcertd (an upgrade, a crash, the end of the user's last session) without
// ever touching disk. The keyring is the user's persistent keyring
// (persistent-keyring(7)): it outlives every process of the user and is
// dropped after /proc/sys/kernel/keys/persistent_keyring_expiry (3 days by
// default) without use, and at reboot. Where the kernel lacks it, the user
// keyring (user-keyring(7)), which ends with the user's last process. Keys are
// readable only by a possessor (keyrings(7)): a process of ours that linked
// the keyring, or any other process of the same user that does the same;
// no other user but root. Each key expires with its token's TTL.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "secure_bytes.hpp"

namespace sshcert {

class LoginStore {
public:
    /// The persistent keyring (else the user keyring), linked into our process keyring so we
    /// possess it. Null, after one log line, when the kernel keyring cannot be used (a seccomp
    /// filter in a container, a kernel without keys).
    static std::unique_ptr<LoginStore> open();
    /// Over keyring `serial` (tests use their own process keyring).
    explicit LoginStore(std::int32_t serial) : keyring_(serial) {}

    /// The key's name for the login to one Vault (address and namespace) of the daemon whose
    /// sockets are in `runtime_dir`, so two daemons of one user never adopt each other's login.
    static std::string name_for(const std::string& runtime_dir, const std::string& address, const std::string& ns);

    struct Kept {
        SecretString token;
        bool imported = false;  ///< the user brought it: logout forgets it without revoking
    };
    /// Keeps (or replaces) a login; `ttl_seconds` 0 means no timeout. False when the kernel refused.
    bool save(const std::string& name, const SecretString& token, bool imported, std::int64_t ttl_seconds);
    /// Moves the key's timeout to the token's new TTL.
    void set_timeout(const std::string& name, std::int64_t ttl_seconds);
    std::optional<Kept> load(const std::string& name);
    void remove(const std::string& name);

private:
    std::int32_t find(const std::string& name) const;
    std::int32_t keyring_;
};

}  // namespace sshcert
