// Scorer::score (forest margin + calibration + grade + percentile + top-3 TreeSHAP reasons)
// against the bare forest margin it builds on, on a model trained here on 10k generated
// real-estate leads. Results: docs/BENCHMARKS.md, section "model".
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/data.h"
#include "model/model.h"
#include "bench/trained_model.h"

namespace {

namespace fs = std::filesystem;

struct Fixture {
  std::shared_ptr<const model::Scorer> scorer;
  model::Dataset data;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    const fs::path dir = bench::temp_work_dir("model_bench");
    auto trained = bench::train_default_model(10000, dir);
    auto s = model::Scorer::load(trained.dir);
    if (!s) std::abort();
    out.scorer = *s;
    out.data = std::move(trained.data);
    fs::remove_all(dir);
    return out;
  }();
  return f;
}

void BM_ForestMargin(benchmark::State& state) {
  const auto& f = fixture();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.scorer->forest().predict_margin({f.data.x.row(i), f.data.x.cols}));
    i = (i + 1) % f.data.x.rows;
  }
  state.counters["trees"] = static_cast<double>(f.scorer->forest().num_trees());
}
BENCHMARK(BM_ForestMargin);

void BM_ScoreWithReasons(benchmark::State& state) {
  const auto& f = fixture();
  model::ScoreResult r;
  size_t i = 0;
  for (auto _ : state) {
    f.scorer->score_row({f.data.x.row(i), f.data.x.cols}, r);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % f.data.x.rows;
  }
}
BENCHMARK(BM_ScoreWithReasons);

void BM_ScoreNoReasons(benchmark::State& state) {
  const auto& f = fixture();
  model::ScoreResult r;
  size_t i = 0;
  for (auto _ : state) {
    f.scorer->score_row({f.data.x.row(i), f.data.x.cols}, r, false);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % f.data.x.rows;
  }
}
BENCHMARK(BM_ScoreNoReasons);

void BM_ReasonText(benchmark::State& state) {
  const auto& f = fixture();
  model::ScoreResult r;
  f.scorer->score_row({f.data.x.row(0), f.data.x.cols}, r);
  for (auto _ : state) {
    for (int k = 0; k < r.n_reasons; ++k) {
      benchmark::DoNotOptimize(model::reason_text(*f.scorer, r.reasons[k]));
    }
  }
}
BENCHMARK(BM_ReasonText);

}  // namespace

BENCHMARK_MAIN();
