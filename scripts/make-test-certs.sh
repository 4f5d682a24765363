#!/usr/bin/env bash
# Makes a local certificate authority and, signed by it, a server certificate for localhost/127.0.0.1 and
# a client certificate, for trying and testing the TLS listeners (never for production):
#   scripts/make-test-certs.sh DIR [SERVER_NAME]
# Writes DIR/ca.crt, ca.key, server.crt, server.key, client.crt, client.key (keys readable by the owner only).
# SERVER_NAME (default localhost) is added to the server certificate's names besides 127.0.0.1 and ::1.
set -euo pipefail
dir=${1:?usage: make-test-certs.sh DIR [SERVER_NAME]}
name=${2:-localhost}
mkdir -p "$dir"
cd "$dir"
umask 077
days=825
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
  -days "$days" -subj "/CN=chat test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
sign() {  # sign NAME SUBJECT EXTENSIONS
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -out "$1.crt" \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
# An address goes in as an IP name, anything else as a DNS name.
if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san="IP:$name"; else san="DNS:$name"; fi
sign server "/CN=$name" "subjectAltName=$san,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
sign client "/CN=chat test client" "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
rm -f ca.srl
chmod 644 ca.crt server.crt client.crt
echo "make-test-certs: CA, server and client certificates in $dir"
