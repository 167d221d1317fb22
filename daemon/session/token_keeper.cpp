// SPDX-License-Identifier: Apache-2.0
#include "token_keeper.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <ctime>

#include "log.hpp"
#include "token_life.hpp"
#include "vault_decode.hpp"
#include "vault_error.hpp"

namespace sshcert {

namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;

/// The longest wait between renewal retries once one failed (Vault Agent's backoff cap).
constexpr seconds kMaxRenewRetry{300};

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

/// What lookup-self says of the token's life, on our own clock.
void set_times(VaultToken& t, const Json& envelope) {
    auto now = DaemonClock::now();
    auto data = envelope.find("data");
    auto times = token_life::token_times(data == envelope.end() ? Json::object() : *data);
    t.issued_at = now - seconds(times.age.value_or(0));
    if (times.login_left) t.login_ends = now + seconds(*times.login_left);
}

VaultCall self_call(const char* method, const char* path, const SecretString& token) {
    VaultCall c{.method = method, .path = path, .token = token};
    if (std::string_view(method) == "POST") c.body = Json::object();
    return c;
}

/// Unguessable, though only our own uid can reach the control socket.
std::string new_login_id() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        std::random_device rd;
        for (auto& b : bytes) b = static_cast<unsigned char>(rd());
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char b : bytes) id += {kHex[b >> 4], kHex[b & 0xF]};
    return id;
}

Error expired(const std::string& kind) {
    if (kind == control::challenge_kind::kOidcBrowser)
        return Error{Errc::VaultDenied,
                     "the OIDC login expired before the browser finished; run `sshcert login --method oidc` again"};
    std::string what = kind == control::challenge_kind::kPush ? "was not approved" : "got no accepted passcode";
    return Error{Errc::VaultDenied, "the login " + what +
                                        " in time (a login waits [auth] mfa_timeout for its second factor, at most the "
                                        "5 minutes Vault waits); run sshcert login again"};
}

control::LoginChallenge challenge_summary(const std::string& id, const Challenge& c) {
    // Rounded up: a challenge just made reads "300 s", not "299 s".
    auto left = std::chrono::ceil<seconds>(c.expires_at - DaemonClock::now()).count();
    return control::LoginChallenge{.id = id,
                                   .kind = c.kind,
                                   .factor = c.factor,
                                   .factor_name = c.factor_name,
                                   .prompt = c.prompt,
                                   .expires_in_seconds = std::max<std::int64_t>(0, left),
                                   .retry_error = c.retry_error,
                                   .url = c.url,
                                   .redirect_uri = c.redirect_uri};
}
}  // namespace

