// SPDX-License-Identifier: Apache-2.0
// sshcert reload: has sshcertd re-read its config, as SIGHUP does; a bad file is
// refused with its error and the daemon keeps the config it had.
#include <iostream>

#include "commands.hpp"

namespace sshcert::client {

int cmd_reload(const Context& ctx) {
    auto r = ctx.daemon.call(control::make_request(control::op::kReload));
    if (!r) return fail(r.error());
    auto status = ctx.daemon.call(control::make_request(control::op::kStatus));
    if (!status) return fail(status.error());
    std::string source = status->value("config", "");
    std::string upstream = status->value("upstream_agent", "");
    std::cout << "sshcertd re-read " << (source.empty() ? "its built-in defaults (no config file)" : source)
              << (upstream.empty() ? "; no upstream agent" : "; upstream agent " + upstream) << ".\n";
    return 0;
}

}  // namespace sshcert::client
