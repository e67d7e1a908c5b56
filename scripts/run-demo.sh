#!/usr/bin/env bash
# The main job on embedded defaults: install dependencies, build in Release, generate the
# default synthetic data set. Outputs go to data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
scripts/build.sh build
mkdir -p data
build/leadscore generate --rows 1000 --seed 42 --out data/leads.csv --report
