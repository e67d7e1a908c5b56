#!/usr/bin/env bash
# The main job on embedded defaults: install dependencies, build in Release, generate the
# default synthetic data set and train the default model. Outputs go to data/ and models/
# (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
scripts/build.sh build
mkdir -p data
build/leadscore generate --rows 1000 --seed 42 --out data/leads.csv --report
# Train the default model into models/<version>/ (models/latest points at it); --force so a
# re-run with the same data and seed (hence the same version) replaces it.
build/leadscore train --data data/leads.csv --schema schemas/real_estate.json --out models --force
