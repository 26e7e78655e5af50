#!/usr/bin/env bash
# The whole test suite: installs what is missing, then `swift test`. Every test starts its own
# redis-server on a free loopback port, so nothing needs to be running beforehand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build "$@"
