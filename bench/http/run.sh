#!/usr/bin/env bash
# HTTP benchmark: leadscore serve (real model, cache off) + wrk posting varied leads to
# /v1/score at 1, 16 and 64 connections, then the server time of 1,000-lead batches.
# Usage: bench/http/run.sh [build-dir] [seconds-per-run]
# Trains a small default model under a temp dir unless LEADSCORE_BENCH_MODEL is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
secs="${2:-8}"
bin="$build/leadscore"
tmp="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

source bench/http/bench_model.sh
bench_model "$tmp"

LEADSCORE_API_KEYS="bench-key:score" "$bin" serve --model "$model" --port 0 --no-access-log --cache none \
  --max-body-bytes $((8 << 20)) >"$tmp/out" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/out" 2>/dev/null && break; sleep 0.05; done
url="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/out")"
echo "server: $url  model: $(readlink -f "$model")  cores: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)"

# The HTTP stack alone (routing, auth-free GET, metrics, response): GET /healthz.
printf "healthz c=64    "
wrk -t2 -c64 -d"${secs}s" "$url/healthz" | awk '/Requests\/sec/ {print "rps=" $2}'

for c in 1 16 64; do
  t=$(( c < 2 ? 1 : 2 ))
  # warm-up, then the measured run
  LEADSCORE_KEY=bench-key wrk -t"$t" -c"$c" -d2s -s bench/http/score.lua "$url" >/dev/null
  printf "connections=%-3s " "$c"
  LEADSCORE_KEY=bench-key wrk -t"$t" -c"$c" -d"${secs}s" -s bench/http/score.lua "$url" | grep RESULT
done

# Batch of 1,000 leads: server time from the server's own request histogram (access log off).
/usr/bin/python3 - "$url" <<'PY'
import http.client, json, random, re, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
rng = random.Random(1)
def lead(i):
    return {"lead_id": "B-%d" % i, "source": rng.choice(["99acres", "MagicBricks", "NoBroker"]),
            "city": rng.choice(["Mumbai", "Pune", "Bengaluru"]), "bhk": rng.randint(1, 4),
            "budget_lakh": rng.choice(["90L", "1.2 cr", 75]), "loan_preapproved": rng.random() < 0.5,
            "site_visit_scheduled": rng.random() < 0.3, "calls_attempted": rng.randint(0, 9),
            "calls_answered": rng.randint(0, 3), "page_views": rng.randint(1, 90),
            "days_since_enquiry": rng.randint(0, 60), "consent": True}
body = json.dumps({"leads": [lead(i) for i in range(1000)]})
conn = http.client.HTTPConnection(u.hostname, u.port)
hdr = {"Content-Type": "application/json", "Authorization": "Bearer bench-key"}
def scrape():
    conn.request("GET", "/metrics"); text = conn.getresponse().read().decode()
    s = float(re.search(r'leadscore_http_request_duration_seconds_sum\{route="/v1/score"\} (\S+)', text).group(1))
    n = int(re.search(r'leadscore_http_request_duration_seconds_count\{route="/v1/score"\} (\S+)', text).group(1))
    return s, n
walls = []
for i in range(25):
    if i == 5: s0, n0 = scrape()
    t = time.perf_counter(); conn.request("POST", "/v1/score", body, hdr); r = conn.getresponse(); r.read()
    assert r.status == 200
    if i >= 5: walls.append(time.perf_counter() - t)
s1, n1 = scrape()
walls.sort()
print("batch1000: server_mean_ms=%.2f client_p50_ms=%.2f (20 requests, %d bytes body)" % (
    (s1 - s0) / (n1 - n0) * 1e3, walls[len(walls) // 2] * 1e3, len(body)))
PY
