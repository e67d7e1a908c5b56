#!/usr/bin/env bash
# Text encoder benchmark: leadscore's C++ MiniLM vs the plain-PyTorch reference
# (reference_minilm.py), same shapes and thread counts, side by side in one run; prints a
# markdown table with the ratios, and the encoder once more with LEADSCORE_TEXT_NO_AMX=1 (the
# fp32 AVX-512 path). Synthetic weights: speed does not depend on the values. On AMX the % of
# peak counts fp32-equivalent FLOP (2 n k per output, not the bf16 piece products behind it).
# Installs Debian's python3-torch (large; benchmark-only, hence not in scripts/setup-deps.sh).
# Usage: bench/run_text_bench.sh [build-dir]     (env: LEADSCORE_SHARED_DIR, default ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SHARED=${LEADSCORE_SHARED_DIR:-$(pwd)/../shared}
OUT=${TEXT_BENCH_OUT:-$(mktemp -d)}  # raw outputs (kept when TEXT_BENCH_OUT is set)
mkdir -p "$OUT"
[ -n "${TEXT_BENCH_OUT:-}" ] || trap 'rm -rf "$OUT"' EXIT

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "run_text_bench: installing python3-torch (benchmark only)" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
fi
cmake --build "$BUILD" --target text_bench >/dev/null

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for t in 1 2; do
  echo "run_text_bench: $t thread(s): PyTorch, then leadscore" >&2
  # torch.set_num_threads only sets the OpenMP pool; Debian's torch runs nn.Linear through
  # OpenBLAS (pthread build), which otherwise starts one thread per core on its own.
  OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t \
    /usr/bin/python3 bench/minilm_torch_bench.py --shared "$SHARED" --threads "$t" > "$OUT/torch_$t.txt"
  "$BUILD"/bench/text_bench --benchmark_min_time=0.3 --benchmark_filter="threads:$t/" \
    --benchmark_format=json > "$OUT/ours_$t.json" 2> "$OUT/peak_$t.txt"
  # The same encoder with the AMX path off (fp32 AVX-512 kernel): what AMX adds, same session.
  LEADSCORE_TEXT_NO_AMX=1 "$BUILD"/bench/text_bench --benchmark_min_time=0.3 --benchmark_filter="threads:$t/" \
    --benchmark_format=json > "$OUT/fp32_$t.json" 2> /dev/null
done

echo "load average before / after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$OUT" <<'PY'
import json, re, sys, glob, os
out = sys.argv[1]
torch = {}
for f in glob.glob(os.path.join(out, "torch_*.txt")):
    for line in open(f):
        d = dict(kv.split("=") for kv in line.split()[1:])
        torch[(int(d["tokens"]), int(d["batch"]), int(d["threads"]))] = (float(d["sent/s"]), float(d["sent/cpu-s"]))
def load(prefix):
    res = {}
    for f in glob.glob(os.path.join(out, prefix + "_*.json")):
        for b in json.load(open(f))["benchmarks"]:
            m = re.search(r"tokens:(\d+)/batch:(\d+)/threads:(\d+)", b["name"])
            key = tuple(int(x) for x in m.groups())
            res[key] = (b["sent/s"], b["sent/cpu-s"], b.get("%peak", float("nan")))
    return res
ours, fp32 = load("ours"), load("fp32")
print([l for l in open(os.path.join(out, "peak_1.txt")) if "peak" in l][0].strip())
print()
print("| tokens | batch | threads | PyTorch sent/s | leadscore sent/s | ratio | PyTorch sent/CPU-s | leadscore sent/CPU-s | ratio (CPU) | leadscore % of 1-core FMA peak | AMX off: sent/CPU-s | AMX off: % of peak |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for key in sorted(ours):
    if key not in torch:
        continue
    t, o = torch[key], ours[key]
    f = fp32.get(key, (float("nan"),) * 3)
    print(f"| {key[0]} | {key[1]} | {key[2]} | {t[0]:.1f} | {o[0]:.1f} | {o[0] / t[0]:.2f}x | "
          f"{t[1]:.1f} | {o[1]:.1f} | {o[1] / t[1]:.2f}x | {o[2]:.0f}% | {f[1]:.1f} | {f[2]:.0f}% |")
PY