void look_up_token(VaultClient& vault, LoginGrant grant, bool imported, std::function<void(Result<VaultToken>)> done) {
    auto token = grant.token;
    vault.call(self_call("GET", "auth/token/lookup-self", token),
               [&vault, grant = std::move(grant), imported, done = std::move(done)](Result<VaultReply> r) mutable {
                   auto make = [&](control::TokenSummary s, bool can_look_up) {
                       s.vault_addr = vault.address();
                       auto now = DaemonClock::now();
                       return VaultToken{std::move(grant.token), std::move(s), now, can_look_up, imported, now, {}};
                   };
                   if (r) {
                       auto summary = vault::decode_lookup_self(r->json());
                       if (!summary) return done(summary.error());
                       VaultToken t = make(std::move(*summary), true);
                       set_times(t, r->json());
                       return done(std::move(t));
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
    : io_(io), vault_(vault), changed_(std::move(changed)), renew_timer_(io), restore_timer_(io), near_end_timer_(io),
      relogin_timer_(io) {}

const VaultToken* TokenKeeper::active() const {
    if (!token_ || token_->ttl_left(DaemonClock::now()) < 0) return nullptr;
    return &*token_;
}

std::optional<control::TokenSummary> TokenKeeper::summary() const {
    const VaultToken* t = active();
    if (!t) return std::nullopt;
    control::TokenSummary s = t->summary;
    s.ttl_seconds = std::max<std::int64_t>(0, t->ttl_left(DaemonClock::now()));
    if (auto left = login_left()) {
        s.login_required_at = unix_now() + *left;
        auto life = std::chrono::duration_cast<seconds>(*t->login_ends - t->issued_at).count();
        s.login_end_near = token_life::end_is_near(*left, life);
    }
    return s;
}

std::optional<std::int64_t> TokenKeeper::login_left() const {
    const VaultToken* t = active();
    if (!t || !t->login_ends) return std::nullopt;
    // Rounded up: a login just told to end in an hour reads "1h", not "59m59s".
    return std::max<std::int64_t>(0, std::chrono::ceil<seconds>(*t->login_ends - DaemonClock::now()).count());
}

void TokenKeeper::login(LoginRequest req, LoginDone done) {
    const AuthMethod* method = find_auth_method(req.method);
    if (!method) {
        Error e{Errc::InvalidArgument, "unknown login method '" + req.method + "' (use " + auth_method_names() + ")"};
        return asio::post(io_, [done = std::move(done), e = std::move(e)] { done(e); });
    }
    Origin origin{method, req.method == "token", logouts_, {}};
    method->start(io_, vault_, req, [this, origin, done = std::move(done)](Result<Step> step) mutable {
        on_step(std::move(origin), std::move(step), std::move(done));
    });
}

void TokenKeeper::resume(const std::string& id, SecretString answer, LoginDone done) {
    auto fail = [&](Error e) { asio::post(io_, [done = std::move(done), e = std::move(e)] { done(e); }); };
    auto it = pending_.find(id);
    if (it == pending_.end())
        return fail({Errc::NotFound, "no login is waiting for an answer under that id (it was completed, it expired, or "
                                     "sshcertd restarted); run sshcert login again"});
    Pending& p = *it->second;
    if (p.answering) return fail({Errc::InvalidArgument, "this login's last answer is still being checked; wait for it"});
    if (p.expires_at <= DaemonClock::now()) {
        Error e = expired(p.kind);
        end_pending(id, e);
        return fail(e);
    }
    p.answering = std::move(done);
    std::uint64_t turn = ++p.turn;
    p.method->resume(io_, vault_, std::move(p.challenge), std::move(answer),
                     [this, id, turn](Result<Step> step) { on_resumed(id, turn, std::move(step)); });
}

void TokenKeeper::on_resumed(const std::string& id, std::uint64_t turn, Result<Step> step) {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second->turn != turn || !it->second->answering) {
        // Abandoned (expired, pushed out, logged out) while Vault was answering. Pending logins
        // come from Vault logins (password, OIDC), never the token method: a token here is ours.
        if (step)
            if (auto* grant = std::get_if<LoginGrant>(&*step)) revoke_abandoned(*grant);
        return;
    }
    Pending& p = *it->second;
    LoginDone done = std::move(p.answering);
    p.answering = nullptr;
    on_step(Origin{p.method, p.imported, p.logouts, id}, std::move(step), std::move(done));
}

void TokenKeeper::on_step(Origin origin, Result<Step> step, LoginDone done) {
    if (!step || origin.logouts != logouts_) {
        if (!origin.id.empty()) pending_.erase(origin.id);
        if (!step) return done(step.error());
        if (auto* grant = std::get_if<LoginGrant>(&*step); grant && !origin.imported) revoke_abandoned(*grant);
        return done(Error{Errc::NotLoggedIn, "logged out while this login was under way; log in again"});
    }
    if (auto* grant = std::get_if<LoginGrant>(&*step)) {
        if (!origin.id.empty()) pending_.erase(origin.id);
        return finish_login(std::move(origin), std::move(*grant), std::move(done));
    }
    hold(std::move(origin), std::get<Challenge>(std::move(*step)), std::move(done));
}

void TokenKeeper::hold(Origin origin, Challenge challenge, LoginDone done) {
    if (challenge.expires_at <= DaemonClock::now()) {
        Error e = expired(challenge.kind);
        if (!origin.id.empty()) end_pending(origin.id, e);
        return done(e);
    }
    std::string id = origin.id;
    if (id.empty()) {
        if (pending_.size() >= kMaxPendingLogins) {
            auto oldest = std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
                return a.second->expires_at < b.second->expires_at;
            });
            end_pending(oldest->first, Error{Errc::NotLoggedIn, "too many logins were waiting for a second factor; this "
                                                                "one gave way to a newer one; run sshcert login again"});
        }
        id = new_login_id();
        auto p = std::make_unique<Pending>(io_);
        p->method = origin.method;
        p->imported = origin.imported;
        p->logouts = origin.logouts;
        pending_.emplace(id, std::move(p));
    }
    Pending& p = *pending_.at(id);
    if (p.expires_at != challenge.expires_at) {  // a method may give its next question another deadline
        p.expires_at = challenge.expires_at;
        p.expiry.expires_at(p.expires_at);  // cancels the wait for the old one
        p.expiry.async_wait([this, id](boost::system::error_code ec) {
            if (ec) return;
            if (auto it = pending_.find(id); it != pending_.end()) end_pending(id, expired(it->second->kind));
        });
    }
    auto summary = challenge_summary(id, challenge);
    p.kind = challenge.kind;
    p.challenge = std::move(challenge);
    done(LoginStep{std::move(summary)});
}

void TokenKeeper::end_pending(const std::string& id, const Error& why) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto p = std::move(it->second);
    pending_.erase(it);
    log::info("a login waiting for an answer was abandoned: ", why.message);
    if (p->answering) p->answering(why);
}

