// SPDX-License-Identifier: Apache-2.0
// SshKey signatures and the agent dispatcher, checked with OpenSSL as the verifier.
#include <doctest/doctest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "agent_dispatch.hpp"
#include "hygiene.hpp"
#include "ssh_verify.hpp"
#include "ssh_key.hpp"

using namespace sshcert;

namespace {

/// Serves one key under one blob, as the daemon serves a certificate.
class OneKey : public AgentKeys {
public:
    explicit OneKey(SshKey key) : key_(std::move(key)) {}
    std::vector<agent::Identity> identities(const AgentSession&) override { return {{key_.public_blob(), "test"}}; }
    Result<wire::Bytes> sign(AgentSession&, wire::ByteView blob, wire::ByteView data, std::uint32_t flags) override {
        if (!std::ranges::equal(blob, key_.public_blob())) return Error{Errc::NotFound, "no such identity"};
        return key_.sign(data, flags);
    }
    SshKey key_;
};

wire::Bytes body_of(const wire::Bytes& frame) { return {frame.begin() + 4, frame.end()}; }

}  // namespace

TEST_CASE("ssh key: Ed25519 signatures verify against the public key blob") {
    auto key = SshKey::generate(config::KeyType::Ed25519);
    REQUIRE(key.ok());
    wire::Reader pub(key->public_blob());
    CHECK(pub.string_view() == "ssh-ed25519");
    auto raw_pub = pub.string();
    REQUIRE(raw_pub.size() == 32);

    wire::Bytes data{'h', 'e', 'l', 'l', 'o'};
    auto sig = key->sign(data, 0);
    REQUIRE(sig.ok());
    wire::Reader s(*sig);
    CHECK(s.string_view() == "ssh-ed25519");
    auto raw_sig = s.string();
    REQUIRE(raw_sig.size() == 64);

    std::unique_ptr<EVP_PKEY, CFree<EVP_PKEY_free>> vk(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_pub.data(), raw_pub.size()));
    std::unique_ptr<EVP_MD_CTX, CFree<EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
    REQUIRE(EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, vk.get()) == 1);
    CHECK(EVP_DigestVerify(ctx.get(), raw_sig.data(), raw_sig.size(), data.data(), data.size()) == 1);
    data[0] = 'j';
    CHECK(EVP_DigestVerify(ctx.get(), raw_sig.data(), raw_sig.size(), data.data(), data.size()) != 1);
}

TEST_CASE("ssh key: private keys live in OpenSSL's secure heap and leave nothing there when freed") {
    // sshcertd initialises the secure heap at start (daemon/platform/hygiene.cpp); it is locked and not dumped.
    REQUIRE(init_secure_heap() != SecureHeap::Unavailable);
    (void)SshKey::generate(config::KeyType::Ed25519);  // OpenSSL's random generator keeps its own state there from now on
    for (auto type : {config::KeyType::Ed25519, config::KeyType::EcdsaP256, config::KeyType::Rsa3072}) {
        std::size_t before = CRYPTO_secure_used();
        {
            auto key = SshKey::generate(type);
            REQUIRE(key.ok());
            CHECK(CRYPTO_secure_used() > before);
        }
        CHECK_MESSAGE(CRYPTO_secure_used() == before, config::to_string(type));
    }
}

namespace {
/// Fills the secure heap with `blocks` of its smallest size (all of it when 0); frees them when destroyed.
struct SecureHeapFill {
    explicit SecureHeapFill(std::size_t blocks = 0) {
        while (blocks == 0 || held.size() < blocks) {
            void* p = CRYPTO_secure_malloc(32, __FILE__, __LINE__);
            if (!p) break;
            held.push_back(p);
        }
    }
    ~SecureHeapFill() {
        for (void* p : held) CRYPTO_secure_free(p, __FILE__, __LINE__);
    }
    std::vector<void*> held;
};
}  // namespace

