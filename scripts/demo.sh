#!/usr/bin/env bash
# The main job on a fresh Debian machine: installs what it needs, then runs the DRIMbox demonstration
# (test/demo/main.ts; pass --check to run the whole story headless and exit).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# DCMTK inside Orthanc leaves Nagle on without this: 44-89 ms stall per instance.
export TCP_NODELAY=1
bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # better-sqlite3 compiled here (node-gyp, Node's headers): never a prebuilt binary downloaded from GitHub.
  npm_config_build_from_source=true npm ci --no-audit --no-fund
fi
npm run build:ui >/dev/null
exec npx tsx test/demo/main.ts "$@"
