// SPDX-License-Identifier: Apache-2.0
#include "vault_client.hpp"

#include <ctime>

#include "daemon_clock.hpp"

#include "log.hpp"
#include "vault_decode.hpp"
#include "vault_error.hpp"
#include "vault_path.hpp"

namespace sshcert {

using Clock = DaemonClock;  // steppable in unit tests

struct VaultClient::Attempt {
    explicit Attempt(asio::io_context& io) : timer(io) {}
    ~Attempt() { wipe(url); }
    std::string method;
    std::string path;           ///< without the query: what messages and logs show
    SecretString query;         ///< "?name=value&..." or empty
    SecretString token;
    bool text = false;
    SecretString body;          ///< serialized once, re-sent on every try and redirect
    std::vector<SecretString> sent_values;  ///< the body's secrets, cut from any error text that echoes them
    Done done;
    Clock::time_point started = Clock::now();
    std::optional<Clock::time_point> deadline;  ///< the whole call ends by then (VaultCall::deadline)
    std::string url;            ///< where the next request goes, query included (wiped)
    std::size_t first = 0;      ///< index of the address this round started at
    std::size_t tried = 0;      ///< addresses tried this round, less one
    bool on_redirect = false;   ///< `url` is a redirect's target, not a configured address
    bool redirected = false;    ///< the one redirect of this call has been followed
    int retries = 0;
    bool walk_again = false;    ///< the retry starts a new round of addresses (none could be reached)
    std::optional<Error> first_unreachable;  ///< the first address's failure this round
    DaemonTimer timer;          ///< the wait before a retry
};

namespace {

// sys/health (asked with sealedcode=200 and friends) and sys/seal-status answer 200 from a
// sealed or standby node: their answer does not say Vault serves again.
bool answers_in_any_state(std::string_view path) {
    return path.starts_with("sys/health") || path.starts_with("sys/seal-status");
}

/// Upper bound of a JSON value's serialized size, so its text is built in one buffer that never
/// reallocates: a reallocation would leave a copy of the password behind in freed memory.
std::size_t json_size_bound(const Json& j) {
    switch (j.type()) {
        case Json::value_t::string: return 2 + 6 * j.get_ref<const std::string&>().size();
        case Json::value_t::object: {
            std::size_t n = 2;
            for (const auto& [k, v] : j.items()) n += 2 + 6 * k.size() + 2 + json_size_bound(v);
            return n;
        }
        case Json::value_t::array: {
            std::size_t n = 2;
            for (const auto& v : j) n += 1 + json_size_bound(v);
            return n;
        }
        default: return 32;  // numbers, booleans, null
    }
}

void append_json_string(std::string_view s, std::string& out) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        } else {
            out += ch;  // UTF-8 passes through; Vault's decoder replaces what is invalid
        }
    }
    out += '"';
}

void append_json(const Json& j, std::string& out) {
    switch (j.type()) {
        case Json::value_t::string: return append_json_string(j.get_ref<const std::string&>(), out);
        case Json::value_t::object: {
            out += '{';
            bool first = true;
            for (const auto& [k, v] : j.items()) {
                if (!first) out += ',';
                first = false;
                append_json_string(k, out);
                out += ':';
                append_json(v, out);
            }
            out += '}';
            return;
        }
        case Json::value_t::array: {
            out += '[';
            for (std::size_t i = 0; i < j.size(); ++i) {
                if (i) out += ',';
                append_json(j[i], out);
            }
            out += ']';
            return;
        }
        default: out += j.dump(); return;  // numbers and literals: no secrets, no exceptions
    }
}

SecretString serialize(const Json& j) {
    std::string text;
    text.reserve(json_size_bound(j));
    append_json(j, text);
    return SecretString::take(text);
}

bool is_http_url(const std::string& a) {
    return (a.starts_with("http://") || a.starts_with("https://")) && EndpointSet::origin(a).size() > a.find("://") + 3;
}

bool is_sealed(const HttpReply& reply) {
    return reply.status == 503 && vault::error_text(reply.body.reveal()).find("Vault is sealed") != std::string::npos;
}

