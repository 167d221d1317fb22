// SPDX-License-Identifier: Apache-2.0
#include "token_keeper.hpp"

#include <algorithm>

#include "log.hpp"
#include "vault_decode.hpp"
#include "vault_error.hpp"

namespace sshcert {

namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;

/// The longest wait between renewal retries once one failed (Vault Agent's backoff cap).
constexpr seconds kMaxRenewRetry{300};

VaultCall self_call(const char* method, const char* path, const SecretString& token) {
    VaultCall c{.method = method, .path = path, .token = token};
    if (std::string_view(method) == "POST") c.body = Json::object();
    return c;
}
}  // namespace

void look_up_token(VaultClient& vault, LoginGrant grant, bool imported, std::function<void(Result<VaultToken>)> done) {
    auto token = grant.token;
    vault.call(self_call("GET", "auth/token/lookup-self", token),
               [&vault, grant = std::move(grant), imported, done = std::move(done)](Result<VaultReply> r) mutable {
                   auto make = [&](control::TokenSummary s, bool can_look_up) {
                       s.vault_addr = vault.address();
                       return VaultToken{std::move(grant.token), std::move(s), DaemonClock::now(), can_look_up, imported};
                   };
                   if (r) {
                       auto summary = vault::decode_lookup_self(r->json());
                       if (!summary) return done(summary.error());
                       return done(make(std::move(*summary), true));
                   }
                   Error e = std::move(r).error();
                   if (e.code != Errc::VaultDenied) return done(e);
                   if (!says_invalid_token(e) && grant.from_login) {
                       // A token without the default policy may not look itself up; the login reply vouches for it.
                       log::info("Vault denied lookup-self for the new token (no default policy?); using what the login reply said");
                       return done(make(*grant.from_login, false));
                   }
                   done(Error{Errc::VaultDenied,
                              "Vault rejected the token (" + (e.detail.empty() ? e.message : e.detail) +
                                  "): it has expired or been revoked, or may not look itself up; get a fresh one with "
                                  "`vault login`, or log in with --method userpass",
                              e.detail});
               });
}

TokenKeeper::TokenKeeper(asio::io_context& io, VaultClient& vault, Changed changed)
    : io_(io), vault_(vault), changed_(std::move(changed)), renew_timer_(io) {}

const VaultToken* TokenKeeper::active() const {
    if (!token_ || token_->ttl_left(DaemonClock::now()) < 0) return nullptr;
    return &*token_;
}

std::optional<control::TokenSummary> TokenKeeper::summary() const {
    const VaultToken* t = active();
    if (!t) return std::nullopt;
    control::TokenSummary s = t->summary;
    s.ttl_seconds = std::max<std::int64_t>(0, t->ttl_left(DaemonClock::now()));
    return s;
}

void TokenKeeper::login(LoginRequest req, std::function<void(Result<control::TokenSummary>)> done) {
    const AuthMethod* method = find_auth_method(req.method);
    if (!method) {
        Error e{Errc::InvalidArgument, "unknown login method '" + req.method + "' (use " + auth_method_names() + ")"};
        return asio::post(io_, [done = std::move(done), e = std::move(e)] { done(e); });
    }
    bool imported = req.method == "token";
    method->start(io_, vault_, req, [this, imported, logouts = logouts_, done = std::move(done)](Result<LoginGrant> grant) mutable {
        if (!grant) return done(grant.error());
        look_up_token(vault_, std::move(*grant), imported,
                      [this, logouts, done = std::move(done)](Result<VaultToken> token) {
                          if (!token) return done(token.error());
                          if (logouts != logouts_)
                              return done(Error{Errc::NotLoggedIn, "logged out while this login was under way; log in again"});
                          auto summary = token->summary;
                          adopt(std::move(*token));
                          done(summary);
                      });
    });
}

void TokenKeeper::adopt(VaultToken token) {
    bool same_identity = token_ && token_->summary.display_name == token.summary.display_name &&
                         token_->summary.vault_addr == token.summary.vault_addr;
    log::info("logged in to ", token.summary.vault_addr, " as ", token.summary.display_name, " (token TTL ",
              token.summary.ttl_seconds, " s", token.summary.renewable ? ", renewable" : "", ")");
    token_ = std::move(token);
    ++generation_;
    renew_failures_ = 0;
    schedule_renewal();
    changed_(!same_identity);
}

void TokenKeeper::drop(const std::string& why) {
    if (!token_) return;
    log::warn(why);
    token_.reset();
    ++generation_;
    renew_timer_.cancel();
    changed_(true);
}

void TokenKeeper::forget(const std::string& why) {
    ++logouts_;
    drop(why);
}