TEST_CASE("secure heap: each key type takes what secure_heap_cost says") {
    REQUIRE(init_secure_heap() != SecureHeap::Unavailable);
    for (auto type : {config::KeyType::Ed25519, config::KeyType::EcdsaP256, config::KeyType::EcdsaP384, config::KeyType::Rsa3072,
                      config::KeyType::Rsa4096}) {
        std::size_t before = CRYPTO_secure_used();
        std::vector<SshKey> keys;
        for (int i = 0; i < 2; ++i) {
            keys.push_back(std::move(SshKey::generate(type)).value());
            REQUIRE(keys.back().sign(wire::Bytes{1}, agent::kFlagRsaSha2_512).ok());  // signing keeps nothing more there
        }
        CHECK_MESSAGE((CRYPTO_secure_used() - before) / keys.size() == secure_heap_cost(type), config::to_string(type));
    }
}

TEST_CASE("secure heap: sshcertd's holds 1000 keys of the costliest type") {
    REQUIRE(init_secure_heap() != SecureHeap::Unavailable);
    REQUIRE(secure_heap_bytes() == kSecureHeapBytes);
    std::size_t costliest = secure_heap_cost(config::KeyType::Rsa4096);
    SecureHeapFill others(999 * costliest / 32);  // 999 keys' worth, packed without waste
    REQUIRE(others.held.size() == 999 * costliest / 32);
    CHECK(SshKey::generate(config::KeyType::Rsa4096).ok());  // and the thousandth
}

TEST_CASE("secure heap: when it is full, making a key says so, with the numbers") {
    REQUIRE(init_secure_heap() != SecureHeap::Unavailable);
    auto held = std::move(SshKey::generate(config::KeyType::Ed25519)).value();
    std::size_t live = SshKey::live_keys();
    {
        SecureHeapFill all;
        auto key = SshKey::generate(config::KeyType::Rsa3072);
        REQUIRE_FALSE(key.ok());
        const std::string& m = key.error().message;
        CHECK_MESSAGE(m.find("cannot make a new rsa-3072 key: the daemon holds " + std::to_string(live) +
                             " keys and its secure memory for them is full (4096 of 4096 KiB used; one rsa-3072 key takes 1792 "
                             "bytes)") == 0, m);
        CHECK_MESSAGE(m.find("or use ed25519 keys, which take 32 bytes each") != std::string::npos, m);
        CHECK_FALSE(SshKey::generate(config::KeyType::Ed25519).ok());
        CHECK(SshKey::live_keys() == live);
    }
    CHECK(SshKey::generate(config::KeyType::Rsa3072).ok());  // room again once keys are freed
}

TEST_CASE("ssh key: RSA follows the SHA-2 flags and never signs SHA-1") {
    auto key = SshKey::generate(config::KeyType::Rsa3072);
    REQUIRE(key.ok());
    wire::Bytes data{1, 2, 3};
    CHECK(wire::Reader(*key->sign(data, agent::kFlagRsaSha2_256)).string_view() == "rsa-sha2-256");
    CHECK(wire::Reader(*key->sign(data, agent::kFlagRsaSha2_512)).string_view() == "rsa-sha2-512");
    CHECK(wire::Reader(*key->sign(data, 0)).string_view() == "rsa-sha2-256");  // never SHA-1
}

TEST_CASE("ssh key: ECDSA keys name their curve and sign") {
    auto key = SshKey::generate(config::KeyType::EcdsaP256);
    REQUIRE(key.ok());
    wire::Reader pub(key->public_blob());
    CHECK(pub.string_view() == "ecdsa-sha2-nistp256");
    CHECK(pub.string_view() == "nistp256");
    CHECK(pub.string().size() == 65);  // uncompressed point
    auto sig = key->sign(wire::Bytes{1}, 0);
    REQUIRE(sig.ok());
    CHECK(wire::Reader(*sig).string_view() == "ecdsa-sha2-nistp256");
}

TEST_CASE("agent dispatch: list, sign, and FAILURE for everything it cannot do") {
    OneKey keys(std::move(SshKey::generate(config::KeyType::Ed25519)).value());
    AgentSession s;
    auto handle = [&](const wire::Bytes& body) { return handle_agent_message(keys, s, body); };
    auto list = handle(body_of(agent::encode_request_identities()));
    auto ids = agent::decode_identities(body_of(list));
    REQUIRE(ids.ok());
    REQUIRE(ids->size() == 1);

    auto signed_reply = handle(body_of(agent::encode_sign_request((*ids)[0].key_blob, wire::Bytes{7}, 0)));
    CHECK(signed_reply[4] == static_cast<std::uint8_t>(agent::MsgType::SignResponse));

    const wire::Bytes failure = body_of(agent::encode_failure());
    CHECK(body_of(handle(body_of(agent::encode_sign_request(wire::Bytes{1}, wire::Bytes{7}, 0)))) == failure);
    CHECK(body_of(handle(wire::Bytes{17, 0, 0})) == failure);        // ADD_IDENTITY: we never take keys
    CHECK(body_of(handle(wire::Bytes{13, 0, 0, 0, 9})) == failure);  // truncated sign request
    CHECK(body_of(handle(body_of(agent::encode_extension_request("no-such@example.com", {})))) == failure);
}

