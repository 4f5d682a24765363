#!/usr/bin/env bash
# Installs the chat server as a systemd service (systemd/chat.service), as root:
#   scripts/install-service.sh
# Sets up and builds (scripts/setup.sh, scripts/build.sh), then installs the plugin, chatctl and the
# push bridge under /usr/lib/chat and /usr/bin, creates the system account `chat`, the data folder
# /var/lib/chat (0700) and, unless they exist, /etc/chat/chat.yaml (config/chat.yaml with its data in
# /var/lib/chat/db) and the admin account (password in /etc/chat/admin.password, root only). Enables and
# starts the service when systemd runs; otherwise says how to start it. Running it again upgrades the
# binaries and keeps the config, the data and the accounts.
#   DESTDIR: install into this root instead of / (nothing is started then).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${DESTDIR:-}
if [ -z "$root" ]; then
  scripts/setup.sh
  scripts/build.sh
fi
install -D -m 0644 build/plugins/chat_plugin.so "$root/usr/lib/chat/chat_plugin.so"
install -D -m 0755 build/clients/chatctl/chatctl "$root/usr/bin/chatctl"
install -D -m 0755 build/bridge/push-bridge "$root/usr/bin/push-bridge"
install -D -m 0644 config/mosquitto.conf.in "$root/usr/lib/chat/config/mosquitto.conf.in"
install -D -m 0755 scripts/write-mosquitto-conf.sh "$root/usr/lib/chat/scripts/write-mosquitto-conf.sh"
install -D -m 0644 systemd/chat.service "$root/lib/systemd/system/chat.service"
install -D -m 0644 README.md "$root/usr/share/doc/chat/README.md"
install -D -m 0644 docs/PROTOCOL.md "$root/usr/share/doc/chat/PROTOCOL.md"
if [ ! -e "$root/etc/chat/chat.yaml" ]; then
  install -d -m 0755 "$root/etc/chat"
  sed 's|^data_dir: .*|data_dir: /var/lib/chat/db|' config/chat.yaml > "$root/etc/chat/chat.yaml"
  chmod 0644 "$root/etc/chat/chat.yaml"
fi
chatctl=$root/usr/bin/chatctl
"$chatctl" config check "$root/etc/chat/chat.yaml" >/dev/null
[ -n "$root" ] && { echo "install-service: installed into $root"; exit 0; }

id chat >/dev/null 2>&1 || useradd --system --home-dir /var/lib/chat --no-create-home --shell /usr/sbin/nologin chat
install -d -m 0700 -o chat -g chat /var/lib/chat
if [ ! -s /etc/chat/admin.password ]; then
  ( umask 077; openssl rand -hex 16 > /etc/chat/admin.password.new )
  # As the service's account, so every database file stays writable by the broker.
  runuser -u chat -- "$chatctl" --config /etc/chat/chat.yaml user add admin --admin --password-stdin \
    < /etc/chat/admin.password.new >/dev/null
  mv /etc/chat/admin.password.new /etc/chat/admin.password
  echo "install-service: created account 'admin' (password in /etc/chat/admin.password)"
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now chat.service
  systemctl --no-pager status chat.service | head -5
else
  echo "install-service: systemd is not running here; start it with: systemctl enable --now chat"
fi
