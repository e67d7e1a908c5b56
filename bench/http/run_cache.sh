#!/usr/bin/env bash
# HTTP benchmark of the cache and the CRM outbox: leadscore serve with --cache none, local,
# redis (a throw-away redis-server) and with --crm-url (a local crm-receiver), wrk posting a
# 90%-repeated lead mix (bench/http/score_repeat.lua) at 16 connections.
# Usage: bench/http/run_cache.sh [build-dir] [seconds-per-run]; model: LEADSCORE_BENCH_MODEL
# (default: the e2e fixture build/tests/e2e/models/real_estate/latest).
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
secs="${2:-5}"
bin="$build/leadscore"
model="${LEADSCORE_BENCH_MODEL:-$build/tests/e2e/models/real_estate/latest}"
tmp="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

rport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
pids+=($!)
"$bin" crm-receiver --port 0 --secret bench-crm-secret --quiet >"$tmp/recv.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$tmp/recv.out" 2>/dev/null && break; sleep 0.05; done
crm_url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/recv.out")"
sleep 0.3

run() {
  local name="$1"; shift
  rm -rf "$tmp/data"
  LEADSCORE_API_KEYS="bench-key:score" LEADSCORE_CACHE_SECRET=bench-cache-secret \
    LEADSCORE_CRM_SECRET=bench-crm-secret "$bin" serve --model "$model" --port 0 --no-access-log \
    --data-dir "$tmp/data" "$@" >"$tmp/out" 2>"$tmp/log" &
  local pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$tmp/out" 2>/dev/null && break; sleep 0.05; done
  local url; url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/out")"
  LEADSCORE_KEY=bench-key wrk -t2 -c16 -d1s -s bench/http/score_repeat.lua "$url" >/dev/null
  printf "%-22s " "$name"
  LEADSCORE_KEY=bench-key wrk -t2 -c16 -d"${secs}s" -s bench/http/score_repeat.lua "$url" | grep RESULT
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "model: $(readlink -f "$model")  cores: $(nproc)"
run "cache=none" --cache none
run "cache=local" --cache local
run "cache=redis" --cache redis --redis "redis://127.0.0.1:$rport/0"
run "cache=two-level" --cache two-level --redis "redis://127.0.0.1:$rport/0"
run "cache=local+crm" --cache local --crm-url "$crm_url"
