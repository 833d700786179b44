#!/bin/sh
# Waits for the box's kiosk listener, then shows it full screen; cage restarts with the container if Chromium ends.
set -eu
mkdir -p "$XDG_RUNTIME_DIR" && chmod 0700 "$XDG_RUNTIME_DIR"
until curl -fs -o /dev/null "${KIOSK_URL%/*}/health"; do sleep 2; done
# --no-sandbox: the sandbox needs user namespaces balenaOS may not grant; this browser loads only the box's own
# loopback pages (no address bar, no navigation elsewhere).
exec cage -d -- chromium --ozone-platform=wayland --kiosk --incognito --no-first-run --noerrdialogs \
  --disable-background-networking --disable-component-update --disable-sync --disable-translate \
  --disable-features=TranslateUI --check-for-update-interval=31536000 --disable-dev-shm-usage \
  --user-data-dir=/tmp/kiosk-profile --no-sandbox "$KIOSK_URL"
