#!/usr/bin/env bash
# The whole test suite: installs what is missing, then `swift test`. Every test starts its own
# redis-server on a free loopback port, so nothing needs to be running beforehand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line for whoever reads only the end of the log.
total=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$(grep -cE '✘ Test .* failed after' "$log" || true)
echo "tests: $((total - failed)) passed, $failed failed"
exit "$status"
