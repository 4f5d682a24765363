#!/bin/sh
# Push bridge container start: writes bridge.yaml from the environment and runs the bridge as its own
# account. Environment:
#   PUSH_BRIDGE_PASSWORD   required: the password of the server's push-bridge account
#   BROKER_HOST, BROKER_PORT   the chat server's plain MQTT listener (default chat:1883)
#   PUSH_PROVIDER, PUSH_PROVIDER_URL, PUSH_PROVIDER_AUTHORIZATION   one provider (default fcm at a
#       placeholder URL: deliveries fail until it is set); more need a mounted /etc/chat/bridge.yaml
#   METRICS_PORT           GET /metrics on this port (default 9884; 0: none)
set -eu
state=/var/lib/push-bridge
config=/etc/chat/bridge.yaml
if [ ! -e "$config" ]; then
  : "${PUSH_BRIDGE_PASSWORD:?PUSH_BRIDGE_PASSWORD is required (the server's push-bridge account)}"
  config=$state/bridge.yaml
  ( umask 077
    printf '%s\n' "$PUSH_BRIDGE_PASSWORD" > "$state/password"
    cat > "$config" <<YAML
broker:
  host: ${BROKER_HOST:-chat}
  port: ${BROKER_PORT:-1883}
  username: push-bridge
  password_file: $state/password
  device: ${HOSTNAME:-bridge-1}
providers:
  ${PUSH_PROVIDER:-fcm}:
    url: ${PUSH_PROVIDER_URL:-https://push-gateway.example.com/v1/fcm}
    headers:
      Authorization: "${PUSH_PROVIDER_AUTHORIZATION:-Bearer replace-me}"
journal_file: $state/journal
metrics:
  listen: 0.0.0.0
  port: ${METRICS_PORT:-9884}
YAML
  )
  chown -R push-bridge:push-bridge "$state"
fi
exec runuser -u push-bridge -- /usr/bin/push-bridge --config "$config"
