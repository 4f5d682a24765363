#!/usr/bin/env bash
# Prints the mosquitto.conf for a chat.yaml: its listeners and TLS settings filled into
# config/mosquitto.conf.in by `chatctl config mosquitto-conf` (the code the test harness uses too).
# Used by run-server.sh and the container image.
#   write-mosquitto-conf.sh PLUGIN_SO CHAT_YAML
# Environment: BROKER_USER (default: the current account); MQTT_PORT, WS_PORT and BIND_ADDRESS override
# chat.yaml's listeners.mqtt_port, listeners.websockets_port and listeners.address; CHATCTL names the
# chatctl to run (default: build/'s, else the one on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
chatctl=${CHATCTL:-$here/build/clients/chatctl/chatctl}  # another build's (the sanitizer's) when set
[ -x "$chatctl" ] || chatctl=chatctl  # the container image and the service have it on PATH
args=(config mosquitto-conf "$2" --template "$here/config/mosquitto.conf.in" --plugin "$1"
      --user "${BROKER_USER:-$(id -un)}")
[ -n "${BIND_ADDRESS:-}" ] && args+=(--address "$BIND_ADDRESS")
[ -n "${MQTT_PORT:-}" ] && args+=(--mqtt-port "$MQTT_PORT")
[ -n "${WS_PORT:-}" ] && args+=(--ws-port "$WS_PORT")
exec "$chatctl" "${args[@]}"