std::vector<std::string> addresses_of(const config::VaultSettings& s) {
    std::vector<std::string> all{s.address};
    all.insert(all.end(), s.fallback_addresses.begin(), s.fallback_addresses.end());
    return all;
}

/// Every non-empty string in `j`.
void collect_strings(const Json& j, std::vector<SecretString>& out) {
    if (j.is_string() && !j.get_ref<const std::string&>().empty()) out.emplace_back(j.get_ref<const std::string&>());
    if (j.is_structured())
        for (const auto& v : j) collect_strings(v, out);
}

/// The values of a request body's secret fields (what login methods send), for redaction.
/// sys/mfa/validate's payload is all passcodes, and its request ID completes a login.
void collect_secrets(const Json& j, std::vector<SecretString>& out) {
    static constexpr std::string_view kSecretFields[] = {"password", "secret_id", "token", "passcode", "jwt", "code",
                                                         "mfa_request_id", "mfa_payload"};
    if (!j.is_object()) return;
    for (const auto& [key, value] : j.items()) {
        bool secret = std::find(std::begin(kSecretFields), std::end(kSecretFields), key) != std::end(kSecretFields);
        if (secret) collect_strings(value, out);
        else if (value.is_structured()) collect_secrets(value, out);
    }
}

/// "?a=1&b=2", every name and value percent-escaped, in one buffer that never reallocates.
SecretString query_string(const std::vector<std::pair<std::string, SecretString>>& query) {
    std::size_t size = 0;
    for (const auto& [name, value] : query) size += 2 + 3 * (name.size() + value.reveal().size());
    std::string out;
    out.reserve(size);
    for (const auto& [name, value] : query) {
        out += out.empty() ? '?' : '&';
        append_escaped(name, out);
        out += '=';
        append_escaped(value.reveal(), out);
    }
    return SecretString::take(out);
}

/// <base>/v1/<path><query>, built in one buffer so no copy of the query is left behind.
void set_request_url(std::string& url, const std::string& base, const std::string& path, const SecretString& query) {
    wipe(url);
    url.reserve(base.size() + 4 + path.size() + query.reveal().size());
    url.append(base).append("/v1/").append(path).append(query.reveal());
}

void redact(std::string& text, std::string_view secret) {
    for (auto pos = text.find(secret); !secret.empty() && pos != std::string::npos; pos = text.find(secret, pos + 10))
        text.replace(pos, secret.size(), "<redacted>");
}

}  // namespace

void wipe_strings(Json& j) noexcept {
    if (j.is_string()) {
        wipe(j.get_ref<std::string&>());
    } else if (j.is_structured()) {
        for (auto& v : j) wipe_strings(v);
    }
}

VaultReply::VaultReply(long status, Json envelope, std::string text, std::optional<std::int64_t> server_time)
    : status_(status), json_(std::move(envelope)), text_(std::move(text)), server_time_(server_time) {}

VaultReply& VaultReply::operator=(VaultReply&& o) noexcept {
    if (this != &o) {
        wipe_strings(json_);
        wipe(text_);
        status_ = o.status_;
        json_ = std::move(o.json_);
        text_ = std::move(o.text_);
        server_time_ = o.server_time_;
    }
    return *this;
}

VaultReply::~VaultReply() {
    wipe_strings(json_);
    wipe(text_);
}

std::vector<std::string> VaultReply::warnings() const {
    std::vector<std::string> out;
    auto w = json_.is_object() ? json_.find("warnings") : json_.end();
    if (w == json_.end() || !w->is_array()) return out;
    for (const auto& v : *w)
        if (v.is_string()) out.push_back(sanitize_vault_text(v.get_ref<const std::string&>()));
    return out;
}

VaultClient::VaultClient(asio::io_context& io, config::VaultSettings settings, std::shared_ptr<Transport> transport,
                         RetryPolicy policy)
    : io_(io),
      settings_(std::move(settings)),
      transport_(std::move(transport)),
      policy_(policy),
      endpoints_(addresses_of(settings_)) {
    for (std::size_t i = 0; i < endpoints_.size() && !bad_address_; ++i) {
        if (is_http_url(endpoints_.at(i))) continue;
        std::string where = i == 0 ? "set VAULT_ADDR or [vault] address" : "check [vault] fallback_addresses";
        bad_address_ = Error{Errc::InvalidArgument, "Vault address '" + sanitize_vault_text(endpoints_.at(i)) +
                                                        "' must start with https:// (or http://); " + where};
    }
}

