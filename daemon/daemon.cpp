// SPDX-License-Identifier: Apache-2.0
#include "daemon.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>
#include <utility>

#include "curl_transport.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "systemd.hpp"
#include "unix_listener.hpp"

namespace sshcert {

namespace {
std::string expand_home(const std::string& path) {
    return config::expand_home(path, [](const char* n) { return std::getenv(n); });
}

/// Where bound agent connections look up the host: the user's known_hosts, then the one sshcert keeps.
std::vector<std::string> known_hosts_files() {
    auto getenv = [](const char* n) { return std::getenv(n); };
    return {config::user_known_hosts_path(getenv), config::managed_known_hosts_path(getenv)};
}

/// "14:05" in local time, as a status line says it.
std::string local_hhmm(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    char buf[16];
    if (!::localtime_r(&t, &tm) || std::strftime(buf, sizeof buf, "%H:%M", &tm) == 0) return "?";
    return buf;
}

}  // namespace

Daemon::Daemon(asio::io_context& io, DaemonOptions options, config::Config config)
    : io_(io),
      options_(std::move(options)),
      config_(std::move(config)),
      keys_(io, workers_),
      // One clock for all certificates: the default Vault's (other Vaults' skew is measured and logged).
      issuer_(keys_, [this] { return default_session().vault_now(); }),
      source_([this]() -> const config::Config& { return config_; }, [this](std::string_view n) { return session(n); }, issuer_),
      cache_(
          [this](const CertKey& key, std::uint64_t generation, CertCache::Done done) {
              source_.fetch(key, generation, std::move(done));
          },
          [this] { return default_session().vault_now(); }),
      agent_(io, cache_, [this]() -> const config::Config& { return config_; },
             known_hosts_files()),
      listeners_(io, options_.runtime_dir, options_.agent_fd, options_.control_fd),
      control_(ControlContext{.config = [this]() -> const config::Config& { return config_; },
                              .session = [this]() -> VaultSession& { return default_session(); },
                              .vault_session = [this](std::string_view n) { return session(n); },
                              .cache = cache_,
                              .agent = agent_,
                              .listeners = listeners_,
                              .reload = [this] { return reload(); }}),
      renewals_(
          io, cache_,
          [this](const CertKey& key) -> std::optional<RenewalScheduler::Route> {
              const config::Profile* p = config_.find_profile(key.profile);
              VaultSession* s = p ? session(p->vault) : nullptr;
              if (!s || !s->tokens().active()) return std::nullopt;
              return RenewalScheduler::Route{p->vault, s->tokens().generation()};
          },
          [this] { return static_cast<std::uint64_t>(config_.agent.renew_window.count()); },
          [this](std::size_t) { publish_status(); }) {
    for (const auto& name : config_.vault_names()) sessions_[name] = make_session(name, *config_.find_vault(name));
    cache_.on_stored([this] {
        renewals_.poke();  // the new certificate may need attention before the next wake-up
        publish_status();
    });
}

Daemon::~Daemon() {
    stop();
    workers_.join();
}

std::unique_ptr<VaultSession> Daemon::make_session(const std::string& name, const config::VaultSettings& settings) {
    if (settings.skip_verify)
        log::warn("TLS verification of Vault '", name, "' at ", settings.address,
                  " is OFF (VAULT_SKIP_VERIFY or [vault] skip_verify): anyone on the network path can read its tokens; "
                  "set VAULT_CACERT or [vault] ca_cert to Vault's CA instead");
    config::VaultSettings tls = settings;  // the TLS files' paths may start with ~/
    for (std::string* path : {&tls.ca_cert, &tls.ca_path, &tls.client_cert, &tls.client_key}) *path = expand_home(*path);
    auto transport = std::make_shared<CurlTransport>(io_, tls);
    auto vault = std::make_shared<VaultClient>(io_, std::move(tls), std::move(transport));
    auto serial = serials_[name] = ++sessions_made_;
    return std::make_unique<VaultSession>(
        io_, std::move(vault), [this, name, serial](bool identity_changed) { on_login_changed(name, serial, identity_changed); });
}

VaultSession* Daemon::session(std::string_view name) const {
    auto it = sessions_.find(name);
    return it == sessions_.end() ? nullptr : it->second.get();
}

void Daemon::start() {
    auto upstream = expand_home(config_.agent.upstream_agent);
    if (!upstream.empty() && upstream == config::agent_socket_path(options_.runtime_dir))
        throw StartupError("[agent] upstream_agent points at sshcertd's own socket");
    listeners_.start(agent_.protocol(std::nullopt), control_.protocol());
    sync_profile_sockets();
    keys_.prepare(config_.profiles);
    agent_.set_upstream(upstream);
    for (auto& [name, s] : sessions_) s->measure_clock_skew();
    sync_login_store();
    for (auto& [name, s] : sessions_) s->tokens().restore();
    renewals_.poke();
    std::string others = sessions_.size() > 1 ? " and " + std::to_string(sessions_.size() - 1) + " more" : "";
    log::info("serving the agent on ", listeners_.agent_path(), " and control on ", listeners_.control_path(), "; Vault at ",
              default_session().vault()->address(), others, ", ", config_.profiles.size(), " profile(s)",
              config_.source.empty() ? "" : " from " + config_.source, upstream.empty() ? "" : ", upstream agent " + upstream);
}

void Daemon::stop() {
    listeners_.stop();
    renewals_.stop();
    for (auto& [name, s] : sessions_) {
        s->stop();
        s->vault()->shutdown();
    }
    for (auto& s : retired_) {
        s->stop();
        s->vault()->shutdown();
    }
    cache_.clear();
}

Status Daemon::reload() {
    systemd::notify_reloading();
    auto fail = [](Error e) {
        log::error("reload failed, keeping the previous configuration: ", e.message);
        systemd::notify("READY=1");
        return Status(std::move(e));
    };
    // A config that was read from a file must still be one: a missing file or a directory in its
    // place would otherwise load the defaults, silently dropping every profile.
    if (!config_.source.empty()) {
        struct stat st {};
        if (::stat(config_.source.c_str(), &st) != 0)
            return fail({Errc::NotFound, config_.source + " is gone; restore it (or point --config elsewhere and restart)"});
        if (!S_ISREG(st.st_mode)) return fail({Errc::InvalidArgument, config_.source + " is not a regular file"});
    }
    auto fresh = config::load(options_.config_path, [](const char* n) { return std::getenv(n); });
    if (!fresh) return fail(fresh.error());
    if (auto up = expand_home(fresh->agent.upstream_agent); !up.empty() && up == config::agent_socket_path(options_.runtime_dir))
        return fail({Errc::InvalidArgument, "[agent] upstream_agent points at sshcertd's own socket " + up +
                                                "; set it to the agent you used before sshcertd (your old SSH_AUTH_SOCK)"});

    config::Config old = std::exchange(config_, std::move(*fresh));
    sync_sessions(old);
    sync_login_store();
    for (auto& [name, s] : sessions_) s->tokens().restore();  // a new session takes up the login kept for its Vault
    sync_profile_sockets();
    keys_.prepare(config_.profiles);
    auto upstream = expand_home(config_.agent.upstream_agent);
    agent_.set_upstream(upstream);
    log::info("configuration reloaded: ", config_.profiles.size(), " profile(s)", upstream.empty() ? "" : ", upstream agent " + upstream);
    systemd::notify("READY=1");
    publish_status();
    return ok_status();
}

void Daemon::sync_sessions(const config::Config& old) {
    std::erase_if(retired_, [](const auto& s) { return s->vault()->pending() == 0; });
    std::set<std::string, std::less<>> replaced;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        const config::VaultSettings* now = config_.find_vault(it->first);
        if (now && *now == *old.find_vault(it->first)) {  // unchanged: it keeps its login
            ++it;
            continue;
        }
        // Any change means a new client, so a new login. The old session revokes its token at the
        // old Vault and lives on until its calls end.
        if (it->second->tokens().active()) {
            std::string which = it->first == config::kDefaultVault ? "the Vault settings" : "Vault '" + it->first + "'";
            if (now) log::info(which, " changed (now ", now->address, "); the old login no longer applies");
            else log::info(which, " is no longer configured; its login was revoked");
        }
        it->second->tokens().logout([](TokenKeeper::LogoutOutcome) {});
        it->second->tokens().keep_in(nullptr, {});
        retired_.push_back(std::move(it->second));
        replaced.insert(it->first);
        serials_.erase(it->first);
        it = sessions_.erase(it);
    }
    for (const auto& name : config_.vault_names())
        if (!sessions_.count(name)) {
            auto& s = sessions_[name] = make_session(name, *config_.find_vault(name));
            s->measure_clock_skew();
        }
    // Certificates signed through a replaced session, or for a profile that moved to another Vault, go.
    cache_.clear_if([&](const CertKey& key) {
        const config::Profile* was = old.find_profile(key.profile);
        const config::Profile* is = config_.find_profile(key.profile);
        return (was && replaced.count(was->vault)) || (was && is && was->vault != is->vault);
    });
}

