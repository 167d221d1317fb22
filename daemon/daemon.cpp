// SPDX-License-Identifier: Apache-2.0
#include "daemon.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "curl_transport.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "systemd.hpp"
#include "unix_listener.hpp"

namespace sshcert {

namespace {
std::string expand_home(const std::string& path) {
    if (!path.starts_with("~/")) return path;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
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
      session_(make_session()),
      keys_(io, workers_),
      issuer_(keys_, [this] { return session_->vault_now(); }),
      source_([this]() -> const config::Config& { return config_; }, [this]() -> VaultSession& { return *session_; }, issuer_),
      cache_(
          [this](const CertKey& key, std::uint64_t generation, CertCache::Done done) {
              source_.fetch(key, generation, std::move(done));
          },
          [this] { return session_->vault_now(); }),
      agent_(io, cache_),
      listeners_(io, options_.runtime_dir, options_.agent_fd, options_.control_fd),
      control_(ControlContext{.config = [this]() -> const config::Config& { return config_; },
                              .session = [this]() -> VaultSession& { return *session_; },
                              .cache = cache_,
                              .agent = agent_,
                              .listeners = listeners_,
                              .reload = [this] { return reload(); }}),
      renewals_(
          io, cache_,
          [this]() -> std::optional<std::uint64_t> {
              if (!session_->tokens().active()) return std::nullopt;
              return session_->tokens().generation();
          },
          [this] { return static_cast<std::uint64_t>(config_.agent.renew_window.count()); },
          [this](std::size_t) { publish_status(); }) {
    cache_.on_stored([this] {
        renewals_.poke();  // the new certificate may need attention before the next wake-up
        publish_status();
    });
}

Daemon::~Daemon() {
    stop();
    workers_.join();
}

std::unique_ptr<VaultSession> Daemon::make_session() {
    auto transport = std::make_shared<CurlTransport>(io_, config_.vault);
    auto vault = std::make_shared<VaultClient>(io_, config_.vault, std::move(transport));
    return std::make_unique<VaultSession>(io_, std::move(vault), [this](bool identity_changed) { on_login_changed(identity_changed); });
}

void Daemon::start() {
    auto upstream = expand_home(config_.agent.upstream_agent);
    if (!upstream.empty() && upstream == config::agent_socket_path(options_.runtime_dir))
        throw StartupError("[agent] upstream_agent points at sshcertd's own socket");
    listeners_.start(agent_.protocol(std::nullopt), control_.protocol());
    sync_profile_sockets();
    agent_.set_upstream(upstream);
    session_->measure_clock_skew();
    sync_login_store();
    session_->tokens().restore();
    renewals_.poke();
    log::info("serving the agent on ", listeners_.agent_path(), " and control on ", listeners_.control_path(), "; Vault at ",
              session_->vault()->address(), ", ", config_.profiles.size(), " profile(s)",
              config_.source.empty() ? "" : " from " + config_.source, upstream.empty() ? "" : ", upstream agent " + upstream);
}

void Daemon::stop() {
    listeners_.stop();
    renewals_.stop();
    if (session_) {
        session_->stop();
        session_->vault()->shutdown();
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

    bool vault_changed = fresh->vault != config_.vault;  // any change means a new client, so a new login
    config_ = std::move(*fresh);
    if (vault_changed) {
        bool had_login = session_->tokens().active() != nullptr;
        // The old session revokes its token at the old Vault and lives on until its calls end.
        std::erase_if(retired_, [](const auto& s) { return s->vault()->pending() == 0; });
        session_->tokens().logout([](TokenKeeper::LogoutOutcome) {});
        session_->tokens().keep_in(nullptr, {});
        retired_.push_back(std::move(session_));
        session_ = make_session();
        cache_.clear();
        session_->measure_clock_skew();
        sync_login_store();
        session_->tokens().restore();
        if (had_login) log::info("the Vault settings changed (now ", config_.vault.address, "); the old login no longer applies");
    }
    sync_login_store();
    sync_profile_sockets();
    agent_.set_upstream(expand_home(config_.agent.upstream_agent));
    log::info("configuration reloaded: ", config_.profiles.size(), " profile(s)");
    systemd::notify("READY=1");
    publish_status();
    return ok_status();
}

void Daemon::sync_profile_sockets() {
    std::vector<std::string> names;
    for (const auto& p : config_.profiles) names.push_back(p.name);
    listeners_.sync_profiles(names, [this](const std::string& n) { return agent_.protocol(n); });
}

void Daemon::sync_login_store() {
    if (!config_.auth.persist_login) {
        session_->tokens().keep_in(nullptr, {});  // removes what was kept
        logins_.reset();
        return;
    }
    if (!logins_) logins_ = LoginStore::open();
    if (logins_)
        session_->tokens().keep_in(logins_.get(), LoginStore::name_for(options_.runtime_dir, config_.vault.address,
                                                                       config_.vault.namespace_name));
}

void Daemon::on_login_changed(bool identity_changed) {
    if (identity_changed) cache_.clear();  // certificates carry the old identity's key id
    publish_status();
}

void Daemon::publish_status() const {
    auto n = cache_.valid().size();
    auto token = session_ ? session_->tokens().summary() : std::nullopt;
    std::string line = (token ? "logged in as " + token->display_name : std::string("not logged in")) + ", " +
                       std::to_string(n) + (n == 1 ? " certificate" : " certificates");
    if (token && token->login_end_near) line += ", login required at " + local_hhmm(token->login_required_at);
    if (session_ && session_->vault()->outage()) line += ", Vault unreachable since " + local_hhmm(session_->vault()->outage()->since);
    systemd::notify("STATUS=" + line);
}

}  // namespace sshcert
