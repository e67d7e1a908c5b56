#!/usr/bin/env bash
# The main job on embedded defaults: install dependencies, build in Release, generate the
# default synthetic data set, train the default model, start a demo CRM webhook receiver and
# serve the model over HTTP (URL of /docs printed at startup). Outputs go to data/, models/
# and var/ (git-ignored). Ctrl-C stops the server and the receiver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
scripts/build.sh build
mkdir -p data var
build/leadscore generate --rows 1000 --seed 42 --out data/leads.csv --report
# Train the default model into models/<version>/ (models/latest points at it); --force so a
# re-run with the same data and seed (hence the same version) replaces it.
build/leadscore train --data data/leads.csv --schema schemas/real_estate.json --out models --force
# LEADSCORE_DEMO_SERVE=0 stops here (CI and scripted checks).
[ "${LEADSCORE_DEMO_SERVE:-1}" != "0" ] || exit 0

# A local CRM webhook receiver: verifies each push's signature and prints one line per score
# (docs/CRM.md). The secret is a demo value; production sets its own.
export LEADSCORE_CRM_SECRET="${LEADSCORE_CRM_SECRET:-leadscore-demo-secret}"
crm_port="${LEADSCORE_CRM_PORT:-8090}"
build/leadscore crm-receiver --port "$crm_port" --store var/crm-received.jsonl &
receiver=$!
trap 'kill "$receiver" 2>/dev/null || true' EXIT

# Serve it. --no-auth: a local demo on loopback only; production sets LEADSCORE_API_KEYS
# (docs/HTTP.md). Scored leads with consent: true are pushed to the receiver above.
echo "leadscore demo: console at http://127.0.0.1:${LEADSCORE_PORT:-8000}/ ; scores pushed to the CRM receiver print below"
build/leadscore serve --model models/latest --bind 127.0.0.1 --port "${LEADSCORE_PORT:-8000}" \
  --no-auth --data-dir var --crm-url "http://127.0.0.1:${crm_port}/"
