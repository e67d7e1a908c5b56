#!/usr/bin/env bash
# The main job on embedded defaults: install dependencies, build in Release, generate the
# default synthetic data set, train the default model and serve it over HTTP (URL of /docs
# printed at startup). Outputs go to data/ and models/
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
# Serve it (prints the URL of /docs; Ctrl-C stops it). --no-auth: a local demo on loopback
# only; production sets LEADSCORE_API_KEYS (docs/HTTP.md). LEADSCORE_DEMO_SERVE=0 skips this.
if [ "${LEADSCORE_DEMO_SERVE:-1}" != "0" ]; then
  exec build/leadscore serve --model models/latest --bind 127.0.0.1 --port "${LEADSCORE_PORT:-8000}" --no-auth
fi
