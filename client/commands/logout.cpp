// SPDX-License-Identifier: Apache-2.0
// sshcert logout: the daemon wipes the keys and revokes the token of one
// Vault (--vault, or the one VAULT_ADDR names) or of every Vault.
#include <iostream>

#include "commands.hpp"
#include "format.hpp"

namespace sshcert::client {

namespace {

constexpr const char* kImportedNote =
    "The Vault token stays valid: it came from VAULT_TOKEN, the Vault CLI's token helper or ~/.vault-token, where the "
    "Vault CLI may still use it (sshcert logout --revoke revokes it).";

/// What happened to one Vault's token, as one sentence.
std::string token_fate(const control::Json& v) {
    if (v.value("revoked", false)) return "the Vault token was revoked";
    if (v.value("imported", false)) return "the token was forgotten but stays valid (it came from the Vault CLI)";
    return v.value("logged_in", false) ? "the token was forgotten" : "it was not logged in";
}

}  // namespace

int cmd_logout(const Context& ctx, bool revoke, const std::optional<std::string>& vault) {
    control::Json args{{"revoke", revoke}};
    add_vault_choice(ctx, args, vault);
    auto reply = ctx.daemon.call(control::make_request(control::op::kLogout, std::move(args)));
    if (!reply) return fail(reply.error());
    if (reply->contains("warning")) std::cerr << "sshcert: warning: " << (*reply)["warning"].get<std::string>() << "\n";
    const auto vaults = reply->value("vaults", control::Json::array());
    if (vaults.size() > 1) {
        for (const auto& v : vaults)
            std::cout << "Vault '" << v.value("name", "") << "': " << token_fate(v) << ".\n";
        std::cout << "Logged out of every Vault; all keys wiped.\n";
        if (reply->value("imported", false) && !reply->value("revoked", false)) std::cout << kImportedNote << "\n";
        return 0;
    }
    std::string name = vaults.size() == 1 ? vaults[0].value("name", "") : config::kDefaultVault;
    std::string logged_out = name == config::kDefaultVault ? "Logged out" : "Logged out of Vault '" + name + "'";
    std::string keys = name == config::kDefaultVault ? "all keys" : "its profiles' keys";
    if (reply->value("revoked", false))
        std::cout << logged_out << "; the Vault token was revoked and " << keys << " wiped.\n";
    else if (reply->value("imported", false))
        std::cout << logged_out << "; " << keys << " wiped. " << kImportedNote << "\n";
    else
        std::cout << logged_out << "; " << keys << " wiped.\n";
    return 0;
}

void print_vaults(const control::Json& status) {
    auto it = status.find("vaults");
    if (it == status.end() || !it->is_array() || it->size() < 2) return;
    std::cout << "Vaults:\n";
    for (const auto& v : *it) {
        std::string name = v.value("name", "");
        std::cout << "  " << name << ": " << v.value("vault_addr", "") << ", ";
        Result<control::TokenSummary> t = Error{Errc::NotFound, "not logged in"};
        if (v.contains("token")) t = control::token_summary_from_json(v["token"]);
        if (t)
            std::cout << "logged in as " << t->display_name << " (policies: " << join(t->policies, ", ") << "; token "
                      << (t->ttl_seconds > 0 ? "expires in " + format_duration(t->ttl_seconds) : "never expires") << ")\n";
        else
            std::cout << "not logged in (run: sshcert login" << (name == config::kDefaultVault ? "" : " --vault " + name) << ")\n";
    }
}

}  // namespace sshcert::client
