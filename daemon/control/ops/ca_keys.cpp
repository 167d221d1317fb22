// SPDX-License-Identifier: Apache-2.0
// ca-keys: the public key(s) of a profile's SSH CA, for cloud-init and `sshcert ca`.
#include "control_service.hpp"
#include "ssh_engine.hpp"

namespace sshcert::ops {

void ca_keys(ControlContext& ctx, const control::Json& request, ControlReply reply) {
    control::FieldReader f(request);
    auto profile_name = f.optional_string("profile");
    auto mount = f.optional_string("mount");
    if (f.error()) return reply(control::make_error_reply(*f.error()));
    const config::Config& c = ctx.config();
    const config::Profile* p = nullptr;
    if (!mount) {
        p = profile_name ? c.find_profile(*profile_name) : (c.profiles.empty() ? nullptr : &c.profiles.front());
        if (!p)
            return reply(control::make_error_reply(
                {Errc::NotFound, profile_name ? "no profile named '" + *profile_name + "' (profiles: " + profile_names(c) + ")"
                                              : "no profiles configured; add a [[profile]] whose mount is the Vault SSH CA's"}));
        mount = p->mount;
    }
    auto vault = choose_vault(ctx, request, p);  // a mount alone is at the Vault `vault` names, or the default
    if (!vault) return reply(control::make_error_reply(vault.error()));
    read_ca_public_key(*vault->session->vault(), *mount, [reply = std::move(reply), m = *mount](Result<std::string> r) {
        if (!r) return reply(control::make_error_reply(r.error()));
        control::Json keys = control::Json::array();
        std::string_view text = *r;
        while (!text.empty()) {
            auto nl = text.find('\n');
            auto line = text.substr(0, nl);
            if (!line.empty()) keys.push_back(std::string(line));
            text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        }
        reply(control::make_reply({{"mount", m}, {"keys", std::move(keys)}}));
    });
}

}  // namespace sshcert::ops
