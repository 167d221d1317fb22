// SPDX-License-Identifier: Apache-2.0
#include "control_codec.hpp"

#include "framing.hpp"

namespace sshcert::control {

namespace {
Error invalid(std::string what) { return Error{Errc::InvalidMessage, "malformed control message: " + std::move(what)}; }

}  // namespace

Json make_request(const std::string& op, Json args) {
    args["version"] = kVersion;
    args["op"] = op;
    return args;
}

Json make_reply(Json result) { return Json{{"version", kVersion}, {"ok", true}, {"result", std::move(result)}}; }

Json make_error_reply(const Error& error) {
    return Json{{"version", kVersion},
                {"ok", false},
                {"error", {{"code", std::string(to_string(error.code))}, {"message", error.message}}}};
}

wire::Bytes encode(const Json& message) {
    // Replacement keeps a reply well-formed even if a message carries invalid UTF-8 from a peer.
    std::string text = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    return encode_frame(wire::view(text));
}

Result<Json> decode(wire::ByteView body) {
    Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid("not JSON");
    if (!j.is_object()) return invalid("not a JSON object");
    auto v = j.find("version");
    if (v == j.end() || !v->is_number_integer()) return invalid("no version");
    if (v->get<std::int64_t>() != kVersion)
        return Error{Errc::InvalidMessage, "control protocol version " + v->dump() + " is not supported (this side speaks " +
                                               std::to_string(kVersion) + "); run the same version of sshcert and sshcertd"};
    return j;
}

Result<Json> reply_result(const Json& reply) {
    auto ok = reply.find("ok");
    if (ok == reply.end() || !ok->is_boolean()) return invalid("reply without 'ok'");
    if (ok->get<bool>()) {
        auto r = reply.find("result");
        return r == reply.end() ? Json::object() : *r;
    }
    auto e = reply.find("error");
    if (e == reply.end() || !e->is_object()) return invalid("error reply without 'error'");
    FieldReader f(*e);
    auto code = f.string("code");
    auto message = f.string("message");
    if (f.error()) return invalid("error reply without code or message");
    return Error{errc_from_string(code), message};
}

const Json* FieldReader::find(const char* key, bool (Json::*is_type)() const noexcept, const char* type_name) {
    if (error_) return nullptr;
    auto it = obj_.is_object() ? obj_.find(key) : obj_.end();
    if (it == obj_.end() || !((*it).*is_type)()) {
        error_ = invalid(std::string("'") + key + "' must be " + type_name);
        return nullptr;
    }
    return &*it;
}

std::string FieldReader::string(const char* key) {
    const Json* v = find(key, &Json::is_string, "a string");
    return v ? v->get<std::string>() : std::string();
}

std::optional<std::string> FieldReader::optional_string(const char* key) {
    if (!obj_.is_object() || !obj_.contains(key) || obj_.at(key).is_null()) return std::nullopt;
    return string(key);
}

std::vector<std::string> FieldReader::strings(const char* key) {
    const Json* v = find(key, &Json::is_array, "a list of strings");
    std::vector<std::string> out;
    if (!v) return out;
    for (const auto& s : *v) {
        if (!s.is_string()) {
            error_ = invalid(std::string("'") + key + "' must be a list of strings");
            return {};
        }
        out.push_back(s.get<std::string>());
    }
    return out;
}

std::int64_t FieldReader::integer(const char* key) {
    const Json* v = find(key, &Json::is_number_integer, "an integer");
    return v ? v->get<std::int64_t>() : 0;
}

bool FieldReader::boolean(const char* key) {
    const Json* v = find(key, &Json::is_boolean, "true or false");
    return v ? v->get<bool>() : false;
}

std::optional<bool> FieldReader::optional_boolean(const char* key) {
    if (!obj_.is_object() || !obj_.contains(key) || obj_.at(key).is_null()) return std::nullopt;
    return boolean(key);
}

Json to_json(const CertSummary& c) {
    return Json{{"profile", c.profile},         {"key_type", c.key_type},         {"fingerprint", c.fingerprint},
                {"key_id", c.key_id},           {"serial", c.serial},             {"principals", c.principals},
                {"valid_after", c.valid_after}, {"valid_before", c.valid_before}, {"extensions", c.extensions}};
}

Result<CertSummary> cert_summary_from_json(const Json& j) {
    FieldReader f(j);
    CertSummary c{.profile = f.string("profile"),
                  .key_type = f.string("key_type"),
                  .fingerprint = f.string("fingerprint"),
                  .key_id = f.string("key_id"),
                  .serial = f.string("serial"),
                  .principals = f.strings("principals"),
                  .valid_after = static_cast<std::uint64_t>(f.integer("valid_after")),
                  .valid_before = static_cast<std::uint64_t>(f.integer("valid_before")),
                  .extensions = f.strings("extensions")};
    if (f.error()) return *f.error();
    return c;
}

Json to_json(const TokenSummary& t) {
    return Json{{"vault_addr", t.vault_addr}, {"display_name", t.display_name}, {"policies", t.policies},
                {"ttl_seconds", t.ttl_seconds}, {"renewable", t.renewable},
                {"login_required_at", t.login_required_at}, {"login_end_near", t.login_end_near}};
}

Result<TokenSummary> token_summary_from_json(const Json& j) {
    FieldReader f(j);
    TokenSummary t{.vault_addr = f.string("vault_addr"),
                   .display_name = f.string("display_name"),
                   .policies = f.strings("policies"),
                   .ttl_seconds = f.integer("ttl_seconds"),
                   .renewable = f.boolean("renewable")};
    // Added in a later release: a reply without them is from an older daemon.
    if (j.contains("login_required_at")) t.login_required_at = f.integer("login_required_at");
    if (j.contains("login_end_near")) t.login_end_near = f.boolean("login_end_near");
    if (f.error()) return *f.error();
    return t;
}

Json to_json(const LoginChallenge& c) {
    Json j{{"id", c.id},         {"kind", c.kind},     {"factor", c.factor},
           {"factor_name", c.factor_name}, {"prompt", c.prompt}, {"expires_in_seconds", c.expires_in_seconds}};
    if (!c.retry_error.empty()) j["retry_error"] = c.retry_error;
    if (!c.url.empty()) j["url"] = c.url;
    if (!c.redirect_uri.empty()) j["redirect_uri"] = c.redirect_uri;
    return j;
}

Result<LoginChallenge> login_challenge_from_json(const Json& j) {
    FieldReader f(j);
    LoginChallenge c{.id = f.string("id"),
                     .kind = f.string("kind"),
                     .factor = f.string("factor"),
                     .factor_name = f.string("factor_name"),
                     .prompt = f.string("prompt"),
                     .expires_in_seconds = f.integer("expires_in_seconds"),
                     .retry_error = f.optional_string("retry_error").value_or(""),
                     .url = f.optional_string("url").value_or(""),
                     .redirect_uri = f.optional_string("redirect_uri").value_or("")};
    if (f.error()) return *f.error();
    return c;
}

}  // namespace sshcert::control