void TokenKeeper::finish_login(Origin origin, LoginGrant grant, LoginDone done) {
    auto again = std::move(grant.again);
    look_up_token(vault_, std::move(grant), origin.imported,
                  [this, logouts = origin.logouts, again = std::move(again), done = std::move(done)](Result<VaultToken> token) mutable {
                      if (!token) return done(token.error());
                      if (logouts != logouts_)
                          return done(Error{Errc::NotLoggedIn, "logged out while this login was under way; log in again"});
                      auto summary = token->summary;
                      again_ = std::move(again);
                      login_needed_.clear();
                      relogin_failures_ = 0;
                      relogin_timer_.cancel();
                      adopt(std::move(*token));
                      done(LoginStep{std::move(summary)});
                  });
}

void TokenKeeper::revoke_abandoned(const LoginGrant& grant) {
    log::info("a login finished after it had been abandoned; revoking its token");
    vault_.call(self_call("POST", "auth/token/revoke-self", grant.token), [](Result<VaultReply> r) {
        if (!r) log::warn("the abandoned login's token could not be revoked: ", r.error().message);
    });
}

void TokenKeeper::adopt(VaultToken token) {
    bool same_identity = token_ && token_->summary.display_name == token.summary.display_name &&
                         token_->summary.vault_addr == token.summary.vault_addr;
    log::info("logged in to ", token.summary.vault_addr, " as ", token.summary.display_name, " (token TTL ",
              token.summary.ttl_seconds, " s", token.summary.renewable ? ", renewable" : "", ")");
    token_ = std::move(token);
    if (!token_->login_ends && !token_->summary.renewable && token_->summary.ttl_seconds > 0)
        token_->login_ends = token_->checked_at + seconds(token_->summary.ttl_seconds);
    ++generation_;
    renew_failures_ = 0;
    restore_timer_.cancel();
    keep();
    schedule_renewal();
    schedule_end_warning();
    changed_(!same_identity);
}

void TokenKeeper::schedule_end_warning() {
    near_end_timer_.cancel();
    if (!token_ || !token_->login_ends) return;
    auto life = std::chrono::duration_cast<seconds>(*token_->login_ends - token_->issued_at).count();
    near_end_timer_.expires_at(*token_->login_ends - seconds(token_life::warn_ahead(life)));
    near_end_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
        if (!ec && generation == generation_) changed_(false);
    });
}

void TokenKeeper::keep() {
    if (store_ && token_) store_->save(store_name_, token_->token, token_->imported, token_->summary.ttl_seconds);
}

void TokenKeeper::unkeep() {
    if (store_) store_->remove(store_name_);
}

void TokenKeeper::keep_in(LoginStore* store, std::string name) {
    if (store_ && (store != store_ || name != store_name_)) unkeep();
    store_ = store;
    store_name_ = std::move(name);
    keep();
}

void TokenKeeper::restore() {
    if (!store_ || token_) return;
    auto kept = store_->load(store_name_);
    if (!kept) return;
    bool imported = kept->imported;
    look_up_token(vault_, LoginGrant{std::move(kept->token), std::nullopt}, imported,
                  [this, logouts = logouts_](Result<VaultToken> token) {
                      if (logouts != logouts_ || token_) return;  // logged out or in meanwhile
                      if (token) {
                          log::info("resumed the login kept in the kernel keyring");
                          restore_failures_ = 0;
                          return adopt(std::move(*token));
                      }
                      if (token.error().code == Errc::VaultDenied) {
                          log::info("the login kept in the kernel keyring is no longer valid at Vault; removed it");
                          return unkeep();
                      }
                      // Vault unreachable or unavailable: the token may well be fine; ask again later.
                      auto wait = seconds(std::min<std::int64_t>(kMaxRenewRetry.count(), std::int64_t{2} << std::min(restore_failures_++, 8)));
                      log::warn("the login kept in the kernel keyring could not be checked (", token.error().message,
                                "); trying again in ", wait.count(), " s");
                      restore_timer_.expires_after(wait);
                      restore_timer_.async_wait([this](boost::system::error_code ec) {
                          if (!ec) restore();
                      });
                  });
}

