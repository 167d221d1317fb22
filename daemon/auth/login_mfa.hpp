// SPDX-License-Identifier: Apache-2.0
// Login MFA (Vault's identity/mfa): any method's login may answer with
// auth.mfa_requirement instead of a token. Every enforcement in it must be met
// by one of its methods; we ask for one factor per enforcement, a passcode
// method first when there is a choice, then send every answer to
// sys/mfa/validate in one call, whose reply is the login's. For a push, Vault
// holds that call until the person approves; we let it run to the challenge's
// deadline and no further.
#pragma once

#include <chrono>
#include <string>

#include "auth_method.hpp"

namespace sshcert {

/// The Step a login reply gives: its token, or the first question of its MFA, which expires
/// `lifetime` from now. `who` names the login in messages ("'alice' at auth/ldap").
Result<Step> login_step(const Json& envelope, const std::string& who, std::chrono::seconds lifetime);

/// Goes on from a challenge login_step made: the next factor's question, or sys/mfa/validate
/// once every factor has its answer. A wrong passcode asks again while the deadline lasts.
void resume_login_mfa(asio::io_context& io, VaultClient& vault, Challenge challenge, SecretString answer,
                      AuthMethod::StepDone done);

}  // namespace sshcert
