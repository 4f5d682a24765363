#!/usr/bin/env bash
# Brings up docker/compose.yaml (chat server, push bridge, web page) with podman-compose, its ports
# published on loopback, and checks it end to end: an account made through the admin topic,
# a message from alice reaching bob's subscription, the web page and its config, the server's metrics
# counting the message, and the push bridge logged in (its metrics say connected). Needs root.
# Ports: 21883 (MQTT), 28080 (WebSocket), 28081 (web page), 29883 and 29884 (metrics), on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=docker/podman-env.sh
. docker/podman-env.sh
export CHAT_BASE_IMAGE=$BASE_IMAGE CHAT_NOFILE=1024 CHAT_NPROC=1024 CHAT_PUBLISH_ADDRESS=127.0.0.1 \
  CHAT_MQTT_PORT=21883 CHAT_WS_PORT=28080 CHAT_WEB_PORT=28081 CHAT_METRICS_PORT=29883 BRIDGE_METRICS_PORT=29884 \
  CHAT_PUBLIC_WS_URL=ws://127.0.0.1:28080 \
  PUSH_BRIDGE_PASSWORD=compose-test-bridge-pw CHAT_ADMIN_PASSWORD=compose-test-pw
# The host's own extra CAs (a proxy's, where npm is reached through one) for the build stage's npm.
CHAT_BUILD_EXTRA_CA_CERTS=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
export CHAT_BUILD_EXTRA_CA_CERTS
compose="podman-compose -p chat-compose-test -f docker/compose.yaml"
# CHAT_COMPOSE_NO_BUILD=1 reuses the images of an earlier run.
[ "${CHAT_COMPOSE_NO_BUILD:-0}" = 1 ] || $compose build
trap '$compose down -v >/dev/null 2>&1 || true; rm -f "$CONTAINERS_CONF"' EXIT
$compose up -d

fail() { echo "test-compose: $*" >&2; $compose logs >&2 || true; exit 1; }
admin() {
  mosquitto_pub -h 127.0.0.1 -p 21883 -u admin -P compose-test-pw -i admin:compose-test -t '$CONTROL/chat-accounts/v1' \
    -m "{\"commands\":[{\"command\":\"addUser\",\"username\":\"$1\",\"password\":\"pw-$1\"}]}" -q 1 2>/dev/null
}
up=false
for _ in $(seq 150); do
  if admin alice; then up=true; break; fi
  sleep 0.2
done
$up || fail "the server did not come up"
admin bob || fail "cannot add bob"

# bob listens on his own topics; alice sends him a message.
received=$(mktemp)
mosquitto_sub -h 127.0.0.1 -p 21883 -u bob -P pw-bob -i bob:phone -t 'chat/v1/user/bob/#' -q 1 -C 1 -W 20 \
  > "$received" &
sub=$!
sleep 1
mosquitto_pub -h 127.0.0.1 -p 21883 -u alice -P pw-alice -i alice:phone -t chat/v1/req/send \
  -m '{"to":"bob","text":"hello through compose"}' -q 1 || fail "alice cannot send"
wait "$sub" || fail "bob received nothing"
grep -q '"text":"hello through compose"' "$received" || fail "bob received $(cat "$received")"
echo "test-compose: bob received: $(cat "$received")"

page=$(curl -fsS http://127.0.0.1:28081/) || fail "the web page is not served"
grep -qi '<html' <<<"$page" || fail "the web page is not HTML"
curl -fsS http://127.0.0.1:28081/config.json | grep -q 'ws://127.0.0.1:28080' || fail "the page does not know the broker"
echo "test-compose: web page served with its broker address"

curl -fsS http://127.0.0.1:29883/metrics | grep -q '^chat_messages_stored_total{conversation="direct"} 1$' \
  || fail "the server's metrics do not count the message"
connected=false
for _ in $(seq 100); do
  if curl -fsS http://127.0.0.1:29884/metrics 2>/dev/null | grep -q '^push_bridge_connected 1$'; then connected=true; break; fi
  sleep 0.2
done
$connected || fail "the push bridge is not connected"
echo "test-compose: metrics count the message; the push bridge is connected"
echo "test-compose: passed"
