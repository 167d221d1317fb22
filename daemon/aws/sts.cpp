// SPDX-License-Identifier: Apache-2.0
#include "sts.hpp"

#include <vector>

#include "ssh_wire.hpp"

namespace sshcert::aws {
namespace {

constexpr const char* kFormType = "application/x-www-form-urlencoded; charset=utf-8";

std::string b64(std::string_view s) {
    return wire::base64_encode(wire::ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

/// "https://sts.amazonaws.com/" → ("sts.amazonaws.com", "/").
std::pair<std::string, std::string> host_and_path(const std::string& url) {
    std::size_t scheme = url.find("://");
    std::size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
    std::size_t path_start = url.find('/', host_start);
    if (path_start == std::string::npos) return {url.substr(host_start), "/"};
    return {url.substr(host_start, path_start - host_start), url.substr(path_start)};
}

void add_form(std::string& body, std::string_view key, std::string_view value) {
    if (value.empty()) return;
    body += "&" + std::string(key) + "=" + uri_encode(value, false);
}

Request signed_post(const std::string& body, const Credentials& creds, const std::string& region, const std::string& url,
                    std::time_t now, std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
    auto [host, path] = host_and_path(url);
    Request req{"POST", path, "", {{"Host", host}, {"Content-Type", kFormType}}, body};
    for (auto& h : extra_headers) req.headers.push_back(std::move(h));
    sign_with_header(req, creds, {signing_region(region), "sts", now});
    return req;
}

std::string decode_entities(std::string_view s) {
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool replaced = false;
        for (auto [name, c] : kEntities) {
            if (s.substr(i, name.size()) == name) {
                out += c;
                i += name.size() - 1;
                replaced = true;
                break;
            }
        }
        if (!replaced) out += s[i];
    }
    return out;
}

}  // namespace

std::time_t parse_iso8601(const std::string& s) {
    std::tm tm{};
    if (s.size() < 20 || !strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    if (s.back() != 'Z') return 0;
    return timegm(&tm);
}

std::string signing_region(const std::string& region) { return region.empty() ? "us-east-1" : region; }

std::string sts_url(const std::string& region, const std::string& override_url) {
    if (!override_url.empty()) return override_url.ends_with('/') ? override_url : override_url + "/";
    if (region.empty() || region == "us-east-1") return "https://sts.amazonaws.com/";
    return "https://sts." + region + ".amazonaws.com/";
}

nlohmann::json vault_login_data(const Credentials& creds, const std::string& region, const std::string& url,
                                const std::string& server_id, const std::string& role, std::time_t now) {
    std::vector<std::pair<std::string, std::string>> extra;
    if (!server_id.empty()) extra.emplace_back("X-Vault-AWS-IAM-Server-ID", server_id);
    Request req = signed_post("Action=GetCallerIdentity&Version=2011-06-15", creds, region, url, now, std::move(extra));

    // Vault rebuilds the request from these and sends it to STS; Host comes from the URL, as in Go.
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : req.headers)
        if (name != "Host") headers[name].push_back(value);
    nlohmann::json data{{"iam_http_request_method", "POST"},
                        {"iam_request_url", b64(url)},
                        {"iam_request_body", b64(req.body)},
                        {"iam_request_headers", b64(headers.dump())}};
    if (!role.empty()) data["role"] = role;
    return data;
}

Request assume_role_request(const AssumeRoleParams& p, const Credentials& creds, const std::string& region,
                            const std::string& url, std::time_t now) {
    std::string body = "Action=AssumeRole&Version=2011-06-15";
    add_form(body, "RoleArn", p.role_arn);
    add_form(body, "RoleSessionName", p.role_session_name);
    add_form(body, "ExternalId", p.external_id);
    if (p.duration_seconds) add_form(body, "DurationSeconds", std::to_string(*p.duration_seconds));
    add_form(body, "SerialNumber", p.mfa_serial);
    add_form(body, "TokenCode", p.mfa_code);
    return signed_post(body, creds, region, url, now);
}

Request get_session_token_request(const std::string& mfa_serial, const std::string& mfa_code,
                                  std::optional<int> duration_seconds, const Credentials& creds,
                                  const std::string& region, const std::string& url, std::time_t now) {
    std::string body = "Action=GetSessionToken&Version=2011-06-15";
    if (duration_seconds) add_form(body, "DurationSeconds", std::to_string(*duration_seconds));
    add_form(body, "SerialNumber", mfa_serial);
    add_form(body, "TokenCode", mfa_code);
    return signed_post(body, creds, region, url, now);
}

std::optional<std::string> xml_text(const std::string& xml, const std::string& tag) {
    std::string open = "<" + tag + ">", close = "</" + tag + ">";
    std::size_t start = xml.find(open);
    if (start == std::string::npos) return std::nullopt;
    start += open.size();
    std::size_t end = xml.find(close, start);
    if (end == std::string::npos) return std::nullopt;
    return decode_entities(std::string_view(xml).substr(start, end - start));
}

Result<TemporaryCredentials> parse_credentials_response(int http_status, const std::string& body) {
    if (http_status != 200 || body.find("<ErrorResponse") != std::string::npos) {
        std::string code = xml_text(body, "Code").value_or("");
        std::string message = xml_text(body, "Message").value_or("");
        std::string said = code.empty() ? "HTTP " + std::to_string(http_status) : code + ": " + message;
        if (message.find("MultiFactorAuthentication failed") != std::string::npos)
            return Error{Errc::VaultRefused, "AWS did not accept the MFA code; wait for the next code and try again", said};
        if (http_status >= 500 || http_status == 0)
            return Error{Errc::VaultUnavailable, "AWS STS is not answering (" + said + "); try again shortly", said};
        return Error{Errc::VaultRefused, "AWS STS refused: " + said, said};
    }
    TemporaryCredentials t;
    auto id = xml_text(body, "AccessKeyId");
    auto secret = xml_text(body, "SecretAccessKey");
    auto token = xml_text(body, "SessionToken");
    auto expiration = xml_text(body, "Expiration");
    if (!id || !secret || !token || !expiration || (t.expiration = parse_iso8601(*expiration)) == 0)
        return Error{Errc::VaultBadResponse, "AWS STS answered without the credentials it should have sent"};
    t.keys.access_key_id = *id;
    t.keys.secret_access_key = SecretString::take(*secret);
    t.keys.session_token = SecretString::take(*token);
    t.assumed_role_arn = xml_text(body, "Arn").value_or("");
    return t;
}

}  // namespace sshcert::aws
