// SPDX-License-Identifier: Apache-2.0
#include "ssh_verify.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <string>

#include "c_handles.hpp"
#include "ssh_key.hpp"

namespace sshcert {

namespace {

using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, CFree<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, CFree<OSSL_PARAM_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, CFree<ECDSA_SIG_free>>;

Error invalid(const std::string& what) { return Error{Errc::InvalidMessage, what}; }

/// OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE and OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS.
constexpr int kMinRsaBits = 1024;
constexpr int kMaxRsaBits = 16384;
/// OpenSSL's OPENSSL_RSA_MAX_PUBEXP_BITS.
constexpr int kMaxRsaExponentBits = 64;

/// Builds an EVP_PKEY of `type` ("EC", "RSA") from an OpenSSL parameter builder.
Result<EvpPkey> from_params(const char* type, OSSL_PARAM_BLD* bld) {
    Params params(OSSL_PARAM_BLD_to_param(bld));
    EvpPkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        return invalid("unusable " + std::string(type) + " public key: " + openssl_error());
    return EvpPkey(raw);
}

}  // namespace

struct VerifyKeyCache::Key {
    EvpPkey pkey;
    const EVP_MD* md = nullptr;  ///< for ECDSA, fixed by the curve
    std::string type;
};

namespace {

using VerifyKey = VerifyKeyCache::Key;

Result<VerifyKey> load_public_key(wire::ByteView blob) {
    wire::Reader r(blob);
    std::string type(r.string_view());
    if (type == "ssh-ed25519") {
        auto pk = r.string();
        if (!r.ok() || !r.at_end() || pk.size() != 32) return invalid("malformed Ed25519 key");
        EvpPkey k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk.data(), pk.size()));
        if (!k) return invalid("unusable Ed25519 key");
        return VerifyKey{std::move(k), nullptr, type};
    }
    if (type.starts_with("ecdsa-sha2-")) {
        auto curve = r.string_view();
        auto point = r.string();
        if (!r.ok() || !r.at_end() || "ecdsa-sha2-" + std::string(curve) != type) return invalid("malformed ECDSA key");
        const char* group = curve == "nistp256" ? "P-256" : curve == "nistp384" ? "P-384" : curve == "nistp521" ? "P-521" : nullptr;
        if (!group) return invalid("unsupported ECDSA curve");
        const EVP_MD* md = curve == "nistp256" ? EVP_sha256() : curve == "nistp384" ? EVP_sha384() : EVP_sha512();
        ParamBld bld(OSSL_PARAM_BLD_new());
        if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
            return invalid("cannot build ECDSA key");
        auto k = from_params("EC", bld.get());
        if (!k) return k.error();
        return VerifyKey{std::move(*k), md, type};
    }
    if (type == "ssh-rsa") {
        auto e = r.string();
        auto n = r.string();
        if (!r.ok() || !r.at_end()) return invalid("malformed RSA key");
        Bignum bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
        Bignum bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
        if (!bn_e || !bn_n) return invalid("cannot build RSA key");
        // A check costs one modular exponentiation by e on the event loop: a 3072-bit e makes it ~100 times
        // dearer. OpenSSL bounds e to 64 bits above 3072-bit moduli; we do at every size (real keys use 65537).
        if (BN_num_bits(bn_n.get()) < kMinRsaBits || BN_num_bits(bn_n.get()) > kMaxRsaBits)
            return invalid("RSA host key of " + std::to_string(BN_num_bits(bn_n.get())) + " bits; " +
                           std::to_string(kMinRsaBits) + " to " + std::to_string(kMaxRsaBits) + " are accepted");
        if (BN_num_bits(bn_e.get()) > kMaxRsaExponentBits)
            return invalid("RSA host key with a " + std::to_string(BN_num_bits(bn_e.get())) + "-bit public exponent; at most " +
                           std::to_string(kMaxRsaExponentBits) + " bits are accepted");
        ParamBld bld(OSSL_PARAM_BLD_new());
        if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
            return invalid("cannot build RSA key");
        auto k = from_params("RSA", bld.get());
        if (!k) return k.error();
        return VerifyKey{std::move(*k), nullptr, type};
    }
    return invalid("unsupported host key type '" + type + "'");
}

