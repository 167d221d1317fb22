// SPDX-License-Identifier: Apache-2.0
#include "agent_service.hpp"

#include <algorithm>
#include <ctime>

#include "framing.hpp"
#include "known_hosts.hpp"
#include "limits.hpp"
#include "log.hpp"

namespace sshcert {

FramedProtocol AgentService::protocol(std::optional<std::string> profile) {
    return FramedProtocol{
        .name = profile ? "agent-" + *profile : "agent",
        .max_body = limits::kMaxAgentMessageBytes,
        .idle_timeout = limits::kAgentIdleTimeout,
        .on_message =
            [this, profile](std::uint64_t id, wire::ByteView body, FramedProtocol::Reply reply) {
                auto [it, inserted] = sessions_.try_emplace(id);
                if (inserted) {
                    it->second.id = id;
                    it->second.profile = profile;
                }
                on_message(it->second, body, std::move(reply));
            },
        .on_close = [this](std::uint64_t id) { sessions_.erase(id); },
        .empty_frame_reply = [] { return agent::encode_failure(); },
        .oversize_reply = nullptr,
    };
}

void AgentService::set_upstream(const std::string& path) {
    if (path.empty()) {
        upstream_.reset();
    } else if (!upstream_ || upstream_->path() != path) {
        upstream_ = std::make_unique<UpstreamAgent>(io_, path);
    }
}

bool AgentService::serves(const AgentSession& session, const std::string& profile) const {
    if (session.profile) return profile == *session.profile;
    if (session.host_names.empty()) return true;
    const config::Config& c = config_();
    return std::any_of(session.host_names.begin(), session.host_names.end(), [&](const std::string& name) {
        const config::Profile* p = c.profile_for_host(name);  // the first match takes the host, as for sshcert ssh
        return p && p->name == profile;
    });
}

std::vector<agent::Identity> AgentService::identities(const AgentSession& session) {
    if (session.profile || session.host_names.empty()) return cache_.identities(session.profile);
    std::vector<agent::Identity> out;
    for (const auto& p : config_().profiles)
        if (serves(session, p.name))
            for (auto& id : cache_.identities(p.name)) out.push_back(std::move(id));
    return out;
}

std::vector<std::string> AgentService::host_names(wire::ByteView host_key) {
    // The literal host patterns are the names a hashed or wildcard entry is tried with.
    std::vector<std::string> candidates;
    for (const auto& p : config_().profiles)
        for (const auto& h : p.hosts)
            if (!h.empty() && h.find_first_of("*?!") == std::string::npos) candidates.push_back(h);
    auto entries = known_hosts::read_files(known_hosts_files_);
    return known_hosts::names_for_key(entries, host_key, candidates, static_cast<std::uint64_t>(std::time(nullptr)));
}

Result<wire::Bytes> AgentService::sign(AgentSession& session, wire::ByteView key_blob, wire::ByteView data, std::uint32_t flags) {
    HeldCert* held = cache_.find_by_blob(key_blob);
    if (!held || !serves(session, held->key.profile)) return Error{Errc::NotFound, "no such identity"};
    auto sig = held->private_key->sign(data, flags);
    if (!sig) return sig;
    ++held->signatures;
    ++signatures_;
    cache_.touch(*held);  // in use: renewed in the background before it runs out
    if (std::find(session.served.begin(), session.served.end(), held) == session.served.end()) {
        session.served.push_back(held);
        ++held->connections;
    }
    return sig;
}

void AgentService::on_message(AgentSession& session, wire::ByteView body, FramedProtocol::Reply reply) {
    // The main socket passes what it cannot answer to the upstream agent, when one is configured.
    if (upstream_ && !session.profile) {
        auto request = agent::decode_request(body);
        if (request && std::holds_alternative<agent::RequestIdentities>(*request)) {
            auto ours = identities(session);
            return upstream_->request(agent::encode_request_identities(),
                                      [ours = std::move(ours), reply = std::move(reply)](Result<wire::Bytes> r) mutable {
                                          if (!r) log::debug("upstream agent: ", r.error().message);
                                          auto theirs = r ? agent::decode_identities(*r) : Result<std::vector<agent::Identity>>(r.error());
                                          if (theirs)
                                              for (auto& id : *theirs)
                                                  if (std::none_of(ours.begin(), ours.end(), [&](const auto& o) { return o.key_blob == id.key_blob; }))
                                                      ours.push_back(std::move(id));
                                          reply(encode_identities_within_limit(ours));
                                      });
        }
        if (request && std::holds_alternative<agent::SignRequest>(*request) &&
            !cache_.find_by_blob(std::get<agent::SignRequest>(*request).key_blob)) {
            return upstream_->request(encode_frame(body), [reply = std::move(reply)](Result<wire::Bytes> r) {
                if (!r) log::warn("upstream agent: ", r.error().message);
                reply(r ? encode_frame(*r) : agent::encode_failure());
            });
        }
    }
    reply(handle_agent_message(*this, session, body));
}

}  // namespace sshcert