VaultClient::~VaultClient() { shutdown(); }

const std::string& VaultClient::address() const noexcept { return endpoints_.current(); }

void VaultClient::call(VaultCall c, Done done) {
    auto a = std::make_shared<Attempt>(io_);
    if (c.body) {
        a->body = serialize(*c.body);
        collect_secrets(*c.body, a->sent_values);
        wipe_strings(*c.body);
    }
    a->method = std::move(c.method);
    a->path = std::move(c.path);
    while (!a->path.empty() && a->path.front() == '/') a->path.erase(0, 1);
    a->query = query_string(c.query);
    for (auto& [name, value] : c.query)
        if (!value.empty()) a->sent_values.push_back(std::move(value));
    a->token = std::move(c.token);
    a->text = c.text;
    if (c.deadline.count() > 0) a->deadline = a->started + c.deadline;
    a->done = std::move(done);
    attempts_.insert(a);
    if (bad_address_) {
        asio::post(io_, [this, alive = alive_, a] {
            if (*alive) finish(a, *bad_address_);
        });
        return;
    }
    begin_round(a);
}

void VaultClient::begin_round(const std::shared_ptr<Attempt>& a) {
    a->first = endpoints_.index_after(0);
    a->tried = 0;
    a->on_redirect = false;
    a->first_unreachable.reset();
    set_request_url(a->url, endpoints_.at(a->first), a->path, a->query);
    start(a);
}

void VaultClient::start(std::shared_ptr<Attempt> a) {
    HttpRequest req;
    req.method = a->method;
    req.url = a->url;
    req.body = a->body;
    req.token = a->token;
    req.namespace_name = settings_.namespace_name;
    req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.timeout);
    if (a->deadline)
        req.timeout = std::max(std::chrono::milliseconds(1),
                               std::chrono::duration_cast<std::chrono::milliseconds>(*a->deadline - Clock::now()));
    transport_->send(std::move(req), [this, alive = alive_, a](Result<HttpReply> reply) {
        if (*alive) on_reply(a, std::move(reply));
    });
}

void VaultClient::on_reply(std::shared_ptr<Attempt> a, Result<HttpReply> r) {
    if (!r) {
        Error e = std::move(r).error();
        if (e.code == Errc::VaultUnreachable) return on_unreachable(a, std::move(e));
        return finish(a, std::move(e));
    }
    HttpReply& reply = *r;
    if (!a->on_redirect) endpoints_.answered((a->first + a->tried) % endpoints_.size());
    const long s = reply.status;
    if (s >= 200 && s <= 299) return on_success(a, std::move(reply));
    if (s == 307 || s == 308) return follow_redirect(a, reply);
    Error e = classify_vault_reply(reply, EndpointSet::origin(a->url));
    if (!RetryPolicy::retryable_status(s) || is_sealed(reply)) return finish(a, std::move(e));
    // Like the Go client, Retry-After counts only where HTTP gives it a meaning.
    bool honour = s == 429 || s == 503;
    a->walk_again = false;  // ask the node that answered again: it may be the redirect's target
    retry_or_fail(a, std::move(e), honour ? reply.retry_after : "", honour ? reply.date : "");
}

void VaultClient::on_unreachable(const std::shared_ptr<Attempt>& a, Error e) {
    if (!a->first_unreachable) a->first_unreachable = e;
    if (++a->tried < endpoints_.size()) {
        auto next = (a->first + a->tried) % endpoints_.size();
        log::info(e.message, "; trying ", endpoints_.at(next));
        a->on_redirect = false;
        set_request_url(a->url, endpoints_.at(next), a->path, a->query);
        return start(a);
    }
    Error reported = *a->first_unreachable;
    if (endpoints_.size() > 1)
        reported.message += " (nor could any of the other " + std::to_string(endpoints_.size() - 1) +
                            " configured addresses be reached)";
    a->walk_again = true;
    retry_or_fail(a, std::move(reported), "", "");
}

