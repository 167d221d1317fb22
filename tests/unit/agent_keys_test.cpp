// SPDX-License-Identifier: Apache-2.0
// SshKey signatures and the agent dispatcher, checked with OpenSSL as the verifier.
#include <doctest/doctest.h>
#include <openssl/evp.h>

#include "agent_dispatch.hpp"
#include "ssh_key.hpp"

using namespace sshcert;

namespace {

/// Serves one key under one blob, as the daemon serves a certificate.
class OneKey : public AgentKeys {
public:
    explicit OneKey(SshKey key) : key_(std::move(key)) {}
    std::vector<agent::Identity> identities() override { return {{key_.public_blob(), "test"}}; }
    Result<wire::Bytes> sign(wire::ByteView blob, wire::ByteView data, std::uint32_t flags) override {
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

TEST_CASE("ssh key: RSA follows the SHA-2 flags and never signs SHA-1") {
    auto key = SshKey::generate(config::KeyType::Rsa3072);
    REQUIRE(key.ok());
    wire::Bytes data{1, 2, 3};
    CHECK(wire::Reader(*key->sign(data, agent::kFlagRsaSha2_256)).string_view() == "rsa-sha2-256");
    CHECK(wire::Reader(*key->sign(data, agent::kFlagRsaSha2_512)).string_view() == "rsa-sha2-512");
    CHECK_FALSE(key->sign(data, 0).ok());
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
    auto list = handle_agent_message(keys, body_of(agent::encode_request_identities()));
    auto ids = agent::decode_identities(body_of(list));
    REQUIRE(ids.ok());
    REQUIRE(ids->size() == 1);

    auto signed_reply = handle_agent_message(keys, body_of(agent::encode_sign_request((*ids)[0].key_blob, wire::Bytes{7}, 0)));
    CHECK(signed_reply[4] == static_cast<std::uint8_t>(agent::MsgType::SignResponse));

    const wire::Bytes failure = body_of(agent::encode_failure());
    CHECK(body_of(handle_agent_message(keys, body_of(agent::encode_sign_request(wire::Bytes{1}, wire::Bytes{7}, 0)))) == failure);
    CHECK(body_of(handle_agent_message(keys, wire::Bytes{17, 0, 0})) == failure);  // ADD_IDENTITY: we never take keys
    CHECK(body_of(handle_agent_message(keys, wire::Bytes{13, 0, 0, 0, 9})) == failure);  // truncated sign request
    CHECK(body_of(handle_agent_message(keys, wire::Bytes{27, 0, 0, 0, 5, 'q', 'u', 'e', 'r', 'y'})) == failure);
}
