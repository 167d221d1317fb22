// SPDX-License-Identifier: Apache-2.0
#include "login_store.hpp"

#include <keyutils.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>

#include "log.hpp"

namespace sshcert {

namespace {
/// Possessor-only: no other process of the user reads it without linking the keyring first.
constexpr key_perm_t kPossessorOnly =
    KEY_POS_VIEW | KEY_POS_READ | KEY_POS_WRITE | KEY_POS_SEARCH | KEY_POS_LINK | KEY_POS_SETATTR;
/// The payload's first line, so a key of another format is never taken for a token.
constexpr std::string_view kMagic = "sshcert-login-v1\n";
constexpr std::string_view kImported = "imported\n";
constexpr std::string_view kOwn = "own\n";

unsigned timeout_of(std::int64_t ttl) {
    return ttl <= 0 ? 0 : static_cast<unsigned>(std::min<std::int64_t>(ttl, UINT32_MAX));
}
}  // namespace

std::unique_ptr<LoginStore> LoginStore::open() {
    long serial = keyctl_get_persistent(-1, KEY_SPEC_PROCESS_KEYRING);
    const char* which = "persistent keyring";
    if (serial < 0 && errno == EOPNOTSUPP) {
        which = "user keyring";
        serial = keyctl_link(KEY_SPEC_USER_KEYRING, KEY_SPEC_PROCESS_KEYRING) == 0
                     ? keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 0)
                     : -1;
    }
    if (serial < 0) {
        log::warn("the kernel keyring cannot be used (", std::strerror(errno),
                  "), so the login will not survive a restart of sshcertd; containers often filter keyctl "
                  "(set [auth] persist_login = false to silence this)");
        return nullptr;
    }
    log::debug("logins are kept in the ", which, " (key ", serial, ")");
    return std::make_unique<LoginStore>(static_cast<std::int32_t>(serial));
}

std::string LoginStore::name_for(const std::string& runtime_dir, const std::string& address, const std::string& ns) {
    return "sshcert:" + runtime_dir + ":" + address + (ns.empty() ? "" : "#" + ns);
}

std::int32_t LoginStore::find(const std::string& name) const {
    long id = keyctl_search(keyring_, "user", name.c_str(), 0);
    return id < 0 ? -1 : static_cast<std::int32_t>(id);
}

bool LoginStore::save(const std::string& name, const SecretString& token, bool imported, std::int64_t ttl) {
    std::string text;
    text.reserve(kMagic.size() + kImported.size() + token.reveal().size());
    text.append(kMagic).append(imported ? kImported : kOwn).append(token.reveal());
    SecretString payload = SecretString::take(text);
    key_serial_t id = add_key("user", name.c_str(), payload.c_str(), payload.reveal().size(), keyring_);
    if (id < 0) {
        log::warn("the login could not be kept in the kernel keyring (", std::strerror(errno),
                  "); it will not survive a restart of sshcertd");
        return false;
    }
    if (keyctl_setperm(id, kPossessorOnly) < 0 || keyctl_set_timeout(id, timeout_of(ttl)) < 0) {
        log::warn("the kept login's key could not be restricted (", std::strerror(errno), "); removing it");
        keyctl_invalidate(id);
        return false;
    }
    return true;
}

void LoginStore::set_timeout(const std::string& name, std::int64_t ttl) {
    if (auto id = find(name); id >= 0) keyctl_set_timeout(id, timeout_of(ttl));
}

std::optional<LoginStore::Kept> LoginStore::load(const std::string& name) {
    auto id = find(name);
    if (id < 0) return std::nullopt;
    void* raw = nullptr;
    long n = keyctl_read_alloc(id, &raw);
    if (n < 0) return std::nullopt;
    std::string_view text(static_cast<const char*>(raw), static_cast<std::size_t>(n));
    std::optional<Kept> kept;
    if (text.starts_with(kMagic)) {
        text.remove_prefix(kMagic.size());
        bool imported = text.starts_with(kImported);
        if (imported || text.starts_with(kOwn)) {
            text.remove_prefix(imported ? kImported.size() : kOwn.size());
            if (!text.empty()) kept = Kept{SecretString(text), imported};
        }
    }
    OPENSSL_cleanse(raw, static_cast<std::size_t>(n));
    std::free(raw);
    if (!kept) remove(name);  // not ours to interpret: it would only be found again
    return kept;
}

void LoginStore::remove(const std::string& name) {
    if (auto id = find(name); id >= 0 && keyctl_invalidate(id) < 0) keyctl_unlink(id, keyring_);
}

}  // namespace sshcert
