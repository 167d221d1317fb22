// SPDX-License-Identifier: Apache-2.0
#include "ssh_key.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <vector>

#include "agent_codec.hpp"
#include "hygiene.hpp"

namespace sshcert {

namespace {

using config::KeyType;

bool is_ecdsa(KeyType t) { return t == KeyType::EcdsaP256 || t == KeyType::EcdsaP384; }

std::string_view curve_name(KeyType t) { return t == KeyType::EcdsaP256 ? "nistp256" : "nistp384"; }

/// SSH mpint (RFC 4251): big-endian two's complement, a leading zero when the top bit is set.
void put_mpint(wire::Writer& w, const BIGNUM* bn) {
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(BN_num_bytes(bn)) + 1, 0);
    int n = BN_bn2bin(bn, buf.data() + 1);
    std::size_t start = (n > 0 && (buf[1] & 0x80)) ? 0 : 1;
    w.string(wire::ByteView(buf).subspan(start, static_cast<std::size_t>(n) + 1 - start));
}

/// Generation failed because the secure heap has no room left: say so, with the numbers.
Error secure_heap_full(KeyType t) {
    auto kib = [](std::size_t b) { return std::to_string(b / 1024); };
    std::string type(config::to_string(t));
    return Error{Errc::Internal,
                 "cannot make a new " + type + " key: the daemon holds " + std::to_string(SshKey::live_keys()) +
                     " keys and its secure memory for them is full (" + kib(CRYPTO_secure_used()) + " of " +
                     kib(secure_heap_bytes()) + " KiB used; one " + type + " key takes " +
                     std::to_string(secure_heap_cost(t)) + " bytes). Drop certificates no longer needed (sshcert logout "
                     "drops them all), or use ed25519 keys, which take " + std::to_string(secure_heap_cost(KeyType::Ed25519)) +
                     " bytes each"};
}

Result<EvpPkey> keygen(KeyType t) {
    EVP_PKEY* raw = nullptr;
    switch (t) {
        case KeyType::Ed25519: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
        case KeyType::EcdsaP256: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
        case KeyType::EcdsaP384: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
        case KeyType::Rsa3072: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{3072}); break;
        case KeyType::Rsa4096: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{4096}); break;
    }
    EvpPkey pkey(raw);
    if (!pkey && ERR_GET_REASON(ERR_peek_last_error()) == ERR_R_MALLOC_FAILURE && secure_heap_bytes() > 0) {
        ERR_clear_error();
        return secure_heap_full(t);
    }
    if (!pkey) return Error{Errc::Internal, "key generation failed: " + openssl_error()};
    return pkey;
}

Result<wire::Bytes> encode_public_blob(const EvpPkey& pkey, KeyType t) {
    wire::Writer w;
    w.string(ssh_key_type_name(t));
    if (t == KeyType::Ed25519) {
        std::array<std::uint8_t, 32> pk{};
        std::size_t len = pk.size();
        if (EVP_PKEY_get_raw_public_key(pkey.get(), pk.data(), &len) != 1 || len != pk.size())
            return Error{Errc::Internal, "cannot read Ed25519 public key: " + openssl_error()};
        w.string(pk);
    } else if (is_ecdsa(t)) {
        unsigned char* point = nullptr;
        std::size_t len = EVP_PKEY_get1_encoded_public_key(pkey.get(), &point);  // uncompressed, as SSH wants
        if (len == 0) return Error{Errc::Internal, "cannot read ECDSA public key: " + openssl_error()};
        w.string(curve_name(t));
        w.string(wire::ByteView(point, len));
        OPENSSL_free(point);
    } else {
        BIGNUM* e_raw = nullptr;
        BIGNUM* n_raw = nullptr;
        EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e_raw);
        Bignum e(e_raw);
        EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &n_raw);
        Bignum n(n_raw);
        if (!e || !n) return Error{Errc::Internal, "cannot read RSA public key: " + openssl_error()};
        put_mpint(w, e.get());
        put_mpint(w, n.get());
    }
    return w.take();
}

