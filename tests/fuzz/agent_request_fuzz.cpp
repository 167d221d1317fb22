// SPDX-License-Identifier: Apache-2.0
// Feeds arbitrary bytes to the agent as a stream of frames, as a client
// connection would, against an agent holding one key of every type.
#include <cstdint>
#include <vector>

#include "agent_dispatch.hpp"
#include "framing.hpp"
#include "limits.hpp"
#include "ssh_key.hpp"

namespace {
using namespace sshcert;

class AllKeyTypes : public AgentKeys {
public:
    AllKeyTypes() {
        for (auto t : {config::KeyType::Ed25519, config::KeyType::EcdsaP256, config::KeyType::EcdsaP384,
                       config::KeyType::Rsa3072})
            keys_.push_back(std::move(SshKey::generate(t)).value());
    }
    std::vector<agent::Identity> identities(const AgentSession&) override {
        std::vector<agent::Identity> out;
        for (const auto& k : keys_) out.push_back({k.public_blob(), "fuzz"});
        return out;
    }
    Result<wire::Bytes> sign(AgentSession&, wire::ByteView blob, wire::ByteView data, std::uint32_t flags) override {
        for (const auto& k : keys_)
            if (std::equal(blob.begin(), blob.end(), k.public_blob().begin(), k.public_blob().end())) return k.sign(data, flags);
        return Error{Errc::NotFound, "no such identity"};
    }

private:
    std::vector<SshKey> keys_;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static AllKeyTypes keys;
    AgentSession session;  // one connection per input, as session bindings are per connection
    wire::ByteView in(data, size);
    for (int messages = 0; messages < 256; ++messages) {  // as OpenSSH's agent_fuzz does
        FrameCheck f = check_frame(in, limits::kMaxAgentMessageBytes);
        if (f.kind == FrameCheck::Kind::Empty) {
            in = in.subspan(4);
            continue;
        }
        if (f.kind != FrameCheck::Kind::Complete) break;
        wire::Bytes reply = handle_agent_message(keys, session, in.subspan(4, f.body_size));
        if (reply.size() < 5 || reply.size() - 4 > limits::kMaxAgentMessageBytes) __builtin_trap();
        in = in.subspan(4 + f.body_size);
    }
    return 0;
}