void TokenKeeper::logout(std::function<void(LogoutOutcome)> done) {
    ++logouts_;
    std::optional<VaultToken> token = std::move(token_);
    token_.reset();
    ++generation_;
    renew_timer_.cancel();
    changed_(true);
    if (!token) return asio::post(io_, [done = std::move(done)] { done({}); });
    vault_.call(self_call("POST", "auth/token/revoke-self", token->token), [done = std::move(done)](Result<VaultReply> r) {
        LogoutOutcome out{.had_token = true, .revoked = r.ok()};
        if (!r) {
            log::warn("token revocation failed: ", r.error().message);
            out.warning = "the token was forgotten but Vault did not confirm its revocation: " + r.error().message;
        }
        done(out);
    });
}

void TokenKeeper::confirm_denial(std::uint64_t generation, const Error& denial, std::function<void(bool)> done) {
    auto post = [&](bool dead) { asio::post(io_, [done, dead] { done(dead); }); };
    if (generation != generation_ || !token_) return post(true);
    if (says_invalid_token(denial)) {
        drop("Vault says the token is no longer valid; a new login is needed");
        return post(true);
    }
    if (!token_->can_look_up_self) return post(false);
    vault_.call(self_call("GET", "auth/token/lookup-self", token_->token), [this, generation, done](Result<VaultReply> r) {
        if (generation != generation_) return done(true);
        if (!r && r.error().code == Errc::VaultDenied) {
            drop("Vault denied the token looking itself up: it has expired or been revoked; a new login is needed");
            return done(true);
        }
        if (r)
            if (auto s = vault::decode_lookup_self(r->json()); s && token_) {
                token_->summary.ttl_seconds = s->ttl_seconds;
                token_->checked_at = DaemonClock::now();
            }
        done(false);
    });
}

void TokenKeeper::schedule_renewal() {
    renew_timer_.cancel();
    if (!token_ || token_->summary.ttl_seconds <= 0) return;  // never expires
    auto left = token_->ttl_left(DaemonClock::now());
    if (left < 0) return drop("the Vault token expired; a new login is needed");
    milliseconds wait;
    bool renewing = token_->summary.renewable;
    if (!renewing) {
        wait = seconds(left) + milliseconds(500);  // drop it the moment it expires
    } else if (renew_failures_ == 0) {
        // About two thirds of what is left, jittered so a team's daemons do not renew in step.
        double factor = std::uniform_real_distribution<double>(0.6, 0.7)(rng_);
        wait = milliseconds(static_cast<std::int64_t>(static_cast<double>(left) * 1000.0 * factor));
    } else {
        // Retry with backoff from 1 s to 5 min (as Vault Agent), never past a third of what is left.
        auto backoff = std::min<std::int64_t>(kMaxRenewRetry.count(), std::int64_t{1} << std::min(renew_failures_, 9));
        wait = milliseconds(std::min<std::int64_t>(backoff * 1000, std::max<std::int64_t>(1000, left * 1000 / 3)));
    }
    renew_timer_.expires_after(wait);
    renew_timer_.async_wait([this, generation = generation_, renewing](boost::system::error_code ec) {
        if (ec || generation != generation_ || !token_) return;
        if (!renewing) return drop("the Vault token reached the end of its lifetime; a new login is needed");
        renew();
    });
}

void TokenKeeper::renew() {
    auto left_before = token_->ttl_left(DaemonClock::now());
    vault_.call(self_call("POST", "auth/token/renew-self", token_->token),
                [this, generation = generation_, left_before](Result<VaultReply> r) {
                    if (generation != generation_ || !token_) return;
                    auto lease = r ? vault::decode_renew(r->json(), r->status()) : Result<vault::Lease>(r.error());
                    if (!lease) {
                        ++renew_failures_;
                        log::warn("token renewal failed: ", lease.error().message);
                        if (lease.error().code == Errc::VaultDenied)
                            return confirm_denial(generation, lease.error(), [this](bool) { schedule_renewal(); });
                        return schedule_renewal();
                    }
                    renew_failures_ = 0;
                    if (lease->none) {
                        log::info("Vault did not extend the token (its auth method offered no renewal); a new login will be needed in ",
                                  left_before, " s");
                        token_->summary.renewable = false;
                    } else {
                        bool capped = lease->ttl_seconds <= left_before;  // at its max TTL: renewing again gains nothing
                        log::info("Vault token renewed for ", lease->ttl_seconds, " s",
                                  capped ? "; it has reached its maximum lifetime, so a new login will be needed then" : "");
                        token_->summary.ttl_seconds = lease->ttl_seconds;
                        token_->summary.renewable = lease->renewable && !capped;
                        token_->checked_at = DaemonClock::now();
                    }
                    schedule_renewal();
                    changed_(false);
                });
}

void TokenKeeper::stop() { renew_timer_.cancel(); }

}  // namespace sshcert
