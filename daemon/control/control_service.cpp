// SPDX-License-Identifier: Apache-2.0
#include "control_service.hpp"

#include "limits.hpp"
#include "log.hpp"

namespace sshcert {

ControlService::ControlService(ControlContext context)
    : context_(std::move(context)),
      ops_{{control::op::kStatus, ops::status},   {control::op::kLogin, ops::login},
           {control::op::kLoginContinue, ops::login_continue},
           {control::op::kEnsure, ops::ensure},   {control::op::kLogout, ops::logout},
           {control::op::kCaKeys, ops::ca_keys},  {control::op::kReload, ops::reload},
           {control::op::kVaultHealth, ops::vault_health}} {}

void ControlService::handle(const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    std::string op = f.string("op");
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    auto it = ops_.find(op);
    if (it == ops_.end())
        return reply(control::make_error_reply({Errc::InvalidMessage, "unknown control operation '" + op + "'"}));
    if (auto st = ops::check_client_config(context_.config(), request); !st)
        return reply(control::make_error_reply(st.error()));
    log::debug("control: ", op);
    it->second(context_, request, std::move(reply));
}

FramedProtocol ControlService::protocol() {
    return FramedProtocol{
        .name = "control",
        .max_body = limits::kMaxControlMessageBytes,
        .idle_timeout = limits::kControlIdleTimeout,
        .on_message =
            [this](std::uint64_t, wire::ByteView body, FramedProtocol::Reply reply) {
                auto send = [reply](const control::Json& j) { reply(control::encode(j)); };
                auto request = control::decode(body);
                if (!request) return send(control::make_error_reply(request.error()));
                handle(*request, send);
                wipe_strings(*request);  // a login request carries a password, login-continue a passcode
            },
        .on_close = nullptr,
        .empty_frame_reply = [] { return control::encode(control::make_error_reply({Errc::InvalidMessage, "empty control frame"})); },
        .oversize_reply =
            [](std::size_t n) {
                return control::encode(control::make_error_reply(
                    {Errc::MessageTooLarge, "control message of " + std::to_string(n) + " bytes exceeds the limit of " +
                                                std::to_string(limits::kMaxControlMessageBytes)}));
            },
    };
}

}  // namespace sshcert
