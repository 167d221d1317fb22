// SPDX-License-Identifier: Apache-2.0
#include "daemon.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <random>

#include "limits.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "systemd.hpp"
#include "unix_listener.hpp"
#include "vault_ssh.hpp"

namespace sshcert {

namespace {
std::uint64_t unix_now() { return static_cast<std::uint64_t>(std::time(nullptr)); }
}  // namespace

Daemon::Daemon(asio::io_context& io, DaemonOptions options, config::Config config)
    : io_(io),
      options_(std::move(options)),
      config_(std::move(config)),
      vault_(std::make_shared<VaultClient>(config_.vault)),
      cache_([this](const CertKey& key, CertCache::Done done) { fetch_certificate(key, std::move(done)); }, unix_now),
      renew_timer_(io),
      expiry_timer_(io) {}

Daemon::~Daemon() {
    stop();
    workers_.stop();
    workers_.join();
}

void Daemon::start() {
    if (auto st = config::make_private_dir(options_.runtime_dir); !st)
        throw StartupError("runtime directory: " + st.error().message);

    FramedProtocol control_proto{
        .name = "control",
        .max_body = limits::kMaxControlMessageBytes,
        .idle_timeout = limits::kControlIdleTimeout,
        .on_message =
            [this](std::uint64_t, wire::ByteView body, FramedProtocol::Reply reply) {
                auto send = [reply](control::Json j) { reply(control::encode(j)); };
                auto request = control::decode(body);
                if (!request) return send(control::make_error_reply(request.error()));
                on_control(*request, send);
            },
        .on_close = nullptr,
        .empty_frame_reply = [] { return control::encode(control::make_error_reply({Errc::InvalidMessage, "empty control frame"})); },
        .oversize_reply =
            [](std::size_t n) {
                return control::encode(control::make_error_reply(
                    {Errc::MessageTooLarge, "control message of " + std::to_string(n) + " bytes exceeds the limit of " +
                                                std::to_string(limits::kMaxControlMessageBytes)}));
            },
    };

    auto agent_path = config::agent_socket_path(options_.runtime_dir);
    auto control_path = config::control_socket_path(options_.runtime_dir);
    agent_server_ = listen(agent_path, agent_protocol(std::nullopt), options_.agent_fd);
    control_server_ = listen(control_path, std::move(control_proto), options_.control_fd);
    sync_profile_sockets();
    if (!config_.agent.upstream_agent.empty()) {
        std::string path = config_.agent.upstream_agent;
        if (path.starts_with("~/")) path = std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + path.substr(1);
        if (path == agent_path) throw StartupError("[agent] upstream_agent points at sshcertd's own socket");
        upstream_ = std::make_unique<UpstreamAgent>(io_, path);
    }
    schedule_expiry_sweep();
    log::info("serving the agent on ", agent_path, " and control on ", control_path, "; Vault at ", vault_->address(),
              ", ", config_.profiles.size(), " profile(s)", config_.source.empty() ? "" : " from " + config_.source,
              upstream_ ? ", upstream agent " + upstream_->path() : "");
}

std::unique_ptr<FramedServer> Daemon::listen(const std::string& path, FramedProtocol protocol, std::optional<int> inherited_fd) {
    std::unique_ptr<FramedServer> server;
    if (inherited_fd) {
        // systemd's socket: adopted, and never unlinked here.
        server = std::make_unique<FramedServer>(io_, adopt_listener(io_, *inherited_fd, path), std::move(protocol));
    } else {
        server = std::make_unique<FramedServer>(io_, bind_private_socket(io_, path), std::move(protocol));
        bound_paths_.push_back(path);
    }
    server->start();
    return server;
}

void Daemon::stop() {
    if (agent_server_) agent_server_->stop();
    for (auto& [name, server] : profile_servers_) server->stop();
    if (control_server_) control_server_->stop();
    renew_timer_.cancel();
    expiry_timer_.cancel();
    for (const auto& p : bound_paths_) ::unlink(p.c_str());
    bound_paths_.clear();
    cache_.clear();
    token_.reset();
}

Status Daemon::reload() {
    systemd::notify_reloading();
    auto fresh = config::load(options_.config_path, [](const char* n) { return std::getenv(n); });
    if (!fresh) {
        log::error("reload failed, keeping the previous configuration: ", fresh.error().message);
        systemd::notify("READY=1");
        return fresh.error();
    }
    bool vault_changed = fresh->vault.address != config_.vault.address;
    config_ = std::move(*fresh);
    vault_ = std::make_shared<VaultClient>(config_.vault);
    if (vault_changed && token_) {
        log::info("Vault address changed to ", config_.vault.address, "; the old login no longer applies");
        token_.reset();
        ++login_generation_;
        cache_.clear();
    }
    if (agent_server_) sync_profile_sockets();
    log::info("configuration reloaded: ", config_.profiles.size(), " profile(s)");
    systemd::notify("READY=1");
    publish_status();
    return ok_status();
}

void Daemon::publish_status() const {
    auto n = cache_.valid().size();
    systemd::notify("STATUS=" + (token_ ? "logged in as " + token_->summary.display_name : std::string("not logged in")) + ", " +
                    std::to_string(n) + (n == 1 ? " certificate" : " certificates"));
}

// ---- certificates -----------------------------------------------------------

void Daemon::fetch_certificate(const CertKey& key, CertCache::Done done) {
    const config::Profile* profile = config_.find_profile(key.profile);
    if (!token_) return done(Error{Errc::NotLoggedIn, "not logged in to Vault; run: sshcert login"});
    if (!profile) return done(Error{Errc::NotFound, "profile '" + key.profile + "' is no longer configured"});
    auto work = [vault = vault_, token = *token_, profile = *profile, key]() -> Result<std::shared_ptr<HeldCert>> {
        auto ssh_key = SshKey::generate(profile.key_type);
        if (!ssh_key) return ssh_key.error();
        auto signed_line = sign_public_key(*vault, token, profile, key.principals, format_key_line(ssh_key->public_blob()));
        if (!signed_line) return signed_line.error();
        auto line = parse_key_line(*signed_line);
        if (!line) return Error{Errc::VaultBadResponse, "Vault returned a signed_key that is not a certificate: " + line.error().message};
        auto cert = parse_certificate(line->blob);
        if (!cert) return Error{Errc::VaultBadResponse, "Vault returned an unusable certificate: " + cert.error().message};
        if (cert->public_key != ssh_key->public_blob())
            return Error{Errc::VaultBadResponse, "Vault returned a certificate for a different key than the one sent"};
        if (cert->type != CertType::User) return Error{Errc::VaultBadResponse, "Vault returned a host certificate"};
        for (const auto& p : key.principals)
            if (std::find(cert->principals.begin(), cert->principals.end(), p) == cert->principals.end())
                return Error{Errc::VaultBadResponse, "Vault's certificate does not name the principal '" + p + "'"};
        char serial[17];
        std::snprintf(serial, sizeof serial, "%llx", static_cast<unsigned long long>(cert->serial));
        return std::make_shared<HeldCert>(HeldCert{key, std::make_shared<const SshKey>(std::move(*ssh_key)),
                                                   std::move(line->blob), std::move(*cert), serial, 0});
    };
    offload(std::move(work), [this, done = std::move(done)](Result<std::shared_ptr<HeldCert>> r) {
        if (r) {
            const auto& c = (*r)->cert;
            log::info("certificate for profile ", (*r)->key.profile, ": key_id=", c.key_id, " serial=", (*r)->serial_hex,
                      " key=", fingerprint_sha256(c.public_key), " valid_before=", c.valid_before);
        } else {
            note_vault_error(r.error());
        }
        bool fetched = r.ok();
        done(std::move(r));  // the cache holds it from here on
        if (fetched) schedule_expiry_sweep();
        publish_status();
    });
}

void Daemon::schedule_expiry_sweep() {
    // Wake just after the next certificate expires (times are whole seconds), and at least every minute.
    auto next = cache_.next_expiry();
    auto now = unix_now();
    std::chrono::seconds wait(60);
    if (next) wait = std::min(wait, std::chrono::seconds(*next > now ? *next - now + 1 : 1));
    expiry_timer_.expires_after(wait);
    expiry_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        if (auto n = cache_.drop_expired()) {
            log::info(n, " expired certificate(s) dropped and their keys wiped");
            publish_status();
        }
        schedule_expiry_sweep();
    });
}

