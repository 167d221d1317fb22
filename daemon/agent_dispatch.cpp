// SPDX-License-Identifier: Apache-2.0
#include "agent_dispatch.hpp"

#include "log.hpp"

namespace sshcert {

namespace {
template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 does not deduce aggregates yet
}  // namespace

wire::Bytes handle_agent_message(AgentKeys& keys, wire::ByteView body) {
    auto request = agent::decode_request(body);
    if (!request) {
        log::debug("agent: ", request.error().message);
        return agent::encode_failure();
    }
    return std::visit(
        Overloaded{
            [&](const agent::RequestIdentities&) { return agent::encode_identities(keys.identities()); },
            [&](const agent::SignRequest& r) {
                auto sig = keys.sign(r.key_blob, r.data, r.flags);
                if (!sig) {
                    log::debug("agent: sign refused: ", sig.error().message);
                    return agent::encode_failure();
                }
                return agent::encode_sign_response(*sig);
            },
            [&](const agent::ExtensionRequest& r) {
                log::debug("agent: extension '", r.name, "' not supported");
                return agent::encode_failure();
            },
            [&](const agent::UnsupportedRequest& r) {
                log::debug("agent: message type ", int(r.type), " not supported");
                return agent::encode_failure();
            },
        },
        *request);
}

}  // namespace sshcert
