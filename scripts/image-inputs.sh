#!/usr/bin/env bash
# A digest of everything the image is built from: the image carries it as its label drimbox.inputs, so a test can
# tell an image made from these sources from a stale one.
set -euo pipefail
cd "$(dirname "$0")/.."
find os-image appliance ui bin package.json package-lock.json tsconfig.json tsconfig.build.json scripts/copy-build-assets.mjs scripts/bundle-box.mjs scripts/runtime-packages.mjs .containerignore \
  -type f ! -path 'ui/viewer/dist/*' ! -path '*/node_modules/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
