#!/usr/bin/env bash
# HTTP benchmark of the CRM outbox: the same wrk load (bench/http/score.lua, every lead with
# consent: true) against three fresh servers per connection count, in one run:
#   base  no --crm-url (reference)
#   down  --crm-url to a closed port: every append is committed, deliveries fail fast and back
#         off (append cost + retry bookkeeping, no HTTP delivery work)
#   up    --crm-url to a local `leadscore crm-receiver`: append + live delivery, with the
#         receiver process competing for the same cores
# Prints throughput, latency, the ratio to base, and the server's CPU time per scored lead
# (utime+stime of the whole process / requests; per thread: leadscore = io threads, which also
# append to the outbox's event log, ls-outbox = the outbox writer (acks, dead letters, group
# syncs with --crm-sync-full), ls-deliver = the libcurl deliverer) and the receiver's.
# Usage: bench/http/run_crm.sh [build-dir] [seconds-per-run] [connection counts...]
# Model: LEADSCORE_BENCH_MODEL, else a default model is trained under a temp dir.
# Extra serve flags for the crm servers: CRM_SERVE_FLAGS (e.g. "--crm-batch-delay-us 500").
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
secs="${2:-8}"
shift $(( $# > 2 ? 2 : $# ))
conns=("$@")
[ ${#conns[@]} -gt 0 ] || conns=(1 16 64)
bin="$build/leadscore"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

source bench/http/bench_model.sh
bench_model "$tmp"

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_url() {  # file -> url printed by "listening on" (up to 60 s: startup fsyncs can stall
  # behind other builds' disk I/O on a shared machine)
  for _ in $(seq 1200); do grep -q "listening on" "$1" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$1"
}
# CPU ticks per thread name of a process: "name ticks" lines.
cpu_by_thread() {
  for f in /proc/"$1"/task/*/stat; do
    sed -E 's/^[0-9]+ \(([^)]*)\) [A-Za-z] (([^ ]+ ){10})([0-9]+) ([0-9]+).*/\1 \4 \5/' "$f" 2>/dev/null
  done | awk '{t[$1] += $2 + $3} END {for (k in t) print k, t[k]}'
}
cpu_total() { awk '{print $14 + $15}' /proc/"$1"/stat; }
# Outbox counters from /metrics: "appends commits append_cpu_s delivery_cpu_s delivered"
# (0s without CRM).
outbox_counters() {
  curl -s "$1/metrics" | awk '
    /^leadscore_crm_outbox_appends_total / {a = $2}
    /^leadscore_crm_outbox_commits_total / {c = $2}
    /^leadscore_crm_outbox_writer_cpu_seconds_total\{work="append"\}/ {ca = $2}
    /^leadscore_crm_outbox_writer_cpu_seconds_total\{work="delivery"\}/ {cd = $2}
    /^leadscore_crm_deliveries_total\{outcome="delivered"\}/ {dv = $2}
    END {printf "%d %d %.6f %.6f %d\n", a, c, ca, cd, dv}'
}

"$bin" crm-receiver --port 0 --secret bench-crm-secret --quiet >"$tmp/recv.out" 2>&1 &
recv_pid=$!
pids+=("$recv_pid")
up_url="$(wait_url "$tmp/recv.out")/hook"
down_url="http://127.0.0.1:$(free_port)/hook"  # nothing listens there

hz=$(getconf CLK_TCK)
echo "model: $(readlink -f "$model")  cores: $(nproc)  secs: $secs  load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "extra crm flags: ${CRM_SERVE_FLAGS:-none}"

declare -A rps
run() {  # name connections [serve flags...]
  local name="$1" c="$2"; shift 2
  local t=$(( c < 2 ? 1 : 2 ))
  rm -rf "$tmp/data"
  LEADSCORE_CRM_SECRET=bench-crm-secret "$bin" serve --model "$model" --port 0 --no-auth \
    --no-access-log --cache none --data-dir "$tmp/data" "$@" >"$tmp/out" 2>"$tmp/log" &
  local pid=$!
  pids+=("$pid")
  local url; url="$(wait_url "$tmp/out")"
  if [ -z "$url" ]; then echo "server did not start ($name c=$c):"; tail -5 "$tmp/log"; exit 1; fi
  BENCH_CONSENT=all wrk -t"$t" -c"$c" -d2s -s bench/http/score.lua "$url" >/dev/null
  local cpu0 rcpu0 th0; cpu0=$(cpu_total "$pid"); rcpu0=$(cpu_total "$recv_pid")
  th0="$(cpu_by_thread "$pid")"
  local ob0; ob0=$(outbox_counters "$url")
  local out; out="$(BENCH_CONSENT=all wrk -t"$t" -c"$c" -d"${secs}s" -s bench/http/score.lua "$url" | grep RESULT)"
  local cpu1 rcpu1 th1; cpu1=$(cpu_total "$pid"); rcpu1=$(cpu_total "$recv_pid")
  th1="$(cpu_by_thread "$pid")"
  local ob1; ob1=$(outbox_counters "$url")
  # events per group commit, writer-thread CPU µs per appended event (append work only)
  local obs
  obs=$(awk -v a="$ob0" -v b="$ob1" -v secs="$secs" 'BEGIN {split(a, x, " "); split(b, y, " ");
    n = y[1] - x[1]; c = y[2] - x[2];
    if (n > 0) printf "ev/commit=%.1f writer_append_us/ev=%.1f ", n / c, (y[3] - x[3]) * 1e6 / n;
    printf "delivered/s=%.0f", (y[5] - x[5]) / secs}')
  local n r; n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out"); r=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$out")
  local p50 p99; p50=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$out"); p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$out")
  local bad; bad=$(sed -n 's/.*non2xx=\([0-9]*\) errors=\([0-9]*\).*/\1+\2/p' <<<"$out")
  rps[$name/$c]=$r
  local ratio="1.000"
  [ "$name" = base ] || ratio=$(awk -v a="$r" -v b="${rps[base/$c]}" 'BEGIN {printf "%.3f", a / b}')
  local per_thread
  per_thread=$(join -a2 -e0 -o 0,1.2,2.2 <(sort <<<"$th0") <(sort <<<"$th1") |
    awk -v n="$n" -v hz="$hz" '{d = $3 - $2; if (d > 0) printf "%s=%.1f ", $1, d * 1e6 / hz / n}')
  local depth
  depth=$(curl -s "$url/metrics" | sed -n 's/^leadscore_crm_outbox_depth \(.*\)/\1/p')
  printf "%-5s c=%-3s rps=%-6s x%-6s p50_us=%-6s p99_us=%-7s err=%-4s cpu_us/req=%-6s recv_us/req=%-5s depth=%-7s [%s] %s\n" \
    "$name" "$c" "$r" "$ratio" "$p50" "$p99" "$bad" \
    "$(awk -v d=$((cpu1 - cpu0)) -v n="$n" -v hz="$hz" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')" \
    "$(awk -v d=$((rcpu1 - rcpu0)) -v n="$n" -v hz="$hz" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')" \
    "${depth:--}" "$per_thread" "$obs"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2086
for c in "${conns[@]}"; do
  run base "$c"
  run down "$c" --crm-url "$down_url" ${CRM_SERVE_FLAGS:-}
  run up "$c" --crm-url "$up_url" ${CRM_SERVE_FLAGS:-}
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
