#!/usr/bin/env bash
# A/B of the outbox append cost between two builds, interleaved so that a machine whose speed
# drifts during the run (other tenants, a build) biases neither side. Each round runs four
# fresh servers, one after the other, with the same wrk load as run_crm.sh (every lead
# consents; 2 s warm-up, then SECS measured):
#   base:A  no --crm-url        down:A  --crm-url to a closed port (every event appended, kept)
#   down:B                      base:B
# and prints each run, then per build the median over rounds of down / (mean of the round's
# two base runs).
# Usage: bench/http/ab_crm.sh BUILD_A BUILD_B [connections] [seconds] [rounds]
# LEADSCORE_BENCH_PIN=1 pins the server to CPU 0 and wrk (one thread) to CPU 1.
# Model: LEADSCORE_BENCH_MODEL, else a default model is trained under a temp dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: $0 BUILD_A BUILD_B [connections] [seconds] [rounds]" >&2; exit 2; }
build_a="$1" build_b="$2" c="${3:-16}" secs="${4:-5}" rounds="${5:-3}"
for b in "$build_a" "$build_b"; do
  [ -x "$b/leadscore" ] || { echo "no $b/leadscore" >&2; exit 2; }
done
bin="$build_a/leadscore"
tmp="$(mktemp -d)"
pid=""
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
source bench/http/bench_model.sh
bench_model "$tmp"
down_url="http://127.0.0.1:$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')/hook"
t=$(( c < 2 ? 1 : 2 ))
# LEADSCORE_BENCH_PIN=1: the server on CPU 0 and wrk on CPU 1 (less noise between runs: the
# server's capacity, its outbox threads included, is what the ratio then measures).
pin_server=() pin_wrk=()
if [ "${LEADSCORE_BENCH_PIN:-0}" = 1 ]; then
  pin_server=(taskset -c 0) pin_wrk=(taskset -c 1)
  t=1
fi
hz=$(getconf CLK_TCK)
echo "A: $build_a  B: $build_b  c=$c  ${secs}s x $rounds rounds  load: $(cut -d' ' -f1-3 /proc/loadavg)"

run() {  # build mode -> prints "rps cpu_us_per_request p99_us"
  local build="$1" mode="$2" flags=()
  [ "$mode" = base ] || flags=(--crm-url "$down_url")
  rm -rf "$tmp/data"
  LEADSCORE_CRM_SECRET=bench-crm-secret ${pin_server[@]+"${pin_server[@]}"} "$build/leadscore" serve --model "$model" --port 0 \
    --no-auth --no-access-log --cache none --data-dir "$tmp/data" "${flags[@]}" \
    >"$tmp/out" 2>"$tmp/log" &
  pid=$!
  local url=""
  for _ in $(seq 1200); do
    url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/out")
    [ -n "$url" ] && break
    sleep 0.05
  done
  [ -n "$url" ] || { echo "server did not start:" >&2; tail -5 "$tmp/log" >&2; exit 1; }
  BENCH_CONSENT=all ${pin_wrk[@]+"${pin_wrk[@]}"} wrk -t"$t" -c"$c" -d2s -s bench/http/score.lua "$url" >/dev/null
  local cpu0 cpu1 out
  cpu0=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
  out=$(BENCH_CONSENT=all ${pin_wrk[@]+"${pin_wrk[@]}"} wrk -t"$t" -c"$c" -d"${secs}s" -s bench/http/score.lua "$url" | grep RESULT)
  cpu1=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  awk -v o="$out" -v d=$((cpu1 - cpu0)) -v hz="$hz" 'BEGIN {
    match(o, /requests=[0-9]+/); n = substr(o, RSTART + 9, RLENGTH - 9);
    match(o, /rps=[0-9]+/); r = substr(o, RSTART + 4, RLENGTH - 4);
    match(o, /p99_us=[0-9]+/); p = substr(o, RSTART + 7, RLENGTH - 7);
    printf "%s %.1f %s\n", r, d * 1e6 / hz / n, p }'
}

ratios_a=() ratios_b=()
for r in $(seq "$rounds"); do
  read -r base_a cpu_base_a p99_base_a < <(run "$build_a" base)
  read -r down_a cpu_down_a p99_down_a < <(run "$build_a" down)
  read -r down_b cpu_down_b p99_down_b < <(run "$build_b" down)
  read -r base_b cpu_base_b p99_base_b < <(run "$build_b" base)
  base=$(( (base_a + base_b) / 2 ))
  ra=$(awk -v d="$down_a" -v b="$base" 'BEGIN {printf "%.3f", d / b}')
  rb=$(awk -v d="$down_b" -v b="$base" 'BEGIN {printf "%.3f", d / b}')
  ratios_a+=("$ra") ratios_b+=("$rb")
  printf "round %d  base A %s rps (%s us cpu/req, p99 %s us)  base B %s (%s, %s)\n" "$r" \
    "$base_a" "$cpu_base_a" "$p99_base_a" "$base_b" "$cpu_base_b" "$p99_base_b"
  printf "         down A %s rps x%s (%s us cpu/req, p99 %s us)  down B %s x%s (%s, %s)\n" \
    "$down_a" "$ra" "$cpu_down_a" "$p99_down_a" "$down_b" "$rb" "$cpu_down_b" "$p99_down_b"
done
median() { printf "%s\n" "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "RESULT c=$c down/base median: A x$(median "${ratios_a[@]}")  B x$(median "${ratios_b[@]}")  load: $(cut -d' ' -f1-3 /proc/loadavg)"
