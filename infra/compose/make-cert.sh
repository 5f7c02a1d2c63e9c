#!/usr/bin/env bash
# Local set-up for infra/compose/compose.yaml, done once: a self-signed TLS certificate for
# localhost and 127.0.0.1 (certs/pan.crt, certs/pan.key: the names infra/nginx/pan.conf expects)
# and a .env with a random JWT_SECRET. Existing files are kept, so running it again is harmless.
#
#   infra/compose/make-cert.sh [DIR]    (default: infra/compose, next to compose.yaml)
#
# Clients trust the certificate instead of skipping verification:
#   curl --cacert infra/compose/certs/pan.crt https://localhost:8443/readyz
set -euo pipefail

dir=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$dir/certs"

if [ -s "$dir/certs/pan.crt" ] && [ -s "$dir/certs/pan.key" ]; then
  echo "kept $dir/certs/pan.crt"
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$dir/certs/pan.key" -out "$dir/certs/pan.crt" 2>/dev/null
  chmod 600 "$dir/certs/pan.key"
  echo "wrote $dir/certs/pan.crt (self-signed, localhost and 127.0.0.1, valid 365 days)"
fi

if [ -f "$dir/.env" ] && grep -q '^JWT_SECRET=' "$dir/.env"; then
  echo "kept JWT_SECRET in $dir/.env"
else
  umask 077
  echo "JWT_SECRET=$(openssl rand -hex 32)" >> "$dir/.env"
  echo "wrote a random JWT_SECRET into $dir/.env"
fi
