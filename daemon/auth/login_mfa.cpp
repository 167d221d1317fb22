// SPDX-License-Identifier: Apache-2.0
#include "login_mfa.hpp"

#include <algorithm>
#include <cctype>

#include "log.hpp"
#include "vault_decode.hpp"

namespace sshcert {

namespace {

using control::challenge_kind::kPasscode;
using control::challenge_kind::kPush;

struct Factor {
    std::string method_id;
    std::string type;
    std::string name;
    bool uses_passcode = false;
};

/// Vault's request ID is a bearer of the half-done login: kept wiped, never logged.
struct MfaState final : ChallengeState {
    SecretString request_id;
    std::string who;
    std::vector<Factor> factors;        ///< one per enforcement
    std::vector<SecretString> answers;  ///< for the first answers.size() factors
};

std::string string_at(const Json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string brand(const std::string& type) {
    if (type == "totp") return "TOTP";
    if (type == "duo") return "Duo";
    if (type == "okta") return "Okta Verify";
    if (type == "pingid") return "PingID";
    return type;
}

std::string prompt_for(const Factor& f) {
    std::string named = f.name.empty() ? "" : " (" + f.name + ")";
    if (f.uses_passcode)
        return "Vault MFA: " + brand(f.type) + " passcode" + (f.type == "totp" ? " from your authenticator app" : "") +
               named + ": ";
    return "Vault MFA: approve the " + brand(f.type) + " request" + named + " on your phone";
}

Challenge ask(const std::shared_ptr<MfaState>& s, DaemonClock::time_point expires_at, std::string retry_error) {
    const Factor& f = s->factors.at(s->answers.size());
    return Challenge{.kind = f.uses_passcode ? kPasscode : kPush,
                     .factor = f.type,
                     .factor_name = f.name,
                     .prompt = prompt_for(f),
                     .expires_at = expires_at,
                     .retry_error = std::move(retry_error),
                     .state = s};
}

Error bad(const std::string& what) { return Error{Errc::VaultBadResponse, "Vault's MFA requirement " + what}; }

/// auth.mfa_requirement: {mfa_request_id, mfa_constraints: {<enforcement>: {any: [{type, id, uses_passcode, name}]}}}.
/// uses_passcode and name are omitted when false or empty (Go's omitempty).
Result<std::shared_ptr<MfaState>> read_requirement(const Json& req, const std::string& who) {
    auto s = std::make_shared<MfaState>();
    s->who = who;
    std::string id = string_at(req, "mfa_request_id");
    if (id.empty()) return bad("has no mfa_request_id");
    s->request_id = SecretString::take(id);
    auto constraints = req.find("mfa_constraints");
    if (constraints == req.end() || !constraints->is_object() || constraints->empty())
        return bad("names no enforcement (mfa_constraints)");
    for (const auto& [enforcement, c] : constraints->items()) {
        auto any = c.is_object() ? c.find("any") : c.end();
        if (any == c.end() || !any->is_array() || any->empty()) return bad("gives enforcement '" + enforcement + "' no method");
        std::optional<Factor> chosen;
        for (const auto& m : *any) {
            if (!m.is_object()) continue;
            Factor f{string_at(m, "id"), string_at(m, "type"), string_at(m, "name"), false};
            if (auto p = m.find("uses_passcode"); p != m.end() && p->is_boolean()) f.uses_passcode = p->get<bool>();
            if (f.method_id.empty()) continue;
            // A passcode is typed at once; a push waits on a phone: prefer the passcode.
            if (!chosen || (f.uses_passcode && !chosen->uses_passcode)) chosen = f;
        }
        if (!chosen) return bad("gives enforcement '" + enforcement + "' no usable method");
        s->factors.push_back(*chosen);
    }
    return s;
}

std::string without_spaces(std::string_view code) {
    std::string out;
    for (char c : code)
        if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    return out;
}

void post(asio::io_context& io, AuthMethod::StepDone done, Result<Step> r) {
    asio::post(io, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void validate(VaultClient& vault, std::shared_ptr<MfaState> s, DaemonClock::time_point expires_at,
              AuthMethod::StepDone done) {
    Json payload = Json::object();
    bool push = false;
    for (std::size_t i = 0; i < s->factors.size(); ++i) {
        payload[s->factors[i].method_id] = Json::array({std::string(s->answers[i].reveal())});  // "" for a push
        push = push || !s->factors[i].uses_passcode;
    }
    VaultCall call{.method = "POST",
                   .path = "sys/mfa/validate",
                   .body = Json{{"mfa_request_id", std::string(s->request_id.reveal())}, {"mfa_payload", std::move(payload)}}};
    // Vault answers a push only once the person has: the call lasts to the deadline, not the usual timeout.
    if (push)
        call.deadline = std::max(std::chrono::milliseconds(1),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(expires_at - DaemonClock::now()));
    vault.call(std::move(call), [s, expires_at, push, done = std::move(done)](Result<VaultReply> r) {
        auto left = std::chrono::duration_cast<std::chrono::seconds>(expires_at - DaemonClock::now());
        if (r) return done(login_step(r->json(), s->who, std::max(left, std::chrono::seconds(1))));
        Error e = std::move(r).error();
        std::string said = e.detail.empty() ? e.message : e.detail;
        if (said.find("invalid request ID") != std::string::npos)
            return done(Error{Errc::VaultRefused,
                              "Vault no longer waits for the second factor of the login of " + s->who +
                                  " (it waits five minutes at most); run sshcert login again",
                              e.detail});
        if (e.code == Errc::VaultDenied && !push && left.count() > 0) {
            s->answers.clear();  // Vault keeps the login: every factor is asked again
            return done(Step{ask(s, expires_at, "Vault did not accept the passcode: " + said)});
        }
        if (e.code == Errc::VaultDenied)
            return done(Error{Errc::VaultDenied, "Vault refused the second factor of the login of " + s->who + ": " + said +
                                                     "; run sshcert login again",
                              e.detail});
        if (push && left.count() <= 0)
            return done(Error{Errc::VaultDenied, "the login of " + s->who + " was not approved in time; run sshcert login again"});
        done(e);
    });
}

}  // namespace

Result<Step> login_step(const Json& envelope, const std::string& who, std::chrono::seconds lifetime) {
    auto auth = envelope.is_object() ? envelope.find("auth") : envelope.end();
    auto mfa = auth != envelope.end() && auth->is_object() ? auth->find("mfa_requirement") : envelope.end();
    if (auth == envelope.end() || !auth->is_object() || mfa == auth->end() || !mfa->is_object()) {
        auto token = vault::decode_login(envelope);
        if (!token) return token.error();
        return Step{LoginGrant{std::move(*token), vault::summary_from_login(envelope)}};
    }
    auto s = read_requirement(*mfa, who);
    if (!s) return s.error();
    std::string factors;
    for (const auto& f : (*s)->factors) factors += (factors.empty() ? "" : ", ") + f.type + (f.name.empty() ? "" : " " + f.name);
    log::info("Vault asks the login of ", who, " for a second factor (", factors, "); waiting up to ", lifetime.count(), " s");
    return Step{ask(*s, DaemonClock::now() + std::min(lifetime, kMaxChallengeLifetime), "")};
}

void resume_login_mfa(asio::io_context& io, VaultClient& vault, Challenge challenge, SecretString answer,
                      AuthMethod::StepDone done) {
    auto s = std::dynamic_pointer_cast<MfaState>(challenge.state);
    if (!s || s->answers.size() >= s->factors.size())
        return post(io, std::move(done), Error{Errc::Internal, "this login is not waiting for a second factor"});
    if (s->factors[s->answers.size()].uses_passcode) {
        std::string code = without_spaces(answer.reveal());  // apps show "123 456"
        answer = SecretString::take(code);
        if (answer.empty()) return post(io, std::move(done), Step{ask(s, challenge.expires_at, "no passcode was given")});
    } else {
        answer = SecretString();  // a push is answered on the phone; Vault takes "" for it
    }
    s->answers.push_back(std::move(answer));
    if (s->answers.size() < s->factors.size()) return post(io, std::move(done), Step{ask(s, challenge.expires_at, "")});
    validate(vault, std::move(s), challenge.expires_at, std::move(done));
}

void AuthMethod::resume(asio::io_context& io, VaultClient& vault, Challenge challenge, SecretString answer,
                        StepDone done) const {
    resume_login_mfa(io, vault, std::move(challenge), std::move(answer), std::move(done));
}

}  // namespace sshcert
