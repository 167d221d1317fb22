// SPDX-License-Identifier: Apache-2.0
#include "agent_dispatch.hpp"

#include <algorithm>

#include "limits.hpp"
#include "log.hpp"
#include "ssh_cert.hpp"
#include "ssh_verify.hpp"

namespace sshcert {

namespace {
template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 does not deduce aggregates yet

/// "a, b" for the log.
std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

wire::Bytes handle_extension(AgentKeys& keys, AgentSession& session, const agent::ExtensionRequest& r) {
    if (r.name == agent::kQuery) return agent::encode_query_response({agent::kQuery, agent::kSessionBind});
    if (r.name == agent::kSessionBind) {
        auto bind = agent::decode_session_bind(r.contents);
        Status st = bind ? bind_session(session, *bind) : Status(bind.error());
        if (!st) {
            log::warn("agent connection ", session.id, ": session-bind refused: ", st.error().message);
            return agent::encode_extension_failure();
        }
        // Only a binding for authentication names the host the keys are used at; one for forwarding
        // names a host the agent is forwarded to, which may use it towards any other.
        if (!bind->is_forwarding && session.host_names.empty()) {
            session.host_names = keys.host_names(bind->host_key);
            if (!session.host_names.empty())
                log::debug("agent connection ", session.id, " bound to host ", joined(session.host_names));
        }
        return agent::encode_success();
    }
    log::debug("agent: extension '", r.name, "' not supported");
    return agent::encode_failure();
}
}  // namespace

Status bind_session(AgentSession& session, const agent::SessionBind& bind) {
    // A host certificate's holder signs with the certified key (OpenSSH's sshkey_verify uses the
    // certificate's key): the signature shows possession of that key, whoever signed the certificate.
    wire::ByteView signer = bind.host_key;
    auto cert = parse_certificate(bind.host_key);
    if (cert && cert->type != CertType::Host) return Error{Errc::InvalidMessage, "host key is a user certificate"};
    if (cert) signer = cert->public_key;
    if (auto st = verify_ssh_signature(signer, bind.signature, bind.session_id); !st)
        return Error{Errc::InvalidMessage, "host signature: " + st.error().message};
    for (const auto& b : session.bindings) {
        if (!b.forwarding) return Error{Errc::InvalidMessage, "connection already bound for authentication"};
        bool same_sid = b.session_id == bind.session_id;
        if (same_sid && b.host_key == bind.host_key) return ok_status();  // already recorded
        if (same_sid) return Error{Errc::InvalidMessage, "session identifier recorded under a different host key"};
    }
    if (session.bindings.size() >= agent::kMaxSessionBindings) return Error{Errc::InvalidMessage, "too many session bindings"};
    session.bindings.push_back({bind.host_key, bind.session_id, bind.is_forwarding});
    log::debug("agent connection ", session.id, " bound to host key ", fingerprint_sha256(bind.host_key),
               bind.is_forwarding ? " (forwarding)" : " (authentication)");
    return ok_status();
}

wire::Bytes encode_identities_within_limit(const std::vector<agent::Identity>& ids) {
    std::vector<agent::Identity> fitting;
    std::size_t size = 1 + 4;  // type, count
    for (const auto& id : ids) {
        std::size_t entry = 8 + id.key_blob.size() + id.comment.size();
        if (size + entry > limits::kMaxAgentMessageBytes) {
            log::warn("agent: ", ids.size() - fitting.size(), " identities left out to stay within the message limit");
            break;
        }
        size += entry;
        fitting.push_back(id);
    }
    return agent::encode_identities(fitting);
}

wire::Bytes handle_agent_message(AgentKeys& keys, AgentSession& session, wire::ByteView body) {
    auto request = agent::decode_request(body);
    if (!request) {
        log::debug("agent: ", request.error().message);
        return agent::encode_failure();
    }
    return std::visit(
        Overloaded{
            [&](const agent::RequestIdentities&) { return encode_identities_within_limit(keys.identities(session)); },
            [&](const agent::SignRequest& r) {
                auto sig = keys.sign(session, r.key_blob, r.data, r.flags);
                if (!sig) {
                    log::debug("agent: sign refused: ", sig.error().message);
                    return agent::encode_failure();
                }
                return agent::encode_sign_response(*sig);
            },
            [&](const agent::ExtensionRequest& r) { return handle_extension(keys, session, r); },
            [&](const agent::UnsupportedRequest& r) {
                log::debug("agent: message type ", int(r.type), " not supported");
                return agent::encode_failure();
            },
        },
        *request);
}

}  // namespace sshcert