/// Raw signature bytes from EVP_DigestSign with the given digest (nullptr for Ed25519).
Result<wire::Bytes> digest_sign(EVP_PKEY* pkey, const EVP_MD* md, wire::ByteView data) {
    // Sized by the key's largest signature rather than asked: one EVP_DigestSign call, not two.
    EvpMdCtx ctx(EVP_MD_CTX_new());
    wire::Bytes sig(static_cast<std::size_t>(std::max(0, EVP_PKEY_get_size(pkey))));
    std::size_t len = sig.size();
    if (!ctx || sig.empty() || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey) != 1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1)
        return Error{Errc::Internal, "signing failed: " + openssl_error()};
    sig.resize(len);
    return sig;
}

}  // namespace

std::size_t secure_heap_cost(KeyType type) {
    switch (type) {
        case KeyType::Ed25519: return 32;
        case KeyType::EcdsaP256: return 32;
        case KeyType::EcdsaP384: return 64;
        case KeyType::Rsa3072: return 1792;
        case KeyType::Rsa4096: return 2304;
    }
    return 2304;
}

std::string_view ssh_key_type_name(KeyType type) {
    switch (type) {
        case KeyType::Ed25519: return "ssh-ed25519";
        case KeyType::EcdsaP256: return "ecdsa-sha2-nistp256";
        case KeyType::EcdsaP384: return "ecdsa-sha2-nistp384";
        case KeyType::Rsa3072:
        case KeyType::Rsa4096: return "ssh-rsa";
    }
    return "ssh-ed25519";
}

std::string openssl_error() {
    unsigned long code = ERR_get_error();
    if (code == 0) return "unknown OpenSSL error";
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    ERR_clear_error();
    return buf.data();
}

Result<SshKey> SshKey::generate(KeyType type) {
    auto pkey = keygen(type);
    if (!pkey) return pkey.error();
    auto blob = encode_public_blob(*pkey, type);
    if (!blob) return blob.error();
    return SshKey(std::move(*pkey), type, std::move(*blob));
}

Result<wire::Bytes> SshKey::sign(wire::ByteView data, std::uint32_t agent_flags) const {
    wire::Writer w;
    if (type_ == KeyType::Ed25519) {
        auto sig = digest_sign(pkey_.get(), nullptr, data);
        if (!sig) return sig;
        w.string("ssh-ed25519").string(*sig);
    } else if (is_ecdsa(type_)) {
        const EVP_MD* md = type_ == KeyType::EcdsaP256 ? EVP_sha256() : EVP_sha384();
        auto der = digest_sign(pkey_.get(), md, data);
        if (!der) return der;
        const unsigned char* p = der->data();
        std::unique_ptr<ECDSA_SIG, CFree<ECDSA_SIG_free>> es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size())));
        if (!es) return Error{Errc::Internal, "cannot decode ECDSA signature: " + openssl_error()};
        wire::Writer rs;
        put_mpint(rs, ECDSA_SIG_get0_r(es.get()));
        put_mpint(rs, ECDSA_SIG_get0_s(es.get()));
        w.string(ssh_key_type_name(type_)).string(rs.bytes());
    } else {
        // RFC 8332: the flags choose SHA-512 or SHA-256. No flag asks for SHA-1 "ssh-rsa", which we never
        // produce: SHA-256 is answered instead, which ssh-add -T accepts and a peer insisting on SHA-1 refuses.
        bool sha512 = (agent_flags & agent::kFlagRsaSha2_512) != 0;
        auto sig = digest_sign(pkey_.get(), sha512 ? EVP_sha512() : EVP_sha256(), data);
        if (!sig) return sig;
        w.string(sha512 ? "rsa-sha2-512" : "rsa-sha2-256").string(*sig);
    }
    return w.take();
}

}  // namespace sshcert
