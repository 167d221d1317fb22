// SPDX-License-Identifier: Apache-2.0
#include "agent_codec.hpp"

namespace sshcert::agent {

namespace {
wire::Bytes frame(wire::Writer&& body) { return encode_frame(body.take()); }

Error malformed(const char* what) {
    return Error{Errc::InvalidMessage, std::string("malformed agent message: ") + what};
}
}  // namespace

Result<Request> decode_request(wire::ByteView body) {
    wire::Reader r(body);
    auto type = r.u8();
    if (!r.ok()) return malformed("empty body");
    switch (static_cast<MsgType>(type)) {
        case MsgType::RequestIdentities:
            // Trailing bytes are tolerated, as OpenSSH does for this message.
            return Request{RequestIdentities{}};
        case MsgType::SignRequest: {
            auto key = r.string();
            auto data = r.string();
            auto flags = r.u32();
            if (!r.ok()) return malformed("truncated sign request");
            if (!r.at_end()) return malformed("trailing bytes after sign request");
            return Request{SignRequest{{key.begin(), key.end()}, {data.begin(), data.end()}, flags}};
        }
        case MsgType::Extension: {
            auto name = r.string_view();
            if (!r.ok()) return malformed("truncated extension name");
            auto contents = r.rest();
            return Request{ExtensionRequest{std::string(name), {contents.begin(), contents.end()}}};
        }
        default:
            return Request{UnsupportedRequest{type}};
    }
}

wire::Bytes encode_failure() {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::Failure));
    return frame(std::move(w));
}

Result<SessionBind> decode_session_bind(wire::ByteView contents) {
    wire::Reader r(contents);
    auto host_key = r.string();
    auto session_id = r.string();
    auto signature = r.string();
    auto forwarding = r.u8();
    if (!r.ok() || !r.at_end()) return malformed("bad session-bind request");
    if (session_id.size() > kMaxSessionIdBytes) return malformed("session identifier too long");
    return SessionBind{{host_key.begin(), host_key.end()},
                       {session_id.begin(), session_id.end()},
                       {signature.begin(), signature.end()},
                       forwarding != 0};
}

wire::Bytes encode_extension_failure() {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::ExtensionFailure));
    return frame(std::move(w));
}

wire::Bytes encode_query_response(const std::vector<std::string_view>& extensions) {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::ExtensionResponse));
    w.string(kQuery);
    for (auto name : extensions) w.string(name);
    return frame(std::move(w));
}

wire::Bytes encode_success() {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::Success));
    return frame(std::move(w));
}

wire::Bytes encode_identities(const std::vector<Identity>& ids) {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::IdentitiesAnswer));
    w.u32(static_cast<std::uint32_t>(ids.size()));
    for (const auto& id : ids) w.string(id.key_blob).string(id.comment);
    return frame(std::move(w));
}

wire::Bytes encode_sign_response(wire::ByteView signature_blob) {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::SignResponse));
    w.string(signature_blob);
    return frame(std::move(w));
}

wire::Bytes encode_request_identities() {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::RequestIdentities));
    return frame(std::move(w));
}

wire::Bytes encode_sign_request(wire::ByteView key_blob, wire::ByteView data, std::uint32_t flags) {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::SignRequest));
    w.string(key_blob).string(data).u32(flags);
    return frame(std::move(w));
}

wire::Bytes encode_extension_request(std::string_view name, wire::ByteView contents) {
    wire::Writer w;
    w.u8(static_cast<std::uint8_t>(MsgType::Extension));
    w.string(name).raw(contents);
    return frame(std::move(w));
}

Result<std::vector<Identity>> decode_identities(wire::ByteView body) {
    wire::Reader r(body);
    if (r.u8() != static_cast<std::uint8_t>(MsgType::IdentitiesAnswer)) return malformed("not an identities answer");
    std::uint32_t n = r.u32();
    std::vector<Identity> ids;
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        auto blob = r.string();
        auto comment = r.string_view();
        if (r.ok()) ids.push_back({{blob.begin(), blob.end()}, std::string(comment)});
    }
    if (!r.ok() || !r.at_end()) return malformed("truncated identities answer");
    return ids;
}

}  // namespace sshcert::agent
