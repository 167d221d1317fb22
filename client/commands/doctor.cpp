// SPDX-License-Identifier: Apache-2.0
// sshcert doctor: walks the chain from the config file to the server's trust,
// one check per link, and stops at the first broken one with what to do. A
// certificate is asked for as `ensure` would (Vault has no dry run for a role),
// so a healthy run leaves the daemon holding it, as a first ssh would.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "agent_identities.hpp"
#include "commands.hpp"
#include "doctor_report.hpp"
#include "format.hpp"
#include "known_hosts_lookup.hpp"
#include "profile_choice.hpp"
#include "ssh_cert.hpp"
#include "ssh_settings.hpp"

namespace sshcert::client {

namespace {

/// Vault backdates certificates by 30 s (not_before_duration): more skew than that can refuse a fresh one.
constexpr std::int64_t kNoticeableSkewSeconds = 30;
/// sshd's MaxAuthTries default: a client offering more keys than this is cut off before the rest are tried.
constexpr std::size_t kDefaultMaxAuthTries = 6;

std::string home_dir() {
    // ssh expands ~ from the password database, not $HOME; so do we, to read the same files.
    if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_dir;
    return {};
}

bool has(const std::vector<std::string>& items, std::string_view x) {
    for (const auto& i : items)
        if (i == x) return true;
    return false;
}

std::string vault_label(const std::string& name) { return name == config::kDefaultVault ? "the default Vault" : "Vault '" + name + "'"; }

std::string login_command(const std::string& vault) {
    return vault == config::kDefaultVault ? "sshcert login" : "sshcert login --vault " + vault;
}

class Doctor {
public:
    Doctor(const Context& ctx, const DoctorOptions& opts) : ctx_(ctx), opts_(opts) {}

    void run() {
        if (!check_config() || !check_socket_dir() || !check_daemon()) return;
        if (opts_.host && !read_ssh_settings()) return;
        if (opts_.host) choice_ = explain_profile_for_host(*config_, host_);
        std::vector<std::string> vaults = vaults_to_check();
        if (!check_vaults(vaults) || !check_logins(vaults) || !opts_.host) return;
        if (!check_profile() || !check_certificate()) return;
        check_extensions();
        if (!check_agent()) return;
        check_identity_count();
        check_plain_ssh();
        check_host_ca();
    }

    const DoctorReport& report() const { return report_; }

private:
    bool check_config() {
        auto c = ctx_.load_config();
        std::string path = ctx_.config_path ? *ctx_.config_path : config::default_config_path(ctx_.getenv);
        if (!c) {
            report_.fail("config", c.error().message, "correct " + path + " (see sshcert.toml(5)), then run: sshcert reload");
            return false;
        }
        config_ = std::move(*c);
        std::string source = config_->source.empty() ? "no config file (" + path + "), the built-in defaults" : config_->source;
        report_.ok("config", source + ", " + std::to_string(config_->profiles.size()) + " profile(s)");
        return true;
    }

    bool check_socket_dir() {
        const std::string& dir = ctx_.daemon.runtime_dir();
        auto st = config::check_private_dir(dir);
        if (!st && st.error().code == Errc::NotFound) return true;  // the daemon makes it; the next check says it is not running
        if (!st) {
            bool only_mode = st.error().message.find("chmod 700") != std::string::npos;
            report_.fail("socket-dir", st.error().message,
                         only_mode ? "run: chmod 700 " + dir
                                   : "set XDG_RUNTIME_DIR to a private directory of yours, or remove " + dir + " (see above)");
            return false;
        }
        report_.ok("socket-dir", dir + " is yours, mode 0700");
        return true;
    }

    bool check_daemon() {
        auto r = ctx_.daemon.call(control::make_request(control::op::kStatus));
        if (!r) {
            std::string fix = r.error().code == Errc::DaemonUnavailable ? "start it: " + daemon_start_command(ctx_.getenv, systemd_booted())
                                                                          : "do what the message says";
            report_.fail("daemon", r.error().message, fix);
            return false;
        }
        status_ = std::move(*r);
        report_.ok("daemon", "sshcertd answers on " + config::control_socket_path(ctx_.daemon.runtime_dir()) + ", config " +
                                 (status_.value("config", "").empty() ? "the built-in defaults" : status_.value("config", "")));
        return true;
    }