void VaultClient::on_success(const std::shared_ptr<Attempt>& a, HttpReply reply) {
    auto when = parse_http_date(reply.date);
    if (a->text) return finish(a, VaultReply(reply.status, Json::object(), std::string(reply.body.reveal()), when));
    if (reply.status == 204 || reply.body.empty()) return finish(a, VaultReply(reply.status, Json::object(), {}, when));
    Json j = Json::parse(reply.body.reveal(), nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
        wipe_strings(j);
        return finish(a, Error{Errc::VaultBadResponse, "Vault at " + EndpointSet::origin(a->url) + " answered " +
                                                           a->method + " " + a->path +
                                                           " with something that is not a JSON object; is VAULT_ADDR "
                                                           "pointing at Vault?"});
    }
    finish(a, VaultReply(reply.status, std::move(j), {}, when));
}

void VaultClient::follow_redirect(const std::shared_ptr<Attempt>& a, const HttpReply& reply) {
    const std::string from = EndpointSet::origin(a->url);
    if (a->redirected)
        return finish(a, Error{Errc::VaultBadResponse, "Vault at " + from + " redirected the request again (HTTP " +
                                                           std::to_string(reply.status) +
                                                           ") after one redirect was followed; is VAULT_ADDR "
                                                           "pointing at Vault?"});
    auto target = EndpointSet::redirect_target(a->url, reply.location);
    if (!target) return finish(a, std::move(target).error());
    log::debug("Vault at ", from, " is a standby; following its redirect to ", EndpointSet::origin(*target));
    a->redirected = true;
    a->on_redirect = true;
    wipe(a->url);
    a->url = std::move(*target);
    start(a);
}

void VaultClient::retry_or_fail(const std::shared_ptr<Attempt>& a, Error e, std::string_view retry_after,
                                std::string_view date) {
    if (a->retries >= policy_.max_retries) return finish(a, std::move(e));
    auto wait = policy_.delay(a->retries, retry_after, rng_, date);
    if (Clock::now() - a->started + wait > policy_.total_budget) return finish(a, std::move(e));
    if (a->deadline && Clock::now() + wait >= *a->deadline) return finish(a, std::move(e));
    ++a->retries;
    log::info(e.message, "; retrying ", a->method, " ", a->path, " in ", wait.count(), " ms");
    a->timer.expires_after(wait);
    a->timer.async_wait([this, alive = alive_, a](boost::system::error_code ec) {
        if (ec || !*alive) return;
        if (a->walk_again) return begin_round(a);
        start(a);
    });
}

void VaultClient::finish(const std::shared_ptr<Attempt>& a, Result<VaultReply> result) {
    if (!result) {
        // A Vault (or a proxy) that echoes the request in its error must not carry the password on.
        Error e = std::move(result).error();
        for (const auto& v : a->sent_values) {
            redact(e.message, v.reveal());
            redact(e.detail, v.reveal());
        }
        result = std::move(e);
    }
    auto code = result ? std::nullopt : std::optional<Errc>(result.error().code);
    if (code == Errc::VaultUnreachable || code == Errc::VaultUnavailable || code == Errc::VaultBadResponse) {
        if (!outage_) outage_ = Outage{static_cast<std::int64_t>(std::time(nullptr)), {}};
        outage_->last = result.error();
    } else if (code != Errc::InvalidArgument && !answers_in_any_state(a->path)) {
        outage_.reset();  // Vault answered (a bad address was never tried)
    }
    auto keep = a;  // `a` may be a reference to the set's own element
    attempts_.erase(keep);
    Done done = std::move(keep->done);
    if (done) done(std::move(result));  // may destroy this client: touch nothing after
}

void VaultClient::shutdown() {
    *alive_ = false;
    alive_ = std::make_shared<bool>(true);
    transport_->cancel_all();
    auto abandoned = std::move(attempts_);
    attempts_.clear();
    for (const auto& a : abandoned) a->timer.cancel();
}

}  // namespace sshcert
