#!/usr/bin/env bash
# Installs every Debian package the chat server needs to build, run and test. Idempotent: when all
# packages are present it changes nothing and touches no network.
#   --web            also Node.js and the web client's npm packages (clients/web, from its lock file)
#   --browser-tests  also Debian's chromium and the browser tests' npm packages (tests/web)
#   --bench          also gnuplot (the benchmark's plot) and linux-perf (profiles)
set -euo pipefail
cd "$(dirname "$0")/.."

web=false
browser_tests=false
bench=false
for arg in "$@"; do
  case $arg in
    --web) web=true ;;
    --browser-tests) web=true; browser_tests=true ;;
    --bench) bench=true ;;
    *) echo "usage: $0 [--web] [--browser-tests] [--bench]" >&2; exit 2 ;;
  esac
done

packages=(
  # build
  cmake g++ make pkg-config
  # the broker and its plugin API
  mosquitto mosquitto-dev libmosquitto-dev mosquitto-clients
  # libraries
  libpaho-mqttpp-dev libpaho-mqtt-dev librocksdb-dev libyaml-cpp-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libcli11-dev
  # search: Unicode properties and normalization (case folding, accents, scripts)
  libicu-dev
  # the push bridge: HTTPS to providers (libcurl, OpenSSL flavour), its /metrics endpoint and the tests'
  # fake provider (cpp-httplib)
  libcurl4-openssl-dev libcpp-httplib-dev
  # a cluster node's replicated log: the NATS C client, and nats-server for the cluster script and tests
  # (docs/SCALING.md; a single server uses neither)
  libnats-dev nats-server
  # tests
  googletest libgtest-dev libgmock-dev
  # the fuzz targets (scripts/fuzz.sh): clang, its libFuzzer and sanitizer runtimes (only recommended by
  # clang, so named here), llvm-symbolizer for readable crash reports
  clang libclang-rt-14-dev llvm
  # misc tools used by the scripts
  openssl iproute2 procps
)

# Node.js runs the web client's file server and the browser tests. A machine may have it from elsewhere
# (NodeSource); only when it has none do Debian's nodejs (18) and npm come in.
if $web; then
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
# The browser tests drive Debian's chromium; the emoji font is for the messages in their screenshots.
if $browser_tests; then packages+=(chromium fonts-dejavu-core fonts-noto-color-emoji); fi
if $bench; then packages+=(gnuplot-nox fonts-dejavu-core linux-perf); fi

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

# npm packages exactly as locked, installed again only when the lock file changed.
npm_ci() {
  local dir=$1
  cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-package-lock.json" && return
  echo "setup: npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  cp "$dir/package-lock.json" "$dir/node_modules/.installed-package-lock.json"
}
if $web; then npm_ci clients/web; fi
if $browser_tests; then npm_ci tests/web; fi
