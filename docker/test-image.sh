#!/usr/bin/env bash
# Builds the image with podman from a local Debian 12 base (no registry needed) and checks that the
# container serves MQTT: the admin account it created can log in, and an unknown user is refused.
# Needs root. Ports: MQTT_PORT (default 21883) and WS_PORT (28080), on loopback via host networking.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=docker/podman-env.sh
. docker/podman-env.sh
mqtt_port=${MQTT_PORT:-21883}
ws_port=${WS_PORT:-28080}
$P build $L --build-arg BASE="$BASE_IMAGE" --target server -t chat-server:test -f docker/Containerfile .

name=chat-image-test-$$
$P run -d --rm $L --name "$name" -e BIND_ADDRESS=127.0.0.1 -e MQTT_PORT="$mqtt_port" -e WS_PORT="$ws_port" \
  -e CHAT_ADMIN_PASSWORD=image-test-pw chat-server:test >/dev/null
trap '$P stop -t 2 "$name" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do
  mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u admin -P image-test-pw -i admin:probe -t '$CONTROL/chat-accounts/v1' \
    -m '{"commands":[{"command":"addUser","username":"imguser","password":"pw"}]}' -q 1 2>/dev/null && break
  sleep 0.2
done
# The account made through $CONTROL can log in; a wrong password cannot.
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u imguser -P pw -i imguser:probe -t chat/v1/req/send \
  -m '{"to":"imguser","text":"hello from the image"}' -q 1
if mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u imguser -P wrong -i imguser:x -t chat/v1/req/send -m x -q 1 2>/dev/null; then
  echo "test-image: a wrong password was accepted" >&2; exit 1
fi
echo "test-image: passed"
