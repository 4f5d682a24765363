#!/usr/bin/env bash
# A local cluster on loopback (docs/SCALING.md): three nats-servers forming one JetStream cluster (the
# replicated log every node's changes go to before they are acknowledged) and N chat nodes, each stock
# /usr/sbin/mosquitto with the chat plugin, its own node_id and its own data folder. Everything lives
# under run/cluster/ (CLUSTER_DIR), runs in the background and is stopped by `stop`.
#   scripts/cluster.sh start [N]   set up, build, start 3 nats-servers and N chat nodes (default 3)
#   scripts/cluster.sh stop        stop them all (the data folders stay; `start` again resumes them)
#   scripts/cluster.sh status      what runs, and each node's addresses
# Ports: NATS clients 14221..14223 (routes 16221..16223); chat node i: MQTT 18830+i, WebSocket 18080+i,
# metrics 19880+i.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=$(realpath -m "${CLUSTER_DIR:-run/cluster}")
nats_servers=3

nats_url() { echo "nats://127.0.0.1:$((14220 + $1))"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_port() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "cluster: nothing listens on port $1 after 20 s; see $2" >&2
  return 1
}

start_nats() {
  local i=$1 d="$dir/nats-$1"
  mkdir -p "$d/jetstream"
  alive "$d/pid" && return 0
  {
    echo "server_name: n$i"
    echo "listen: 127.0.0.1:$((14220 + i))"
    echo "max_payload: 8MB"
    echo "jetstream { store_dir: \"$d/jetstream\" }"
    echo "cluster {"
    echo "  name: chatlog"
    echo "  listen: 127.0.0.1:$((16220 + i))"
    echo "  routes: ["
    for j in $(seq "$nats_servers"); do [ "$j" = "$i" ] || echo "    nats-route://127.0.0.1:$((16220 + j))"; done
    echo "  ]"
    echo "}"
  } > "$d/nats.conf"
  /usr/sbin/nats-server -c "$d/nats.conf" >> "$d/nats.log" 2>&1 &
  echo $! > "$d/pid"
}

start_node() {
  local i=$1 d="$dir/node-$1"
  mkdir -p "$d"
  alive "$d/pid" && return 0
  {
    echo "data_dir: data"
    echo "node_id: $i"
    echo "listeners: {address: 127.0.0.1, mqtt_port: $((18830 + i)), websockets_port: $((18080 + i))}"
    echo "metrics: {port: $((19880 + i))}"
    echo "cluster:"
    echo "  nats_servers:"
    for j in $(seq "$nats_servers"); do echo "    - $(nats_url "$j")"; done
  } > "$d/chat.yaml"
  if [ ! -s "$d/admin.password" ]; then
    (umask 077; openssl rand -hex 16 > "$d/admin.password")
    build/clients/chatctl/chatctl --config "$d/chat.yaml" user add admin --admin --password-stdin \
      < "$d/admin.password" > /dev/null
  fi
  scripts/write-mosquitto-conf.sh "$root/build/plugins/chat_plugin.so" "$d/chat.yaml" > "$d/mosquitto.conf"
  /usr/sbin/mosquitto -c "$d/mosquitto.conf" >> "$d/mosquitto.log" 2>&1 &
  echo $! > "$d/pid"
}

status() {
  for i in $(seq "$nats_servers"); do
    local state=stopped
    alive "$dir/nats-$i/pid" && state="running (pid $(cat "$dir/nats-$i/pid"))"
    echo "nats-server n$i  $(nats_url "$i")  $state"
  done
  for d in "$dir"/node-*; do
    [ -d "$d" ] || continue
    local i=${d##*node-} state=stopped
    alive "$d/pid" && state="running (pid $(cat "$d/pid"))"
    echo "chat node $i  mqtt://127.0.0.1:$((18830 + i))  ws://127.0.0.1:$((18080 + i))" \
      " metrics http://127.0.0.1:$((19880 + i))/metrics  admin password in $d/admin.password  $state"
  done
}

stop() {
  local pids=()
  for f in "$dir"/node-*/pid "$dir"/nats-*/pid; do
    [ -f "$f" ] && alive "$f" && pids+=("$(cat "$f")")
  done
  # Chat nodes first: they finish their appends to the log on SIGTERM.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$dir"/node-*/pid "$dir"/nats-*/pid
  echo "cluster: stopped"
}

case ${1:-} in
  start)
    nodes=${2:-3}
    [[ $nodes =~ ^[1-9][0-9]?$ ]] || { echo "usage: $0 start [N: 1..99 chat nodes]" >&2; exit 2; }
    scripts/setup.sh
    scripts/build.sh
    mkdir -p "$dir"
    for i in $(seq "$nats_servers"); do start_nats "$i"; done
    for i in $(seq "$nats_servers"); do wait_port $((14220 + i)) "$dir/nats-$i/nats.log"; done
    for i in $(seq "$nodes"); do start_node "$i"; done
    for i in $(seq "$nodes"); do wait_port $((18830 + i)) "$dir/node-$i/mosquitto.log"; done
    status
    ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [N] | stop | status" >&2; exit 2 ;;
esac
