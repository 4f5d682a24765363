#!/usr/bin/env bash
# Fills config/mosquitto.conf.in and prints the result. Used by run-server.sh and the container image.
#   write-mosquitto-conf.sh PLUGIN_SO CHAT_YAML
# Environment: BROKER_USER (default: the current account), BIND_ADDRESS (127.0.0.1),
# MQTT_PORT (1883), WS_PORT (8080).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
plugin=$1
chat_yaml=$2
# The plugin reaches the MQTT listener itself: on loopback when it listens on every address.
bind=${BIND_ADDRESS:-127.0.0.1}
case $bind in 0.0.0.0|'::'|'*'|'') local_address=127.0.0.1 ;; *) local_address=$bind ;; esac
sed -e "s|@USER@|${BROKER_USER:-$(id -un)}|" \
    -e "s|@BIND_ADDRESS@|${BIND_ADDRESS:-127.0.0.1}|" \
    -e "s|@MQTT_PORT@|${MQTT_PORT:-1883}|g" \
    -e "s|@LOCAL_ADDRESS@|$local_address|" \
    -e "s|@WS_PORT@|${WS_PORT:-8080}|" \
    -e "s|@PLUGIN@|$plugin|" \
    -e "s|@CONFIG_FILE@|$chat_yaml|" \
    "$here/config/mosquitto.conf.in"
