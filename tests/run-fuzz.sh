#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each from its
# seed corpus for SSHCERT_FUZZ_SECONDS (default 30).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SSHCERT_FUZZ_BUILD_DIR:-$top/build-fuzz}
"$top/tests/install-deps.sh" --fuzz
rm -rf "$build"
CXX=clang++ cmake -S "$top" -B "$build" -DSSHCERT_FUZZ=ON -DSSHCERT_BUILD_TESTS=OFF \
  -DSSHCERT_FUZZ_SECONDS="${SSHCERT_FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target agent_request_fuzz control_request_fuzz control_ops_fuzz cert_parser_fuzz vault_response_fuzz \
  vault_headers_fuzz sts_response_fuzz known_hosts_fuzz
cd "$build"
ctest -L fuzz --output-on-failure