TEST_CASE("agent dispatch: query lists the extensions we support, as OpenSSH 10 does") {
    OneKey keys(std::move(SshKey::generate(config::KeyType::Ed25519)).value());
    AgentSession s;
    auto reply = body_of(handle_agent_message(keys, s, body_of(agent::encode_extension_request("query", {}))));
    wire::Reader r(reply);
    CHECK(r.u8() == static_cast<std::uint8_t>(agent::MsgType::ExtensionResponse));
    CHECK(r.string_view() == "query");
    std::vector<std::string> names;
    while (r.ok() && !r.at_end()) names.emplace_back(r.string_view());
    CHECK(names == std::vector<std::string>{"query", "session-bind@openssh.com"});
}

namespace {
/// A session-bind request as ssh sends it: the host key signs the session identifier.
wire::Bytes session_bind(const SshKey& host, const wire::Bytes& sid, bool forwarding, bool tamper = false) {
    auto sig = host.sign(sid, agent::kFlagRsaSha2_512);
    REQUIRE(sig.ok());
    if (tamper) (*sig)[sig->size() - 1] ^= 1;
    wire::Writer w;
    w.string(host.public_blob()).string(sid).string(*sig).u8(forwarding ? 1 : 0);
    return body_of(agent::encode_extension_request("session-bind@openssh.com", w.bytes()));
}
}  // namespace

TEST_CASE("agent dispatch: session-bind is recorded only when the host's signature verifies") {
    OneKey keys(std::move(SshKey::generate(config::KeyType::Ed25519)).value());
    auto host = std::move(SshKey::generate(config::KeyType::EcdsaP256)).value();
    wire::Bytes sid(32, 0x42);
    const auto success = body_of(agent::encode_success());
    const auto ext_failure = body_of(agent::encode_extension_failure());

    AgentSession s;
    CHECK(body_of(handle_agent_message(keys, s, session_bind(host, sid, false, /*tamper=*/true))) == ext_failure);
    CHECK(s.bindings.empty());
    CHECK(body_of(handle_agent_message(keys, s, session_bind(host, sid, false))) == success);
    REQUIRE(s.bindings.size() == 1);
    CHECK(s.bindings[0].host_key == host.public_blob());
    // A connection bound for authentication is never rebound (OpenSSH's rule).
    CHECK(body_of(handle_agent_message(keys, s, session_bind(host, wire::Bytes(32, 7), false))) == ext_failure);

    AgentSession hops;
    for (std::uint8_t i = 0; i < agent::kMaxSessionBindings; ++i)
        CHECK(body_of(handle_agent_message(keys, hops, session_bind(host, wire::Bytes(32, i), true))) == success);
    CHECK(body_of(handle_agent_message(keys, hops, session_bind(host, wire::Bytes(32, 99), true))) == ext_failure);
}

TEST_CASE("ssh signatures: every key type we generate verifies, tampering does not") {
    for (auto type : {config::KeyType::Ed25519, config::KeyType::EcdsaP256, config::KeyType::EcdsaP384, config::KeyType::Rsa3072}) {
        auto key = SshKey::generate(type);
        REQUIRE(key.ok());
        wire::Bytes data{'s', 'i', 'd'};
        auto sig = key->sign(data, agent::kFlagRsaSha2_256);
        REQUIRE(sig.ok());
        CHECK(verify_ssh_signature(key->public_blob(), *sig, data).ok());
        data[0] = 'S';
        CHECK_FALSE(verify_ssh_signature(key->public_blob(), *sig, data).ok());
    }
}

