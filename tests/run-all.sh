#!/usr/bin/env bash
# Installs dependencies, builds from scratch and runs every test with CTest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export SSHCERT_BUILD_DIR=${SSHCERT_BUILD_DIR:-$top/build}
"$top/tests/install-deps.sh"
rm -rf "$SSHCERT_BUILD_DIR"
"$top/tests/build.sh"
cd "$SSHCERT_BUILD_DIR"
ctest --output-on-failure --timeout 900 "$@"