    bool read_ssh_settings() {
        std::string dest = *opts_.host;
        if (auto at = dest.rfind('@'); at != std::string::npos) {
            user_ = dest.substr(0, at);
            host_ = dest.substr(at + 1);
        } else {
            host_ = dest;
        }
        if (opts_.user) user_ = *opts_.user;
        auto s = query_ssh_settings(ssh_program(ctx_.getenv), {dest});
        if (!s) {
            report_.fail("ssh", s.error().message, "correct the ssh_config error ssh names (ssh -G " + dest + " shows it)");
            return false;
        }
        ssh_ = std::move(*s);
        if (user_.empty()) user_ = ssh_.first("user").value_or("");
        report_.ok("ssh", "ssh -G " + dest + ": remote user " + user_ + ", HostName " + ssh_.first("hostname").value_or(host_) +
                              ", port " + ssh_.first("port").value_or("22"));
        return true;
    }

    /// The host's profile's Vault, or every Vault the daemon talks to.
    std::vector<std::string> vaults_to_check() const {
        if (choice_.profile) return {choice_.profile->vault};
        std::vector<std::string> names;
        if (auto v = status_.find("vaults"); v != status_.end() && v->is_array())
            for (const auto& j : *v) names.push_back(j.value("name", ""));
        if (names.empty()) names.push_back(config::kDefaultVault);
        return names;
    }

    bool check_vaults(const std::vector<std::string>& names) {
        for (const auto& name : names) {
            auto h = ctx_.daemon.call(control::make_request(control::op::kVaultHealth, {{"vault", name}}));
            std::string label = vault_label(name);
            if (!h) {
                std::string fix = h.error().code == Errc::VaultUnreachable || h.error().code == Errc::VaultUnavailable
                                      ? "make sure Vault is up and reachable from this machine (VPN, firewall, DNS), or correct its "
                                        "address in the config and run: sshcert reload"
                                      : "do what the message says";
                report_.fail("vault", label + ": " + h.error().message, fix);
                return false;
            }
            std::string addr = h->value("vault_addr", "");
            if (!h->value("initialized", false)) {
                report_.fail("vault", label + " at " + addr + " is not initialized", "the Vault operator initializes it: vault operator init");
                return false;
            }
            if (h->value("sealed", false)) {
                report_.fail("vault", label + " at " + addr + " is sealed, so it signs nothing",
                             "the Vault operator unseals it: vault operator unseal");
                return false;
            }
            std::string version = h->contains("version") ? " (Vault " + h->value("version", "") + ")" : "";
            report_.ok("vault", label + " at " + addr + " answers, unsealed" + (h->value("standby", false) ? ", a standby" : "") + version);
            if (auto skew = h->find("clock_skew_seconds"); skew != h->end() && skew->is_number_integer()) {
                auto s = skew->get<std::int64_t>();
                std::string how = format_duration(std::llabs(s)) + (s > 0 ? " ahead of" : " behind") + " this machine's";
                if (std::llabs(s) > kNoticeableSkewSeconds)
                    report_.warn("clock", label + "'s clock is " + how + "; certificates may look not yet valid or expired to servers",
                                 "sync this machine's clock with NTP (timedatectl set-ntp true)");
                else
                    report_.ok("clock", "within " + format_duration(std::llabs(s)) + " of " + label + "'s");
            }
        }
        return true;
    }

    bool check_logins(const std::vector<std::string>& names) {
        auto vaults = status_.value("vaults", control::Json::array());
        for (const auto& name : names) {
            std::string label = vault_label(name);
            const control::Json* v = nullptr;
            for (const auto& j : vaults)
                if (j.value("name", "") == name) v = &j;
            if (!v || !v->value("logged_in", false) || !v->contains("token")) {
                report_.fail("login", "not logged in to " + label, "run: " + login_command(name));
                return false;
            }
            auto t = control::token_summary_from_json((*v)["token"]);
            if (!t) {
                report_.fail("login", t.error().message, "restart sshcertd");
                return false;
            }
            std::string life = t->ttl_seconds > 0 ? "token expires in " + format_duration(t->ttl_seconds) : "token never expires";
            if (t->renewable) life += ", renewed automatically";
            std::string detail = label + " as " + t->display_name + ", " + life;
            if (t->login_required_at > 0) {
                auto left = std::max<std::int64_t>(0, t->login_required_at - static_cast<std::int64_t>(std::time(nullptr)));
                detail += "; the login ends in " + format_duration(left);
                if (t->login_end_near) {
                    report_.warn("login", detail, "run " + login_command(name) + " before then");
                    continue;
                }
            }
            report_.ok("login", detail);
        }
        return true;
    }

