#!/usr/bin/env bash
# Builds with AddressSanitizer and UndefinedBehaviorSanitizer and runs every test
# against those binaries. A sanitizer report from sshcertd fails the test that ran it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export SSHCERT_BUILD_DIR=${SSHCERT_SANITIZED_BUILD_DIR:-$top/build-sanitized}
"$top/tests/install-deps.sh"
rm -rf "$SSHCERT_BUILD_DIR"
"$top/tests/build.sh" -DSSHCERT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1
cd "$SSHCERT_BUILD_DIR"
ctest --output-on-failure --timeout 900 "$@"
