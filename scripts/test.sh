#!/usr/bin/env bash
# Installs the programs the tests talk to, builds, and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
npm install --no-audit --no-fund
npm run build
exec node --test --test-concurrency=2 --test-reporter=spec dist/test/
