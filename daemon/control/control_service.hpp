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
    std::function<VaultSession&()> session;  ///< the default Vault's
    /// The session of Vault `name` (config::kDefaultVault or a [vault.<name>]), or nullptr.
    std::function<VaultSession*(std::string_view name)> vault_session;
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
void vault_health(ControlContext&, const control::Json&, ControlReply);
/// Replies to a login step as login and login-continue do: the token summary, or {"challenge": ...}.
TokenKeeper::LoginDone login_reply(VaultSession& session, ControlReply reply);
/// A Vault a request acts on, and its session.
struct ChosenVault {
    std::string name;
    VaultSession* session = nullptr;
};
/// The Vault for a request: its `vault` field (a name), else `profile`'s, else the one its
/// `vault_addr` (the client's VAULT_ADDR) names, else the default. A `vault_addr` that names
/// none of the daemon's Vaults, or another than the one chosen, is refused: the user's
/// VAULT_ADDR is never silently ignored.
Result<ChosenVault> choose_vault(ControlContext& ctx, const control::Json& request, const config::Profile* profile = nullptr);
/// Each Vault's name, address and login, for status's `vaults`.
control::Json vaults_status(ControlContext& ctx);
/// Refuses a request whose `config` (the client's -c FILE) is not the daemon's own config file.
Status check_client_config(const config::Config& c, const control::Json& request);
/// "prod, staging" or "none", for errors that list the profiles.
std::string profile_names(const config::Config& c);
/// One held certificate as status and ensure report it.
control::Json describe(const HeldCert& held, const Listeners& listeners);
}  // namespace ops

}  // namespace sshcert
