#!/usr/bin/env bash
# Text encoder benchmark: leadscore's C++ MiniLM vs the plain-PyTorch reference, side by side.
# Installs Debian's python3-torch (large; benchmark-only, hence not in setup-deps.sh).
# Usage: bench/run_text_bench.sh [build-dir]   (synthetic weights; speed does not depend on values)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SHARED=${LEADSCORE_SHARED_DIR:-$(pwd)/../shared}

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "run_text_bench: installing python3-torch (benchmark only)" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
fi

cmake --build "$BUILD" --target text_bench >/dev/null
for t in 1 2; do
  echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), $t thread(s)"
  /usr/bin/python3 bench/minilm_torch_bench.py --shared "$SHARED" --threads "$t"
done
echo "== leadscore text_bench"
LEADSCORE_SHARED_DIR="$SHARED" "$BUILD"/bench/text_bench --benchmark_min_time=0.3 "$@"
