# Sourced: `podman_here ARGS…` runs podman with the three settings these machines need (found by trial:
# ../shared/reference/containers-and-node-lts-here.md): no default ulimits, the runc runtime, the cgroupfs manager.
# On a device, balena's engine runs the image; this is only how this machine runs it.
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
PODMAN_CONF_DIR=${PODMAN_CONF_DIR:-$(mktemp -d /tmp/drimbox-podman.XXXX)}
printf '[containers]\ndefault_ulimits = []\n' > "$PODMAN_CONF_DIR/containers.conf"
podman_here() {
  CONTAINERS_CONF="$PODMAN_CONF_DIR/containers.conf" podman --runtime=/usr/sbin/runc --cgroup-manager=cgroupfs "$@"
}
