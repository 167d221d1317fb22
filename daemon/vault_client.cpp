// SPDX-License-Identifier: Apache-2.0
#include "vault_client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>

#include "limits.hpp"
#include "log.hpp"
#include "vault_decode.hpp"

namespace sshcert {

namespace {

constexpr int kMaxRetries = 2;  // three tries in all, the Go client's library default

struct Sink {
    std::string* out;
    bool overflow = false;
};

size_t write_body(char* data, size_t size, size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    if (sink->out->size() + size * n > limits::kMaxVaultResponseBytes) {
        sink->overflow = true;
        return 0;  // makes curl fail the transfer
    }
    sink->out->append(data, size * n);
    return size * n;
}

size_t read_header(char* data, size_t size, size_t n, void* user) {
    auto* reply = static_cast<HttpReply*>(user);
    std::string_view line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
        if (name == "content-type") reply->content_type = value;
        if (name == "retry-after") reply->retry_after = value;
    }
    return size * n;
}

bool retryable(long status) { return status == 412 || status == 429 || (status >= 500 && status != 501); }

std::chrono::milliseconds backoff(int attempt, const std::string& retry_after) {
    if (!retry_after.empty() && std::all_of(retry_after.begin(), retry_after.end(), ::isdigit))
        return std::chrono::milliseconds(std::min(5000L, std::stol(retry_after) * 1000L));
    // Linear backoff with jitter: attempt n waits (n+1) x [250, 375) ms. Shorter than the Go
    // client's 1-1.5 s steps because a person is waiting at a prompt.
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<int> jitter(250, 374);
    return std::chrono::milliseconds((attempt + 1) * jitter(rng));
}

}  // namespace

CurlGlobal::CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
}
CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

VaultClient::VaultClient(config::VaultSettings settings) : settings_(std::move(settings)), share_(curl_share_init()) {
    while (!settings_.address.empty() && settings_.address.back() == '/') settings_.address.pop_back();
    if (!share_) return;
    curl_share_setopt(share_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_.get(), CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_.get(), CURLSHOPT_LOCKFUNC,
                      +[](CURL*, curl_lock_data data, curl_lock_access, void* user) {
                          static_cast<VaultClient*>(user)->share_locks_[data % 8].lock();
                      });
    curl_share_setopt(share_.get(), CURLSHOPT_UNLOCKFUNC, +[](CURL*, curl_lock_data data, void* user) {
        static_cast<VaultClient*>(user)->share_locks_[data % 8].unlock();
    });
}

