#!/usr/bin/env bash
# The whole journey on loopback: a Vault stand-in, a real sshd trusting its CA,
# sshcertd, `sshcert login` and `sshcert ssh` running a command remotely.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/install-deps.sh"
"$top/tests/build.sh" >/dev/null
SSHCERT_BUILD_DIR=${SSHCERT_BUILD_DIR:-$top/build} PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 "$top/tests/integration/demo.py"