/// ECDSA signatures travel as (mpint r, mpint s); OpenSSL verifies DER.
Result<wire::Bytes> ecdsa_to_der(wire::ByteView rs) {
    wire::Reader r(rs);
    auto rb = r.string();
    auto sb = r.string();
    if (!r.ok() || !r.at_end()) return invalid("malformed ECDSA signature");
    EcdsaSig sig(ECDSA_SIG_new());
    BIGNUM* br = BN_bin2bn(rb.data(), static_cast<int>(rb.size()), nullptr);
    BIGNUM* bs = BN_bin2bn(sb.data(), static_cast<int>(sb.size()), nullptr);
    if (!sig || !br || !bs || ECDSA_SIG_set0(sig.get(), br, bs) != 1) {
        BN_free(br);
        BN_free(bs);
        return invalid("malformed ECDSA signature");
    }
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return invalid("malformed ECDSA signature");
    wire::Bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_ECDSA_SIG(sig.get(), &p);
    return der;
}

/// Checks `signature_blob` over `data` with an already loaded key.
Status verify_with(const VerifyKey& key, wire::ByteView signature_blob, wire::ByteView data) {
    wire::Reader r(signature_blob);
    std::string alg(r.string_view());
    auto raw = r.string();
    if (!r.ok() || !r.at_end()) return invalid("malformed signature");

    const EVP_MD* md = key.md;
    wire::Bytes sig(raw.begin(), raw.end());
    if (key.type == "ssh-rsa") {
        if (alg == "rsa-sha2-256") md = EVP_sha256();
        else if (alg == "rsa-sha2-512") md = EVP_sha512();
        else return invalid("refusing RSA signature algorithm '" + alg + "'");
    } else if (alg != key.type) {
        return invalid("signature algorithm '" + alg + "' does not match key type '" + key.type + "'");
    }
    if (key.type.starts_with("ecdsa-sha2-")) {
        auto der = ecdsa_to_der(raw);
        if (!der) return der.error();
        sig = std::move(*der);
    }
    EvpMdCtx ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.pkey.get()) != 1)
        return Error{Errc::Internal, "cannot verify: " + openssl_error()};
    if (EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) != 1) {
        openssl_error();  // clear the queue
        return invalid("signature does not verify");
    }
    return ok_status();
}

}  // namespace

VerifyKeyCache::VerifyKeyCache(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

VerifyKeyCache::~VerifyKeyCache() = default;

Result<std::shared_ptr<const VerifyKeyCache::Key>> VerifyKeyCache::find_or_load(wire::ByteView blob) {
    {
        std::lock_guard lock(mutex_);
        for (auto& e : entries_)
            if (std::ranges::equal(e.blob, blob)) {
                e.last_used = ++clock_;
                ++hits_;
                return e.key;
            }
    }
    auto loaded = load_public_key(blob);  // outside the lock: another thread's check need not wait for it
    if (!loaded) return loaded.error();   // only keys that load are kept
    auto key = std::make_shared<const Key>(std::move(*loaded));
    std::lock_guard lock(mutex_);
    if (entries_.size() >= capacity_)
        entries_.erase(std::ranges::min_element(entries_, {}, &Entry::last_used));  // the least recently used
    entries_.push_back({wire::Bytes(blob.begin(), blob.end()), key, ++clock_});
    return key;
}

Status VerifyKeyCache::verify(wire::ByteView key_blob, wire::ByteView signature_blob, wire::ByteView data) {
    auto key = find_or_load(key_blob);
    if (!key) return key.error();
    return verify_with(**key, signature_blob, data);
}

std::size_t VerifyKeyCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::uint64_t VerifyKeyCache::hits() const {
    std::lock_guard lock(mutex_);
    return hits_;
}

Status verify_ssh_signature(wire::ByteView key_blob, wire::ByteView signature_blob, wire::ByteView data) {
    static VerifyKeyCache cache(kHostKeyCacheEntries);
    return cache.verify(key_blob, signature_blob, data);
}

}  // namespace sshcert