Result<HttpReply> VaultClient::perform_once(std::string_view method, const std::string& url, const std::string* body,
                                            const SecretString* token) const {
    CurlEasy h(curl_easy_init());
    if (!h) return Error{Errc::Internal, "curl_easy_init failed"};
    CURL* c = h.get();
    HttpReply reply;
    Sink sink{&reply.body};
    char errbuf[CURL_ERROR_SIZE] = {0};

    curl_slist* raw = nullptr;
    std::string token_header;
    raw = curl_slist_append(raw, "X-Vault-Request: true");
    raw = curl_slist_append(raw, "Content-Type: application/json");
    if (!settings_.namespace_name.empty())
        raw = curl_slist_append(raw, ("X-Vault-Namespace: " + settings_.namespace_name).c_str());
    if (token && !token->empty()) {
        token_header = "X-Vault-Token: ";
        token_header += token->reveal();
        raw = curl_slist_append(raw, token_header.c_str());
        wipe(token_header);  // the slist keeps its own copy
    }
    CurlHeaders headers(raw);

    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_SHARE, share_.get());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    // Every descriptor of the daemon is close-on-exec, Vault connections included.
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, +[](void*, curlsocktype, curl_sockaddr* a) -> curl_socket_t {
        return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    });
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count() * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    // One redirect, body re-sent (an HA standby's 307 to the active node), never https -> http.
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 1L);
    curl_easy_setopt(c, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, url.starts_with("https:") ? "https" : "http,https");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!settings_.ca_cert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, settings_.ca_cert.c_str());
    if (!settings_.ca_path.empty()) curl_easy_setopt(c, CURLOPT_CAPATH, settings_.ca_path.c_str());
    if (settings_.skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    CURLcode rc = curl_easy_perform(c);
    if (sink.overflow)
        return Error{Errc::VaultBadResponse, "Vault at " + settings_.address + " sent a reply larger than " +
                                                 std::to_string(limits::kMaxVaultResponseBytes) + " bytes"};
    if (rc != CURLE_OK) {
        std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        std::string hint = (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
                               ? "; set VAULT_CACERT or [vault] ca_cert to the CA that signed Vault's certificate"
                               : "; check VAULT_ADDR or [vault] address, and that Vault is running";
        return Error{Errc::VaultUnreachable, "cannot reach Vault at " + settings_.address + ": " + detail + hint};
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
}

Result<HttpReply> VaultClient::perform(std::string_view method, std::string_view path, const std::string* body,
                                       const SecretString* token) const {
    if (!settings_.address.starts_with("http://") && !settings_.address.starts_with("https://"))
        return Error{Errc::InvalidArgument, "Vault address '" + settings_.address +
                                                "' must start with https:// (or http://); set VAULT_ADDR or [vault] address"};
    std::string url = settings_.address + "/v1/" + std::string(path);
    for (int attempt = 0;; ++attempt) {
        auto reply = perform_once(method, url, body, token);
        if (!reply) return reply;
        if (!retryable(reply->status) || attempt == kMaxRetries) return reply;
        // A sealed Vault stays sealed until an operator acts: retrying only delays the message.
        if (vault::error_text(reply->body).find("Vault is sealed") != std::string::npos) return reply;
        auto wait = backoff(attempt, reply->retry_after);
        log::info("Vault answered ", reply->status, " for ", method, " ", path, "; retrying in ", wait.count(), " ms");
        std::this_thread::sleep_for(wait);
    }
}

Result<Json> VaultClient::call(std::string_view method, std::string_view path, const Json* body,
                               const SecretString* token) const {
    std::string text;
    if (body) text = body->dump();
    auto reply = perform(method, path, body ? &text : nullptr, token);
    wipe(text);  // request bodies carry passwords
    if (!reply) return reply.error();
    if (reply->status < 200 || reply->status > 299) return error_from_reply(*reply, settings_.address);
    if (reply->status == 204 || reply->body.empty()) return Json::object();
    Json j = Json::parse(reply->body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return Error{Errc::VaultBadResponse, "Vault at " + settings_.address + " answered " + std::string(path) +
                                                 " with something that is not a JSON object; is VAULT_ADDR pointing at Vault?"};
    return j;
}

Result<std::string> VaultClient::get_text(std::string_view path) const {
    auto reply = perform("GET", path, nullptr, nullptr);
    if (!reply) return reply.error();
    if (reply->status != 200) return error_from_reply(*reply, settings_.address);
    return std::move(reply->body);
}

Error VaultClient::error_from_reply(const HttpReply& reply, const std::string& address) {
    std::string text = vault::error_text(reply.body);
    long s = reply.status;
    if (s == 403) return Error{Errc::VaultDenied, text.empty() ? "permission denied" : text};
    if (s == 503 && text.find("Vault is sealed") != std::string::npos)
        return Error{Errc::VaultUnavailable, "Vault at " + address + " is sealed; ask your Vault operator to unseal it"};
    if (s == 429)
        return Error{Errc::VaultUnavailable, "Vault at " + address + " is rate-limiting requests (" + text + "); try again shortly"};
    if (s >= 500)
        return Error{Errc::VaultUnavailable, "Vault at " + address + " failed with HTTP " + std::to_string(s) +
                                                 (text.empty() ? "" : ": " + text)};
    if (s == 404 && text.empty()) return Error{Errc::NotFound, "no such path on Vault at " + address};
    if (s >= 300 && s < 400)
        return Error{Errc::VaultBadResponse, "Vault at " + address + " redirected more than once (HTTP " + std::to_string(s) + ")"};
    if (text.empty()) text = "HTTP " + std::to_string(s);
    return Error{Errc::VaultRefused, text};
}

}  // namespace sshcert
