// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "agent_codec.hpp"
#include "framing.hpp"
#include "limits.hpp"

using namespace sshcert;

namespace {
wire::Bytes frame_header(std::uint32_t len) {
    wire::Writer w;
    w.u32(len);
    return w.take();
}
}  // namespace

TEST_CASE("framing: a length over the 256 KiB limit is rejected before the body is read") {
    auto f = check_frame(frame_header(limits::kMaxAgentMessageBytes + 1), limits::kMaxAgentMessageBytes);
    CHECK(f.kind == FrameCheck::Kind::TooLarge);
    auto at_limit = check_frame(frame_header(limits::kMaxAgentMessageBytes), limits::kMaxAgentMessageBytes);
    CHECK(at_limit.kind == FrameCheck::Kind::NeedMore);  // exactly the limit is allowed, as in OpenSSH
}

TEST_CASE("framing: zero length is its own case, partial frames need more") {
    CHECK(check_frame(frame_header(0), 100).kind == FrameCheck::Kind::Empty);
    CHECK(check_frame(wire::Bytes{0, 0}, 100).kind == FrameCheck::Kind::NeedMore);
    auto partial = frame_header(3);
    partial.push_back(11);
    CHECK(check_frame(partial, 100).kind == FrameCheck::Kind::NeedMore);
    partial.push_back(0);
    partial.push_back(0);
    auto f = check_frame(partial, 100);
    CHECK(f.kind == FrameCheck::Kind::Complete);
    CHECK(f.body_size == 3);
}

TEST_CASE("agent codec: sign request round trip") {
    wire::Bytes key{1, 2, 3}, data{4, 5};
    auto frame = agent::encode_sign_request(key, data, agent::kFlagRsaSha2_512);
    auto r = agent::decode_request(wire::ByteView(frame).subspan(4));
    REQUIRE(r.ok());
    auto* s = std::get_if<agent::SignRequest>(&*r);
    REQUIRE(s);
    CHECK(s->key_blob == key);
    CHECK(s->data == data);
    CHECK(s->flags == agent::kFlagRsaSha2_512);
}

TEST_CASE("agent codec: truncated and padded sign requests are malformed") {
    wire::Bytes key{1, 2, 3}, data{4, 5};
    auto frame = agent::encode_sign_request(key, data, 0);
    wire::ByteView body = wire::ByteView(frame).subspan(4);
    for (std::size_t n = 1; n < body.size(); ++n) CHECK_FALSE(agent::decode_request(body.first(n)).ok());
    wire::Bytes padded(body.begin(), body.end());
    padded.push_back(0);
    CHECK_FALSE(agent::decode_request(padded).ok());
}

TEST_CASE("agent codec: unknown types decode as unsupported, not as errors") {
    wire::Bytes body{200};
    auto r = agent::decode_request(body);
    REQUIRE(r.ok());
    CHECK(std::get<agent::UnsupportedRequest>(*r).type == 200);
    CHECK_FALSE(agent::decode_request(wire::Bytes{}).ok());
}

TEST_CASE("agent codec: identities answer round trip") {
    std::vector<agent::Identity> ids{{{9, 9}, "one"}, {{8}, "two"}};
    auto frame = agent::encode_identities(ids);
    auto back = agent::decode_identities(wire::ByteView(frame).subspan(4));
    REQUIRE(back.ok());
    REQUIRE(back->size() == 2);
    CHECK((*back)[1].comment == "two");
    CHECK(agent::encode_failure() == wire::Bytes{0, 0, 0, 1, 5});
}

TEST_CASE("base64: round trip and strict decoding") {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        wire::Bytes out;
        REQUIRE(wire::base64_decode(wire::base64_encode(wire::view(s)), out));
        CHECK(std::string(out.begin(), out.end()) == s);
    }
    wire::Bytes out;
    CHECK(wire::base64_encode(wire::view("foobar")) == "Zm9vYmFy");
    CHECK_FALSE(wire::base64_decode("Zm9", out));
    CHECK_FALSE(wire::base64_decode("Zm=v", out));
    CHECK_FALSE(wire::base64_decode("Zm9v\n", out));
}