// ---- token ------------------------------------------------------------------

void Daemon::note_vault_error(const Error& e) {
    if ((e.code == Errc::NotLoggedIn || is_invalid_token(e)) && token_) {
        log::warn("Vault no longer accepts our token; a new login is needed");
        token_.reset();
        ++login_generation_;
        renew_timer_.cancel();
        publish_status();
    }
}

void Daemon::schedule_token_renewal() {
    renew_timer_.cancel();
    if (!token_ || !token_->summary.renewable || token_->summary.ttl_seconds <= 0) return;
    // Renew at about two thirds of what is left, with jitter so many daemons do not renew in step;
    // after a transient failure this retries at two thirds of the (shorter) remainder.
    thread_local std::mt19937 rng{std::random_device{}()};
    double factor = std::uniform_real_distribution<double>(0.6, 0.7)(rng);
    auto left_ms = token_->ttl_left(std::chrono::steady_clock::now()) * 1000;
    renew_timer_.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(5000, static_cast<std::int64_t>(left_ms * factor))));
    renew_timer_.async_wait([this, generation = login_generation_](boost::system::error_code ec) {
        if (ec || !token_ || generation != login_generation_) return;
        auto left_before = token_->ttl_left(std::chrono::steady_clock::now());
        offload([vault = vault_, token = *token_] { return renew_self(*vault, token); },
                [this, generation, left_before](Result<VaultToken> r) {
                    if (generation != login_generation_) return;
                    if (r) {
                        bool capped = r->summary.ttl_seconds <= left_before;  // at its max TTL: renewing again gains nothing
                        log::info("Vault token renewed for ", r->summary.ttl_seconds, " s",
                                  capped ? "; it has reached its maximum lifetime, so a new login will be needed then" : "");
                        token_ = std::move(*r);
                        if (!capped) schedule_token_renewal();
                        return;
                    }
                    log::warn("token renewal failed: ", r.error().message);
                    note_vault_error(r.error());
                    schedule_token_renewal();  // a no-op once the token is gone
                });
    });
}

}  // namespace sshcert