void TokenKeeper::drop(const std::string& why) {
    if (!token_) return;
    log::warn(why);
    token_.reset();
    unkeep();
    ++generation_;
    renew_timer_.cancel();
    changed_(true);
    if (again_) schedule_relogin(milliseconds(0));
}

void TokenKeeper::schedule_relogin(milliseconds wait) {
    relogin_timer_.expires_after(wait);
    relogin_timer_.async_wait([this, logouts = logouts_](boost::system::error_code ec) {
        if (ec || logouts != logouts_ || !again_) return;
        log::info("logging in again with ", again_->method, ", as the last login did");
        login(*again_, [this, logouts](Result<LoginStep> r) {
            if (logouts != logouts_) return;
            if (r && std::holds_alternative<control::TokenSummary>(*r)) return;
            if (!r && r.error().code == Errc::NotLoggedIn) {  // what it logged in with has ended: retrying gains nothing
                log::warn("logging in again failed: ", r.error().message);
                login_needed_ = r.error().message;
                again_.reset();
                return;
            }
            // A challenge needs a person, whom an unattended login cannot ask.
            ++relogin_failures_;
            auto backoff = std::min<std::int64_t>(kMaxRenewRetry.count(), std::int64_t{1} << std::min(relogin_failures_, 9));
            log::warn("logging in again failed: ", r ? "Vault asked for a second factor" : r.error().message,
                      "; trying again in ", backoff, " s");
            schedule_relogin(seconds(backoff));
        });
    });
}

void TokenKeeper::forget(const std::string& why) {
    ++logouts_;
    again_.reset();
    drop(why);
}

void TokenKeeper::logout(std::function<void(LogoutOutcome)> done, bool revoke_imported) {
    ++logouts_;
    again_.reset();
    login_needed_.clear();
    relogin_timer_.cancel();
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, p] : pending)
        if (p->answering) p->answering(Error{Errc::NotLoggedIn, "logged out while this login waited for its second factor"});
    std::optional<VaultToken> token = std::move(token_);
    token_.reset();
    unkeep();
    restore_timer_.cancel();
    ++generation_;
    renew_timer_.cancel();
    changed_(true);
    if (!token) return asio::post(io_, [done = std::move(done)] { done({}); });
    if (token->imported && !revoke_imported) {
        log::info("logged out; the token the user brought stays valid at Vault");
        return asio::post(io_, [done = std::move(done)] { done({.had_token = true, .imported = true}); });
    }
    vault_.call(self_call("POST", "auth/token/revoke-self", token->token),
                [done = std::move(done), imported = token->imported](Result<VaultReply> r) {
                    LogoutOutcome out{.had_token = true, .revoked = r.ok(), .imported = imported};
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
    if (!renewing && again_) {
        // The login can be made again with nobody asked: made well before this token ends.
        double factor = std::uniform_real_distribution<double>(0.6, 0.7)(rng_);
        return schedule_relogin(milliseconds(static_cast<std::int64_t>(static_cast<double>(left) * 1000.0 * factor)));
    }
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
                    auto now = DaemonClock::now();
                    if (lease->none) {
                        log::info("Vault did not extend the token (its auth method offered no renewal); a new login will be needed in ",
                                  left_before, " s");
                        token_->summary.renewable = false;
                        token_->login_ends = now + seconds(std::max<std::int64_t>(0, left_before));
                    } else {
                        // At its max TTL Vault says so in a warning, and renewing again gains nothing.
                        bool capped = token_life::renewal_capped(r->json()) || lease->ttl_seconds <= left_before;
                        log::info("Vault token renewed for ", lease->ttl_seconds, " s",
                                  capped ? "; it has reached its maximum lifetime, so a new login will be needed then" : "");
                        token_->summary.ttl_seconds = lease->ttl_seconds;
                        token_->summary.renewable = lease->renewable && !capped;
                        token_->checked_at = now;
                        if (capped || !lease->renewable) token_->login_ends = now + seconds(lease->ttl_seconds);
                        if (store_) store_->set_timeout(store_name_, lease->ttl_seconds);
                    }
                    schedule_renewal();
                    schedule_end_warning();
                    changed_(false);
                });
}

void TokenKeeper::stop() {
    renew_timer_.cancel();
    relogin_timer_.cancel();
    restore_timer_.cancel();
    near_end_timer_.cancel();
}

}  // namespace sshcert