void Daemon::sync_profile_sockets() {
    std::vector<std::string> names;
    for (const auto& p : config_.profiles) names.push_back(p.name);
    listeners_.sync_profiles(names, [this](const std::string& n) { return agent_.protocol(n); });
}

void Daemon::sync_login_store() {
    bool any = false;
    for (const auto& name : config_.vault_names()) any |= config_.find_auth(name)->persist_login;
    if (any && !logins_) logins_ = LoginStore::open();
    for (auto& [name, s] : sessions_) {
        const config::VaultSettings& v = *config_.find_vault(name);
        if (logins_ && config_.find_auth(name)->persist_login)
            s->tokens().keep_in(logins_.get(), LoginStore::name_for(options_.runtime_dir, v.address, v.namespace_name));
        else
            s->tokens().keep_in(nullptr, {});  // removes what was kept
    }
    if (!any) logins_.reset();
}

void Daemon::on_login_changed(const std::string& vault, std::uint64_t serial, bool identity_changed) {
    if (serials_[vault] != serial) return;  // retired: its certificates went when it was replaced
    // Certificates carry the old identity's key id; other Vaults' logins are not touched.
    if (identity_changed) cache_.clear_if(certs_of_vault(config_, vault));
    publish_status();
}

void Daemon::publish_status() const {
    auto n = cache_.valid().size();
    VaultSession* s = session(config::kDefaultVault);
    auto token = s ? s->tokens().summary() : std::nullopt;
    std::string line = (token ? "logged in as " + token->display_name : std::string("not logged in")) + ", " +
                       std::to_string(n) + (n == 1 ? " certificate" : " certificates");
    if (token && token->login_end_near) line += ", login required at " + local_hhmm(token->login_required_at);
    if (s && s->vault()->outage()) line += ", Vault failing since " + local_hhmm(s->vault()->outage()->since);
    systemd::notify("STATUS=" + line);
}

}  // namespace sshcert
