#!/usr/bin/env bash
# Training time at issue 3's size: 100,000 rows x 30 features on this machine's cores.
# The real-estate generator has 23 features, so 7 numeric columns (Gaussian noise, 10 % empty)
# are appended to its CSV and to a copy of its schema; then `leadscore train` runs with its
# defaults and /usr/bin/time reports wall time, CPU and peak RSS (CSV parsing included).
# Usage: bench/train_time.sh [build-dir] [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}" rows="${2:-100000}"
[ -x "$build/leadscore" ] || { echo "no $build/leadscore (build first)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$build/leadscore" generate --rows "$rows" --seed 42 --out "$tmp/leads.csv" --quiet
/usr/bin/python3 - "$tmp" <<'EOF'
import csv, json, random, sys
tmp = sys.argv[1]
schema = json.load(open("schemas/real_estate.json"))
extra = ["noise_%d" % i for i in range(1, 8)]
schema["name"] = "real_estate_30"
schema["fields"] += [{"name": n, "type": "number", "role": "feature",
                      "description": "benchmark-only noise column"} for n in extra]
json.dump(schema, open(tmp + "/schema.json", "w"))
rnd = random.Random(7)
with open(tmp + "/leads.csv", newline="") as fi, open(tmp + "/leads30.csv", "w", newline="") as fo:
    r, w = csv.reader(fi), csv.writer(fo)
    w.writerow(next(r) + extra)
    for row in r:
        w.writerow(row + ["%.4f" % rnd.gauss(0, 1) if rnd.random() > 0.1 else "" for _ in extra])
EOF
features=$(/usr/bin/python3 -c 'import json,sys; print(sum(f["role"] == "feature" for f in json.load(open(sys.argv[1]))["fields"]))' "$tmp/schema.json")
echo "train_time: $rows rows x $features features, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "RESULT wall_s=%e user_s=%U sys_s=%S max_rss_kb=%M" \
  "$build/leadscore" train --data "$tmp/leads30.csv" --schema "$tmp/schema.json" --out "$tmp/models" 2>&1 |
  grep -v '^round'
