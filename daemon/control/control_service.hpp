// SPDX-License-Identifier: Apache-2.0
// The control socket's requests (proto/PROTOCOL.md): a table of ops, one
// file each in ops/. Ops see the parts they need through ControlContext,
// never the Daemon, so a fuzz target can drive them over a fake Vault.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "agent_service.hpp"
#include "cert_cache.hpp"
#include "config.hpp"
#include "control_codec.hpp"
#include "framed_server.hpp"
#include "listeners.hpp"
#include "vault_session.hpp"

namespace sshcert {

struct ControlContext {
    std::function<const config::Config&()> config;
    std::function<VaultSession&()> session;
    CertCache& cache;
    AgentService& agent;
    Listeners& listeners;
    std::function<Status()> reload;
};

using ControlReply = std::function<void(control::Json)>;
using ControlOp = void (*)(ControlContext&, const control::Json& request, ControlReply reply);

class ControlService {
public:
    explicit ControlService(ControlContext context);
    /// Handles one decoded request; `reply` gets the JSON reply exactly once.
    void handle(const control::Json& request, ControlReply reply);
    /// The protocol for control.sock.
    FramedProtocol protocol();

private:
    ControlContext context_;
    std::map<std::string, ControlOp, std::less<>> ops_;
};

namespace ops {
void status(ControlContext&, const control::Json&, ControlReply);
void login(ControlContext&, const control::Json&, ControlReply);
void login_continue(ControlContext&, const control::Json&, ControlReply);
void ensure(ControlContext&, const control::Json&, ControlReply);
void logout(ControlContext&, const control::Json&, ControlReply);
void ca_keys(ControlContext&, const control::Json&, ControlReply);
void reload(ControlContext&, const control::Json&, ControlReply);
/// Replies to a login step as login and login-continue do: the token summary, or {"challenge": ...}.
TokenKeeper::LoginDone login_reply(VaultSession& session, ControlReply reply);
/// "prod, staging" or "none", for errors that list the profiles.
std::string profile_names(const config::Config& c);
/// One held certificate as status and ensure report it.
control::Json describe(const HeldCert& held, const Listeners& listeners);
}  // namespace ops

}  // namespace sshcert
