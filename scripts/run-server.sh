#!/usr/bin/env bash
# The README's first command: set up, build, and run the chat server in the foreground on its defaults:
# stock /usr/sbin/mosquitto with the chat plugin, MQTT on 127.0.0.1:1883, MQTT-over-WebSocket on 8080,
# RocksDB in ./data, configuration config/chat.yaml, and the web client on http://127.0.0.1:8081/.
# Ctrl-C stops it.
#   MQTT_PORT, WS_PORT, WEB_PORT and CHAT_CONFIG override the defaults (the ports also come from
#   CHAT_CONFIG's listeners section).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh --web
scripts/build.sh

web_port=${WEB_PORT:-8081}
chat_config=$(realpath "${CHAT_CONFIG:-config/chat.yaml}")
mkdir -p run

# First start: an admin account for chatctl's online mode, its password kept in run/admin.password.
if [ ! -s run/admin.password ]; then
  umask 077
  openssl rand -hex 16 > run/admin.password.new
  if build/clients/chatctl/chatctl --config "$chat_config" user add admin --admin --password-stdin \
       < run/admin.password.new >/dev/null; then
    mv run/admin.password.new run/admin.password
    echo "run-server: created account 'admin'; its password is in run/admin.password"
  else
    rm -f run/admin.password.new
    echo "run-server: account 'admin' exists already; run/admin.password is missing (set one with chatctl user passwd)"
  fi
  umask 022
fi

# The broker runs as the invoking account so it can write ./data (see README: running in production).
# Its listeners come from chat.yaml (listeners, tls); MQTT_PORT and WS_PORT override the plain ones.
scripts/write-mosquitto-conf.sh "$root/build/plugins/chat_plugin.so" "$chat_config" > run/mosquitto.conf
mqtt_port=$(awk '/^listener /{print $2; exit}' run/mosquitto.conf)
# The plain WebSocket listener: a websockets listener block without a certificate (none when its port is 0).
ws_port=$(awk 'function found() { return ws && !tls }
               /^listener /{if (found()) exit; port=$2; ws=0; tls=0}
               /^protocol websockets/{ws=1} /^certfile /{tls=1} END{if (found()) print port}' run/mosquitto.conf)

# Optional: the push bridge beside the broker (PUSH_BRIDGE_CONFIG=config/bridge.yaml, after pointing it at
# your provider endpoints). Its account and password are made on first use, like the admin's.
bridge_config=${PUSH_BRIDGE_CONFIG:-}
if [ -n "$bridge_config" ] && [ ! -s run/push-bridge.password ]; then
  umask 077
  openssl rand -hex 16 > run/push-bridge.password.new
  build/clients/chatctl/chatctl --config "$chat_config" user add push-bridge --password-stdin \
    < run/push-bridge.password.new >/dev/null && mv run/push-bridge.password.new run/push-bridge.password
  rm -f run/push-bridge.password.new
  umask 022
fi

# The broker, the web client's file server and, if asked for, the push bridge; stopping one stops all.
children=()
trap 'kill "${children[@]}" 2>/dev/null; wait' INT TERM EXIT
/usr/sbin/mosquitto -c run/mosquitto.conf &
children+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$mqtt_port") 2>/dev/null && break; sleep 0.1; done
if [ -n "$ws_port" ]; then
  node clients/web/serve.mjs --port "$web_port" --ws-url "ws://127.0.0.1:$ws_port" &
  children+=($!)
else
  echo "run-server: no plain WebSocket listener (listeners.websockets_port: 0): the web client is not served"
fi
if [ -n "$bridge_config" ]; then
  build/bridge/push-bridge --config "$bridge_config" &
  children+=($!)
  echo "run-server: push bridge started with $bridge_config"
fi
echo "run-server: MQTT on 127.0.0.1:$mqtt_port, WebSocket on port $ws_port," \
  "web client on http://127.0.0.1:$web_port/; Ctrl-C stops"
wait -n
