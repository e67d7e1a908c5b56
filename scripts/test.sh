#!/usr/bin/env bash
# Runs every test: installs dependencies, builds with warnings as errors, runs unit and
# integration tests (integration tests start and stop their own servers: leadscore,
# redis-server, CRM receivers), then the unit tests again under ASan+UBSan.
# LEADSCORE_SKIP_SANITIZE=1 skips the sanitizer pass (for quick local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
jobs="$(nproc)"

echo "== build (Release, -Werror)" >&2
scripts/build.sh build -DLEADSCORE_WERROR=ON
echo "== tests" >&2
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900

if [ "${LEADSCORE_SKIP_SANITIZE:-0}" != "1" ]; then
  echo "== unit tests under ASan+UBSan" >&2
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEADSCORE_WERROR=ON \
    -DLEADSCORE_SANITIZE=ON -DLEADSCORE_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j"$jobs" --target unit_tests
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit --timeout 900
fi
