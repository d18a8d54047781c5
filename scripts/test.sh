#!/usr/bin/env bash
# Command 2: install and start what the tests need (scripts/setup.sh), then run the whole suite
# against real Redis, Docker, registries and git repositories. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
echo "Running the test suite…"
npx tap --reporter=tap "$@" | node scripts/tap-summary.mjs
