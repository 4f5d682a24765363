# Sourced by docker/test-image.sh and docker/test-compose.sh: podman as it runs on these machines
# (../shared/CONTAINERS.md): runc with cgroupfs, host networking, low ulimits, and a local Debian 12 base
# image made with mmdebstrap, so nothing needs a registry. Needs root.
export DEBIAN_FRONTEND=noninteractive
command -v podman >/dev/null && command -v mmdebstrap >/dev/null && command -v runc >/dev/null \
  && command -v podman-compose >/dev/null && command -v curl >/dev/null && command -v mosquitto_pub >/dev/null \
  || { apt-get update -q && apt-get install -y -q podman runc mmdebstrap podman-compose curl mosquitto-clients; }
# The same settings for podman itself and for the podman that podman-compose runs: builds and plain
# runs on the host's network (compose's services get the project's network explicitly).
CONTAINERS_CONF=$(mktemp /tmp/chat-containers-XXXXXX.conf)
export CONTAINERS_CONF
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
netns = "host"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
P="podman --runtime runc --cgroup-manager=cgroupfs"
L="--network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
BASE_IMAGE=localhost/bookworm:base
if ! $P image exists "$BASE_IMAGE"; then
  tar=/tmp/chat-bookworm-base.tar
  [ -f "$tar" ] || mmdebstrap --variant=apt bookworm "$tar" /etc/apt/sources.list.d/debian.sources
  $P import "$tar" "$BASE_IMAGE"
fi