    bool check_profile() {
        if (!choice_.profile) {
            std::string file = config_->source.empty() ? config::default_config_path(ctx_.getenv) : config_->source;
            report_.fail("profile", choice_.why,
                         "add a [[profile]] whose hosts match '" + host_ + "' to " + file + ", then run: sshcert reload");
            return false;
        }
        const config::Profile& p = *choice_.profile;
        report_.ok("profile", "'" + host_ + "' uses profile '" + p.name + "' (" + choice_.why + "): " + vault_label(p.vault) +
                                  ", mount " + p.mount + ", role " + p.role);
        return true;
    }

    bool check_certificate() {
        const config::Profile& p = *choice_.profile;
        auto r = ctx_.daemon.call(control::make_request(control::op::kEnsure, {{"host", host_}, {"user", user_}, {"profile", p.name}}));
        std::vector<std::string> asked = p.principals.empty() ? std::vector<std::string>{user_} : p.principals;
        if (!r) {
            const Error& e = r.error();
            std::string fix = "do what the message says";
            if (e.code == Errc::VaultRefused || e.code == Errc::VaultDenied)
                fix = "the Vault administrator lets role '" + p.role + "' at mount '" + p.mount + "' sign for " + join(asked, ", ") +
                      " (its allowed_users) and your policy allow " + p.mount + "/sign/" + p.role +
                      "; or set the profile's principals to ones the role allows";
            else if (e.code == Errc::NotLoggedIn)
                fix = "run: " + login_command(p.vault);
            report_.fail("certificate", "role '" + p.role + "' for principal(s) " + join(asked, ", ") + ": " + e.message, fix);
            return false;
        }
        auto c = control::cert_summary_from_json(r->value("certificate", control::Json::object()));
        if (!c) {
            report_.fail("certificate", c.error().message, "restart sshcertd");
            return false;
        }
        cert_ = std::move(*c);
        report_.ok("certificate", "role '" + p.role + "' signs for " + join(cert_.principals, ", ") + " (extensions: " +
                                      (cert_.extensions.empty() ? "none" : join(cert_.extensions, ", ")) + "), " +
                                      describe_validity(cert_.valid_before, static_cast<std::uint64_t>(std::time(nullptr))));
        if (!p.principals.empty() && !has(cert_.principals, user_))
            report_.warn("principals", "the certificate names " + join(cert_.principals, ", ") + ", not the remote user " + user_,
                         "the server must map them to " + user_ + " (AuthorizedPrincipalsFile, see sshcert cloud-init --principals)");
        return true;
    }

    /// What the ssh options ask for against what the certificate permits.
    void check_extensions() {
        std::vector<std::string> missing;
        auto wants = [&](const char* extension, bool asked) {
            if (asked && !has(cert_.extensions, extension)) missing.push_back(extension);
        };
        auto yes = [&](const char* keyword) {
            auto v = ssh_.first(keyword);
            return v && *v != "no";
        };
        wants("permit-pty", ssh_.first("requesttty").value_or("auto") != "no");
        wants("permit-agent-forwarding", yes("forwardagent"));
        wants("permit-X11-forwarding", yes("forwardx11"));
        wants("permit-port-forwarding",
              !ssh_.all("localforward").empty() || !ssh_.all("remoteforward").empty() || !ssh_.all("dynamicforward").empty());
        if (missing.empty()) return report_.ok("extensions", "the certificate permits what ssh asks for " + host_);
        report_.warn("extensions", "ssh asks for what the certificate does not permit: " + join(missing, ", "),
                     "have the role give them (default_extensions, allowed_extensions) and list them in the profile's extensions");
    }

