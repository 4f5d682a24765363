#!/usr/bin/env bash
# Installs every Debian package the chat server needs to build, run and test. Idempotent: when all
# packages are present it changes nothing and touches no network.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config
  # the broker and its plugin API
  mosquitto mosquitto-dev libmosquitto-dev mosquitto-clients
  # libraries
  libpaho-mqttpp-dev libpaho-mqtt-dev librocksdb-dev libyaml-cpp-dev libssl-dev nlohmann-json3-dev libcli11-dev
  # the push bridge: HTTPS to providers (libcurl, OpenSSL flavour), its /metrics endpoint and the tests'
  # fake provider (cpp-httplib)
  libcurl4-openssl-dev libcpp-httplib-dev
  # tests
  googletest libgtest-dev libgmock-dev
  # misc tools used by the scripts
  openssl iproute2 procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian package may start its own broker on 1883 (where an init system runs); ours needs the port.
if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
