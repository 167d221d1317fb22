// SPDX-License-Identifier: Apache-2.0
// The control requests sshcertd answers (see proto/PROTOCOL.md).
#include <algorithm>

#include "daemon.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "vault_ssh.hpp"

namespace sshcert {

namespace {

using control::Json;

control::CertSummary summarize(const HeldCert& held) {
    control::CertSummary s;
    s.profile = held.key.profile;
    s.key_type = held.cert.key_type;
    s.fingerprint = fingerprint_sha256(held.cert.public_key);
    s.key_id = held.cert.key_id;
    s.serial = held.serial_hex;
    s.principals = held.cert.principals;
    s.valid_after = held.cert.valid_after;
    s.valid_before = held.cert.valid_before;
    for (const auto& [name, value] : held.cert.extensions) s.extensions.push_back(name);
    return s;
}

std::string profile_names(const config::Config& c) {
    std::string out;
    for (const auto& p : c.profiles) out += (out.empty() ? "" : ", ") + p.name;
    return out.empty() ? "none" : out;
}

}  // namespace

void Daemon::on_control(const Json& request, std::function<void(Json)> reply) {
    control::FieldReader f(request);
    std::string op = f.string("op");
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    log::debug("control: ", op);
    if (op == control::op::kStatus) return op_status(std::move(reply));
    if (op == control::op::kLogin) return op_login(request, std::move(reply));
    if (op == control::op::kEnsure) return op_ensure(request, std::move(reply));
    if (op == control::op::kLogout) return op_logout(std::move(reply));
    if (op == control::op::kCaKeys) return op_ca_keys(request, std::move(reply));
    if (op == control::op::kReload) {
        auto st = reload();
        return reply(st ? control::make_reply(Json::object()) : control::make_error_reply(st.error()));
    }
    reply(control::make_error_reply({Errc::InvalidMessage, "unknown control operation '" + op + "'"}));
}

void Daemon::op_status(std::function<void(Json)> reply) {
    Json certs = Json::array();
    for (const auto& held : cache_.valid()) {
        Json c = control::to_json(summarize(*held));
        c["signatures"] = held->signatures;
        c["connections"] = held->connections;
        c["agent_socket"] = profile_socket_or_main(held->key.profile);
        certs.push_back(std::move(c));
    }
    Json result{{"vault_addr", vault_->address()},
                {"logged_in", token_.has_value()},
                {"certificates", std::move(certs)},
                {"agent_socket", config::agent_socket_path(options_.runtime_dir)},
                {"config", config_.source},
                {"signatures", signatures_},
                {"agent_connections", agent_server_ ? agent_server_->connections_accepted() : 0},
                {"upstream_agent", upstream_ ? upstream_->path() : ""}};
    if (token_) {
        control::TokenSummary t = token_->summary;
        t.ttl_seconds = token_->ttl_left(std::chrono::steady_clock::now());
        result["token"] = control::to_json(t);
    }
    reply(control::make_reply(std::move(result)));
}

void Daemon::op_login(const Json& request, std::function<void(Json)> reply) {
    control::FieldReader f(request);
    LoginRequest req;
    req.method = f.string("method");
    req.mount = f.optional_string("mount").value_or("");
    req.username = f.optional_string("username").value_or("");
    std::string secret = f.string("secret");
    req.secret = SecretString::take(secret);
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    if (!find_auth_method(req.method))
        return reply(control::make_error_reply({Errc::InvalidArgument, "unknown login method '" + req.method + "' (use token or userpass)"}));

    offload([vault = vault_, req = std::move(req)] { return login(*vault, req); },
            [this, reply = std::move(reply)](Result<VaultToken> r) {
                if (!r) {
                    log::warn("login failed: ", r.error().message);
                    return reply(control::make_error_reply(r.error()));
                }
                bool same_identity = token_ && token_->summary.display_name == r->summary.display_name;
                token_ = std::move(*r);
                ++login_generation_;
                if (!same_identity) cache_.clear();  // certificates carry the old identity's key id
                schedule_token_renewal();
                log::info("logged in to ", vault_->address(), " as ", token_->summary.display_name);
                publish_status();
                reply(control::make_reply(control::to_json(token_->summary)));
            });
}

void Daemon::op_ensure(const Json& request, std::function<void(Json)> reply) {
    control::FieldReader f(request);
    std::string host = f.string("host");
    auto user = f.optional_string("user").value_or("");
    auto profile_name = f.optional_string("profile");
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    if (!token_) return reply(control::make_error_reply({Errc::NotLoggedIn, "not logged in to Vault; run: sshcert login"}));

    const config::Profile* profile = profile_name ? config_.find_profile(*profile_name) : config_.profile_for_host(host);
    if (!profile) {
        std::string where = config_.source.empty() ? config::default_config_path([](const char* n) { return std::getenv(n); })
                                                   : config_.source;
        return reply(control::make_error_reply(
            {Errc::NotFound, profile_name ? "no profile named '" + *profile_name + "' in " + where + " (profiles: " + profile_names(config_) + ")"
                                          : "no profile matches host '" + host + "'; add a [[profile]] whose hosts match it to " +
                                                where + " (profiles: " + profile_names(config_) + ")"}));
    }
    CertKey key{profile->name, profile->principals};
    if (key.principals.empty() && !user.empty()) key.principals.push_back(user);
    if (key.principals.empty())
        return reply(control::make_error_reply({Errc::InvalidArgument, "profile '" + profile->name +
                                                                           "' names no principals and no remote user was given"}));
    std::sort(key.principals.begin(), key.principals.end());
    key.principals.erase(std::unique(key.principals.begin(), key.principals.end()), key.principals.end());

    cache_.ensure(key, [this, reply = std::move(reply)](Result<std::shared_ptr<HeldCert>> r, bool reused) {
        if (!r) return reply(control::make_error_reply(r.error()));
        reply(control::make_reply({{"certificate", control::to_json(summarize(**r))},
                                   {"reused", reused},
                                   {"agent_socket", profile_socket_or_main((*r)->key.profile)}}));
    });
}

void Daemon::op_logout(std::function<void(Json)> reply) {
    cache_.clear();
    renew_timer_.cancel();
    ++login_generation_;
    std::optional<VaultToken> token = std::move(token_);
    token_.reset();
    publish_status();
    if (!token) return reply(control::make_reply({{"revoked", false}}));
    offload([vault = vault_, token = std::move(*token)] { return revoke_self(*vault, token.token); },
            [reply = std::move(reply)](Status st) {
                if (!st) log::warn("token revocation failed: ", st.error().message);
                Json result{{"revoked", st.ok()}};
                if (!st) result["warning"] = "the token was forgotten but Vault did not revoke it: " + st.error().message;
                reply(control::make_reply(std::move(result)));
            });
}

void Daemon::op_ca_keys(const Json& request, std::function<void(Json)> reply) {
    control::FieldReader f(request);
    auto profile_name = f.optional_string("profile");
    auto mount = f.optional_string("mount");
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    if (!mount) {
        const config::Profile* p = profile_name ? config_.find_profile(*profile_name)
                                                : (config_.profiles.empty() ? nullptr : &config_.profiles.front());
        if (!p)
            return reply(control::make_error_reply(
                {Errc::NotFound, profile_name ? "no profile named '" + *profile_name + "' (profiles: " + profile_names(config_) + ")"
                                              : "no profiles configured; add a [[profile]] whose mount is the Vault SSH CA's"}));
        mount = p->mount;
    }
    offload([vault = vault_, m = *mount] { return read_ca_public_key(*vault, m); },
            [reply = std::move(reply), m = *mount](Result<std::string> r) {
                if (!r) return reply(control::make_error_reply(r.error()));
                Json keys = Json::array();
                std::string_view text = *r;
                while (!text.empty()) {
                    auto nl = text.find('\n');
                    auto line = text.substr(0, nl);
                    if (!line.empty()) keys.push_back(std::string(line));
                    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
                }
                reply(control::make_reply({{"mount", m}, {"keys", std::move(keys)}}));
            });
}

}  // namespace sshcert