TEST_CASE("ssh signatures: the host key cache is bounded and drops the least recently used key") {
    std::vector<SshKey> hosts;
    for (int i = 0; i < 3; ++i) hosts.push_back(std::move(SshKey::generate(config::KeyType::Ed25519)).value());
    wire::Bytes sid(32, 0x42);
    auto check = [&](VerifyKeyCache& cache, const SshKey& host) { return cache.verify(host.public_blob(), *host.sign(sid, 0), sid).ok(); };

    VerifyKeyCache cache(2);
    CHECK(check(cache, hosts[0]));
    CHECK(check(cache, hosts[1]));
    CHECK(check(cache, hosts[0]));
    CHECK(cache.hits() == 1);
    CHECK(check(cache, hosts[2]));  // full: hosts[1], used least recently, makes room
    CHECK(cache.size() == 2);
    CHECK(check(cache, hosts[0]));
    CHECK(cache.hits() == 2);
    CHECK(check(cache, hosts[1]));  // loaded again
    CHECK(cache.hits() == 2);
    CHECK(cache.size() == 2);

    CHECK_FALSE(cache.verify(wire::Bytes{0, 0, 0, 3, 'b', 'a', 'd'}, *hosts[0].sign(sid, 0), sid).ok());
    CHECK(cache.size() == 2);  // a key that does not load is not kept
}

TEST_CASE("ssh signatures: a cached host key still refuses bad signatures") {
    for (auto type : {config::KeyType::Rsa3072, config::KeyType::EcdsaP256, config::KeyType::Ed25519}) {
        auto host = std::move(SshKey::generate(type)).value();
        wire::Bytes sid(32, 0x42);
        auto sig = std::move(host.sign(sid, agent::kFlagRsaSha2_512)).value();
        VerifyKeyCache cache(4);
        REQUIRE(cache.verify(host.public_blob(), sig, sid).ok());
        auto tampered = sig;
        tampered.back() ^= 1;
        CHECK_FALSE(cache.verify(host.public_blob(), tampered, sid).ok());
        auto other_sid = sid;
        other_sid[0] ^= 1;
        CHECK_FALSE(cache.verify(host.public_blob(), sig, other_sid).ok());
        CHECK(cache.hits() == 2);
        CHECK(cache.verify(host.public_blob(), sig, sid).ok());
        if (type == config::KeyType::Rsa3072) {
            wire::Reader r(sig);
            r.string_view();
            wire::Writer sha1;
            sha1.string("ssh-rsa").string(r.string());
            CHECK(cache.verify(host.public_blob(), sha1.bytes(), sid).error().message == "refusing RSA signature algorithm 'ssh-rsa'");
        }
    }
}

TEST_CASE("ssh signatures: RSA host keys whose check would hold the event loop are refused") {
    auto host = std::move(SshKey::generate(config::KeyType::Rsa3072)).value();
    wire::Reader pub(host.public_blob());
    pub.string_view();
    pub.string();  // e
    auto n = pub.string();
    wire::Bytes sid(32, 0x42);
    auto sig = std::move(host.sign(sid, agent::kFlagRsaSha2_512)).value();
    auto rsa_blob = [](wire::ByteView e, wire::ByteView n) {
        wire::Writer w;
        w.string("ssh-rsa").string(e).string(n);
        return w.take();
    };
    wire::Bytes big_e(9, 0x01);  // 65 bits: each check would be a 65-bit exponentiation
    auto r = verify_ssh_signature(rsa_blob(big_e, n), sig, sid);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "RSA host key with a 65-bit public exponent; at most 64 bits are accepted");
    auto small = verify_ssh_signature(rsa_blob(wire::Bytes{1, 0, 1}, wire::Bytes(64, 0xff)), sig, sid);
    REQUIRE_FALSE(small.ok());
    CHECK(small.error().message == "RSA host key of 512 bits; 1024 to 16384 are accepted");
}

TEST_CASE("agent dispatch: an identities answer never exceeds the 256 KiB message limit") {
    std::vector<agent::Identity> ids(100, agent::Identity{wire::Bytes(4000, 1), "c"});
    auto frame = encode_identities_within_limit(ids);
    CHECK(frame.size() - 4 <= 256 * 1024);
    auto back = agent::decode_identities(body_of(frame));
    REQUIRE(back.ok());
    CHECK(back->size() == 65);
}
