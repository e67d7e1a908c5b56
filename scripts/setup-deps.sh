#!/usr/bin/env bash
# Installs everything leadscore needs on a fresh Debian 12 machine. Idempotent.
# Only Debian packages (apt) and npm packages (for the docs UI and browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries (see shared/DESIGN.md, "Chosen dependencies")
  libboost-dev libsimdjson-dev libexpected-dev libxgboost-dev
  libopenblas-dev libutf8proc-dev libhiredis-dev libsqlite3-dev sqlite3
  libcurl4-openssl-dev libssl-dev libcli11-dev libfmt-dev libspdlog-dev
  libgoogle-perftools-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev redis-server wrk curl
  python3 python3-xgboost python3-numpy
  # docs UI and browser tests
  chromium
)
# Node.js: this image's nodejs ships npm itself (and conflicts with Debian's npm);
# a plain Debian 12 needs both packages.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Redis is started by the tests themselves on ephemeral ports; keep the packaged
# service from holding 6379 where systemd is present (no-op in containers).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

# npm packages (served from disk: Swagger UI; browser tests drive Debian's chromium).
if [ -f package.json ] && { [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
fi
echo "setup-deps: ok" >&2
