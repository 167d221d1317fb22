// SPDX-License-Identifier: Apache-2.0
#include "vault_decode.hpp"

#include <algorithm>

#include "vault_error.hpp"

namespace sshcert::vault {

namespace {
Error bad(const std::string& what) { return Error{Errc::VaultBadResponse, "Vault's reply " + what}; }

const Json* object_at(const Json& envelope, const char* key) {
    if (!envelope.is_object()) return nullptr;
    auto it = envelope.find(key);
    return it != envelope.end() && it->is_object() ? &*it : nullptr;
}

/// "1 error occurred:\n\t* permission denied\n\n" -> "permission denied"; other text unchanged.
std::string strip_multierror(const std::string& s) {
    if (s.find(" occurred:\n") == std::string::npos) return s;
    std::string out;
    for (std::size_t pos = 0; (pos = s.find("\t* ", pos)) != std::string::npos;) {
        pos += 3;
        auto end = s.find('\n', pos);
        if (!out.empty()) out += "; ";
        out += s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    }
    return out;
}
}  // namespace

Result<SecretString> decode_login(const Json& envelope) {
    const Json* auth = object_at(envelope, "auth");
    if (!auth) return bad("to the login has no auth block");
    if (auto mfa = auth->find("mfa_requirement"); mfa != auth->end() && mfa->is_object())
        return Error{Errc::VaultRefused, "Vault requires login MFA for this user, which this version of sshcert cannot answer yet"};
    auto token = auth->find("client_token");
    if (token == auth->end() || !token->is_string() || token->get_ref<const std::string&>().empty())
        return bad("to the login has no auth.client_token");
    std::string t = token->get<std::string>();
    return SecretString::take(t);
}

static std::int64_t believed_ttl(const Json& v) {
    if (!v.is_number_integer()) return 0;
    if (v.is_number_unsigned()) return std::min<std::uint64_t>(v.get<std::uint64_t>(), kMaxBelievedTtlSeconds);
    return std::clamp<std::int64_t>(v.get<std::int64_t>(), 0, kMaxBelievedTtlSeconds);
}

std::optional<control::TokenSummary> summary_from_login(const Json& envelope) {
    const Json* auth = object_at(envelope, "auth");
    if (!auth) return std::nullopt;
    control::TokenSummary t;
    if (auto p = auth->find("policies"); p != auth->end() && p->is_array())
        for (const auto& v : *p)
            if (v.is_string()) t.policies.push_back(v.get<std::string>());
    if (auto d = auth->find("lease_duration"); d != auth->end()) t.ttl_seconds = believed_ttl(*d);
    if (auto r = auth->find("renewable"); r != auth->end() && r->is_boolean()) t.renewable = r->get<bool>();
    if (const Json* meta = object_at(*auth, "metadata"))
        if (auto u = meta->find("username"); u != meta->end() && u->is_string()) t.display_name = u->get<std::string>();
    return t;
}

Result<control::TokenSummary> decode_lookup_self(const Json& envelope) {
    const Json* data = object_at(envelope, "data");
    if (!data) return bad("to lookup-self has no data");
    control::TokenSummary t;
    if (auto n = data->find("display_name"); n != data->end() && n->is_string()) t.display_name = n->get<std::string>();
    if (auto p = data->find("policies"); p != data->end() && p->is_array())
        for (const auto& v : *p)
            if (v.is_string()) t.policies.push_back(v.get<std::string>());
    if (auto ttl = data->find("ttl"); ttl != data->end()) t.ttl_seconds = believed_ttl(*ttl);
    if (auto r = data->find("renewable"); r != data->end() && r->is_boolean()) t.renewable = r->get<bool>();
    return t;
}

Result<Lease> decode_renew(const Json& envelope, long status) {
    if (status == 204) return Lease{0, false, true};
    const Json* auth = object_at(envelope, "auth");
    if (!auth) return bad("to renew-self has no auth block");
    auto ttl = auth->find("lease_duration");
    if (ttl == auth->end() || !ttl->is_number_integer() || (ttl->is_number_integer() && !ttl->is_number_unsigned() && ttl->get<std::int64_t>() < 0))
        return bad("to renew-self has no auth.lease_duration");
    Lease lease{believed_ttl(*ttl), false};
    if (auto r = auth->find("renewable"); r != auth->end() && r->is_boolean()) lease.renewable = r->get<bool>();
    return lease;
}

std::optional<std::int64_t> decode_server_time(const Json& health) {
    constexpr std::int64_t kLatest = 100'000'000'000;  // the year 5138
    auto t = health.is_object() ? health.find("server_time_utc") : health.end();
    if (t == health.end() || !t->is_number_integer()) return std::nullopt;
    if (t->is_number_unsigned()) {
        auto u = t->get<std::uint64_t>();
        return u < static_cast<std::uint64_t>(kLatest) ? std::optional<std::int64_t>(static_cast<std::int64_t>(u)) : std::nullopt;
    }
    auto seconds = t->get<std::int64_t>();
    return seconds >= 0 && seconds < kLatest ? std::optional<std::int64_t>(seconds) : std::nullopt;
}

Result<std::string> decode_signed_key(const Json& envelope) {
    const Json* data = object_at(envelope, "data");
    if (!data) return bad("to the sign request has no data");
    auto key = data->find("signed_key");
    if (key == data->end() || !key->is_string()) return bad("to the sign request has no data.signed_key");
    return key->get<std::string>();
}

std::string error_text(std::string_view body) {
    Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return {};
    auto errors = j.find("errors");
    if (errors == j.end() || !errors->is_array()) return {};
    std::string out;
    for (const auto& e : *errors) {
        if (!e.is_string()) continue;
        if (!out.empty()) out += "; ";
        out += strip_multierror(e.get<std::string>());
    }
    return sanitize_vault_text(out);
}

}  // namespace sshcert::vault