    bool check_agent() {
        std::string socket = config::profile_agent_socket_path(ctx_.daemon.runtime_dir(), choice_.profile->name);
        auto ids = list_agent_identities(socket);
        if (!ids) {
            report_.fail("agent", ids.error().message, "restart sshcertd, which makes the profile's socket");
            return false;
        }
        agent_identities_ = ids->size();
        for (const auto& id : *ids) {
            auto cert = parse_certificate(id.key_blob);
            if (cert && cert->key_id == cert_.key_id && cert->valid_before == cert_.valid_before) {
                report_.ok("agent", socket + " offers the certificate (" + std::to_string(ids->size()) + " identities in all)");
                return true;
            }
        }
        report_.fail("agent", socket + " does not offer the certificate sshcertd reported (" + std::to_string(ids->size()) + " identities)",
                     "run sshcert reload, or restart sshcertd");
        return false;
    }

    void check_identity_count() {
        std::string home = home_dir();
        std::size_t files = 0;
        for (const auto& f : ssh_.all("identityfile")) {
            std::error_code ec;
            if (std::filesystem::exists(config::expand_tilde(f, home), ec)) ++files;
        }
        std::size_t total = agent_identities_ + files;
        std::string detail = "ssh may offer " + std::to_string(total) + " key(s): " + std::to_string(agent_identities_) +
                             " from the agent, " + std::to_string(files) + " IdentityFile(s) present";
        if (total > kDefaultMaxAuthTries)
            report_.warn("identities", detail + "; sshd's MaxAuthTries (6 by default) may end the login before the certificate is tried",
                         "set IdentitiesOnly yes for these hosts, or remove keys from the upstream agent");
        else
            report_.ok("identities", detail + ", within sshd's default MaxAuthTries of 6");
    }

    void check_plain_ssh() {
        std::string socket = config::profile_agent_socket_path(ctx_.daemon.runtime_dir(), choice_.profile->name);
        std::string agent = config::expand_tilde(ssh_.first("identityagent").value_or("none"), home_dir());
        if (agent == socket) return report_.ok("plain-ssh", "plain ssh to " + host_ + " uses the profile's agent " + socket);
        report_.warn("plain-ssh", "plain ssh to " + host_ + " uses IdentityAgent " + agent + ", not " + socket + " (sshcert ssh works)",
                     "for plain ssh, scp and git, run: sshcert ssh-config --install");
    }

    void check_host_ca() {
        std::string home = home_dir();
        std::vector<std::string> files;
        for (const auto& f : ssh_.words("userknownhostsfile")) files.push_back(config::expand_tilde(f, home));
        for (const auto& f : ssh_.words("globalknownhostsfile")) files.push_back(config::expand_tilde(f, home));
        std::string hostname = ssh_.first("hostname").value_or(host_);
        std::string port = ssh_.first("port").value_or("22");
        std::vector<std::string> names{hostname};
        if (port != "22") names.insert(names.begin(), "[" + hostname + "]:" + port);
        if (auto where = find_cert_authority(files, names)) return report_.ok("host-ca", "an @cert-authority line for " + hostname + " in " + *where);
        report_.warn("host-ca", "no @cert-authority line for " + hostname + " in " + join(files, ", ") +
                                    "; ssh trusts this host only by its own key in known_hosts",
                     "if Vault signs host keys: sshcert ca --host-mount MOUNT --known-hosts '" + hostname + "' >> ~/.ssh/known_hosts");
    }

    const Context& ctx_;
    const DoctorOptions& opts_;
    DoctorReport report_;
    std::optional<config::Config> config_;
    control::Json status_;
    std::string host_, user_;
    SshSettings ssh_;
    ProfileChoice choice_;
    control::CertSummary cert_;
    std::size_t agent_identities_ = 0;
};

}  // namespace

int cmd_doctor(const Context& ctx, const DoctorOptions& opts) {
    Doctor doctor(ctx, opts);
    doctor.run();
    const DoctorReport& r = doctor.report();
    std::cout << (opts.json ? r.json() : r.text()) << std::flush;
    return r.first_failure() ? 1 : 0;
}

}  // namespace sshcert::client
