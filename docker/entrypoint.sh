#!/bin/sh
# Container start: write mosquitto.conf, create the admin account on first start, run the broker.
# The admin password is CHAT_ADMIN_PASSWORD if set, else random, kept in /var/lib/chat/admin.password.
# With PUSH_BRIDGE_PASSWORD set, the push bridge's account (push-bridge) gets that password at every start.
set -eu
conf_dir=/run/chat
mkdir -p "$conf_dir"
BROKER_USER=mosquitto /usr/lib/chat/scripts/write-mosquitto-conf.sh /usr/lib/chat/chat_plugin.so \
  /etc/chat/chat.yaml > "$conf_dir/mosquitto.conf"

password_file=/var/lib/chat/admin.password
if [ ! -s "$password_file" ]; then
  ( umask 077; printf '%s\n' "${CHAT_ADMIN_PASSWORD:-$(openssl rand -hex 16)}" > "$password_file.new" )
  chown mosquitto:mosquitto "$password_file.new"
  # As the broker's account, so every database file stays writable by the broker.
  if runuser -u mosquitto -- chatctl --config /etc/chat/chat.yaml user add admin --admin --password-stdin \
       < "$password_file.new" >/dev/null; then
    mv "$password_file.new" "$password_file"
    echo "entrypoint: created account 'admin' (password in $password_file)"
  else
    rm -f "$password_file.new"
  fi
fi
if [ -n "${PUSH_BRIDGE_PASSWORD:-}" ]; then
  ctl="runuser -u mosquitto -- chatctl --config /etc/chat/chat.yaml user"
  printf '%s\n' "$PUSH_BRIDGE_PASSWORD" | $ctl add push-bridge --password-stdin >/dev/null 2>&1 \
    || printf '%s\n' "$PUSH_BRIDGE_PASSWORD" | $ctl passwd push-bridge --password-stdin >/dev/null
fi
exec /usr/sbin/mosquitto -c "$conf_dir/mosquitto.conf"
