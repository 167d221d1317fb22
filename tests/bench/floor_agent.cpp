// SPDX-License-Identifier: Apache-2.0
// The floor of the agent benchmark: a bare ssh-agent that holds one Ed25519
// key made at start and does nothing but frame the agent protocol and call
// OpenSSL to sign. What it manages is the best an agent can do on this
// machine, so run_bench.py measures sshcertd and ssh-agent against it.
// Plain POSIX and OpenSSL on purpose: none of sshcertd's code is shared.
//
//   floor_agent SOCKET        (runs until SIGTERM; prints nothing)
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint8_t kFailure = 5, kRequestIdentities = 11, kIdentitiesAnswer = 12, kSignRequest = 13,
                       kSignResponse = 14;
constexpr std::uint32_t kMaxFrame = 256 * 1024;
constexpr std::string_view kKeyType = "ssh-ed25519";

EVP_PKEY* g_key = nullptr;
Bytes g_key_blob;     // string "ssh-ed25519" + string public key
Bytes g_identities;   // the whole IDENTITIES_ANSWER frame, made once

void put_u32(Bytes& b, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_string(Bytes& b, const std::uint8_t* p, std::size_t n) {
    put_u32(b, static_cast<std::uint32_t>(n));
    b.insert(b.end(), p, p + n);
}
void put_string(Bytes& b, std::string_view s) { put_string(b, reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
std::uint32_t get_u32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

bool io_exact(int fd, std::uint8_t* p, std::size_t n, bool write) {
    while (n > 0) {
        ssize_t r = write ? ::send(fd, p, n, MSG_NOSIGNAL) : ::read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

/// The reply frame for one SIGN_REQUEST body, or false when it is malformed, for another key or unsignable.
bool sign(EVP_MD_CTX* ctx, const Bytes& req, Bytes& out) {
    const std::uint8_t* p = req.data() + 1;
    std::size_t left = req.size() - 1;
    if (left < 4 || get_u32(p) != g_key_blob.size() || left < 8 + g_key_blob.size()) return false;
    if (std::memcmp(p + 4, g_key_blob.data(), g_key_blob.size()) != 0) return false;
    p += 4 + g_key_blob.size();
    left -= 4 + g_key_blob.size();
    std::size_t data_len = get_u32(p);
    if (data_len > left - 4) return false;
    std::uint8_t sig[64];
    std::size_t sig_len = sizeof sig;
    if (EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, g_key) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, p + 4, data_len) != 1 || sig_len != sizeof sig)
        return false;
    out.clear();
    constexpr auto blob_len = static_cast<std::uint32_t>(4 + kKeyType.size() + 4 + sizeof sig);
    put_u32(out, 1 + 4 + blob_len);
    out.push_back(kSignResponse);
    put_u32(out, blob_len);
    put_string(out, kKeyType);
    put_string(out, sig, sizeof sig);
    return true;
}

void serve(int fd) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    Bytes failure{0, 0, 0, 1, kFailure};
    Bytes req;
    Bytes out;
    std::uint8_t header[4];
    while (ctx != nullptr && io_exact(fd, header, 4, false)) {
        std::uint32_t n = get_u32(header);
        if (n == 0 || n > kMaxFrame) break;
        req.resize(n);
        if (!io_exact(fd, req.data(), n, false)) break;
        Bytes* reply = &failure;
        if (req[0] == kRequestIdentities) reply = &g_identities;
        else if (req[0] == kSignRequest && sign(ctx, req, out)) reply = &out;
        if (!io_exact(fd, reply->data(), reply->size(), true)) break;
    }
    EVP_MD_CTX_free(ctx);
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 1;
    g_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    std::uint8_t pub[32];
    std::size_t pub_len = sizeof pub;
    if (g_key == nullptr || EVP_PKEY_get_raw_public_key(g_key, pub, &pub_len) != 1) return 2;
    put_string(g_key_blob, kKeyType);
    put_string(g_key_blob, pub, pub_len);
    Bytes body{kIdentitiesAnswer};
    put_u32(body, 1);
    put_string(body, g_key_blob.data(), g_key_blob.size());
    put_string(body, "floor");
    put_u32(g_identities, static_cast<std::uint32_t>(body.size()));
    g_identities.insert(g_identities.end(), body.begin(), body.end());

    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (std::strlen(argv[1]) >= sizeof addr.sun_path) return 1;
    std::strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ::unlink(argv[1]);
    if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 64) != 0)
        return 3;
    for (;;) {
        int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) std::thread(serve, fd).detach();
    }
}
