// SPDX-License-Identifier: Apache-2.0
// See wipe_on_free.cpp: sshcertd's heap blocks are overwritten when freed.
#pragma once

#include <cstddef>

namespace sshcert {
/// Routes OpenSSL's allocations through the wiping free; call before anything else in main.
void install_wiping_allocators();
}  // namespace sshcert
