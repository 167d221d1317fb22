// SPDX-License-Identifier: Apache-2.0
// Which of the daemon's Vaults a request is for (and each one's login for status), and whether the client's own
// settings (VAULT_ADDR, -c FILE) agree with the daemon's: they either reach
// the daemon or the request is refused with what to do.
#include <sys/stat.h>

#include "control_service.hpp"
#include "paths.hpp"

namespace sshcert::ops {

namespace {

std::string_view trim_slash(std::string_view a) {
    while (a.size() > 1 && a.back() == '/') a.remove_suffix(1);
    return a;
}

bool serves(const config::VaultSettings& v, std::string_view addr) {
    if (trim_slash(v.address) == trim_slash(addr)) return true;
    for (const auto& f : v.fallback_addresses)
        if (trim_slash(f) == trim_slash(addr)) return true;
    return false;
}

std::string config_file(const config::Config& c) {
    return c.source.empty() ? "no config file, the defaults" : c.source;
}

/// "https://y (from FILE)" or "https://y (default), https://z (Vault 'corp') (from FILE)".
std::string daemon_vaults(const config::Config& c) {
    std::string out;
    for (const auto& name : c.vault_names()) {
        out += (out.empty() ? "" : ", ") + c.find_vault(name)->address;
        if (!c.vaults.empty()) out += name == config::kDefaultVault ? " (the default)" : " (Vault '" + name + "')";
    }
    return out + " (from " + config_file(c) + ")";
}

std::string vault_list(const config::Config& c) {
    std::string out;
    for (const auto& n : c.vault_names()) out += (out.empty() ? "" : ", ") + n;
    return out;
}

}  // namespace

Result<ChosenVault> choose_vault(ControlContext& ctx, const control::Json& request, const config::Profile* profile) {
    control::FieldReader f(request);
    auto named = f.optional_string("vault");
    auto addr = f.optional_string("vault_addr");
    if (f.error()) return *f.error();
    const config::Config& c = ctx.config();
    std::string name = named ? *named : profile ? profile->vault : config::kDefaultVault;
    if (!c.find_vault(name))
        return Error{Errc::NotFound, "sshcertd knows no Vault named '" + name + "' (Vaults: " + vault_list(c) + ", in " +
                                         config_file(c) + "); add a [vault." + name + "] there and run: sshcert reload"};
    if (addr && !addr->empty()) {
        std::optional<std::string> match;
        for (const auto& n : c.vault_names())
            if (serves(*c.find_vault(n), *addr)) {
                match = n;
                break;
            }
        if (!match)
            return Error{Errc::InvalidArgument, "VAULT_ADDR is " + *addr + " but sshcertd talks to " + daemon_vaults(c) +
                                                    "; unset VAULT_ADDR, or add a [vault.<name>] for it"};
        if (named || profile) {
            if (*match != name) {
                std::string who = named ? "--vault " + name : "profile '" + profile->name + "'";
                return Error{Errc::InvalidArgument, "VAULT_ADDR is " + *addr + " (Vault '" + *match + "'), but " + who +
                                                        " uses Vault '" + name + "' at " + c.find_vault(name)->address +
                                                        "; unset VAULT_ADDR, or set it to that address"};
            }
        } else {
            name = *match;
        }
    }
    VaultSession* session = ctx.vault_session(name);
    if (!session) return Error{Errc::Internal, "sshcertd has no session for Vault '" + name + "'; run: sshcert reload"};
    return ChosenVault{name, session};
}

control::Json vaults_status(ControlContext& ctx) {
    control::Json out = control::Json::array();
    for (const auto& name : ctx.config().vault_names()) {
        VaultSession* session = ctx.vault_session(name);
        if (!session) continue;
        auto token = session->tokens().summary();
        control::Json v{{"name", name}, {"vault_addr", session->vault()->address()}, {"logged_in", token.has_value()}};
        if (token) v["token"] = control::to_json(*token);
        out.push_back(std::move(v));
    }
    return out;
}

Status check_client_config(const config::Config& c, const control::Json& request) {
    auto it = request.find("config");
    if (it == request.end() || it->is_null()) return ok_status();
    if (!it->is_string()) return Error{Errc::InvalidMessage, "malformed control message: 'config' must be a string"};
    const std::string& theirs = it->get_ref<const std::string&>();
    struct stat a {}, b {};
    bool same = !c.source.empty() && (theirs == c.source || (::stat(theirs.c_str(), &a) == 0 && ::stat(c.source.c_str(), &b) == 0 &&
                                                             a.st_dev == b.st_dev && a.st_ino == b.st_ino));
    if (same) return ok_status();
    return Error{Errc::InvalidArgument, "-c " + theirs + " is not the config sshcertd runs with (" + config_file(c) +
                                            "), and this command goes through sshcertd; drop -c, or restart sshcertd with "
                                            "--config " + theirs};
}

}  // namespace sshcert::ops
