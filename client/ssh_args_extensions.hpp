// SPDX-License-Identifier: Apache-2.0
// extensions = "auto": the certificate extensions an ssh command line needs, and no more.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sshcert::client {

/// The extensions for ssh run with these option letters (SshTarget::flags), sorted:
///   permit-pty               unless -T, -N or -W (no session)
///   permit-port-forwarding   with -L, -R, -D or -W
///   permit-agent-forwarding  with -A
///   permit-X11-forwarding    with -X or -Y
///   permit-user-rc           unless -N or -W: OpenSSH grants it by default (ssh-keygen -s), and
///                            without it sshd silently skips the user's ~/.ssh/rc
std::vector<std::string> needed_extensions(std::string_view flags);

/// A bastion's: the ssh that ProxyJump or ProxyCommand starts runs `-W host:port` and nothing else.
std::vector<std::string> jump_extensions();

/// What will fail without `extension` for ssh run with `flags` ("-L will fail"), or nothing
/// when its absence goes unnoticed (permit-user-rc).
std::optional<std::string> effect_without(std::string_view extension, std::string_view flags, bool jump);

}  // namespace sshcert::client
