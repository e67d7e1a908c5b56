# Sourced by the bench/http scripts: sets $model to LEADSCORE_BENCH_MODEL, or trains the default
# benchmark model (20,000 generated leads, schemas/real_estate.json) under the temp dir $1.
# Needs $bin (the leadscore binary).
bench_model() {
  model="${LEADSCORE_BENCH_MODEL:-}"
  [ -z "$model" ] || return 0
  "$bin" generate --rows 20000 --seed 42 --out "$1/leads.csv" >/dev/null
  "$bin" train --data "$1/leads.csv" --schema schemas/real_estate.json --out "$1/models" >/dev/null
  rm -f "$1/leads.csv"
  model="$1/models/latest"
}
