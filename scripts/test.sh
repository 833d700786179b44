#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what the tests need, runs every suite,
# prints a plain "N passed, N failed" line, and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# DCMTK (in Orthanc and the dcmtk tools) leaves Nagle on without this: 44-89 ms stall per instance.
export TCP_NODELAY=1

bash scripts/install-system-deps.sh
if [ "${CI:-}" = "true" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # better-sqlite3 compiled here (node-gyp, Node's headers): never a prebuilt binary downloaded from GitHub.
  npm_config_build_from_source=true npm ci --no-audit --no-fund
fi

echo "== build the web viewer"
npm run build:ui

mkdir -p test-results
status=0
echo "== typecheck"
if ! npx tsc --noEmit -p tsconfig.json; then status=1; fi

echo "== container image (scripts/build-image.sh: the image test runs it; its figures are printed here)"
if ! bash scripts/build-image.sh; then status=1; fi

echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=1
node scripts/test-summary.mjs test-results/vitest.json "$status" || status=1
exit "$status"
