// forest vs XGBoost 1.7 (C API), measured side by side in one run, on two models:
//  - "default": the model README command 1 produces (1,000 generated real-estate leads,
//    `leadscore train` defaults), trained here through the model module;
//  - "large": 36 features of which 8 categorical, depth 6, 300 trees, binary:logistic,
//    trained here via the C API (a stress case: 4-5x the default's nodes).
// Prints the ratios (XGBoost time / ours) after the runs.
//
//   build/bench/forest_bench [--benchmark_min_time=0.2]

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <benchmark/benchmark.h>

#include "data/data.h"
#include "forest/forest.h"
#include "model/model.h"
#include "bench/trained_model.h"
#include "tests/forest/xgb_oracle.h"

namespace {

constexpr std::size_t kCols = 36;
constexpr std::size_t kCatCols = 8;
constexpr std::size_t kBatchRows = 100000;

struct Fixture {
  xgb_oracle::Dataset data;
  std::unique_ptr<xgb_oracle::Booster> booster;
  std::shared_ptr<const forest::Forest> perfect, flat, quick;
  std::vector<float> rows;  // kBatchRows probe rows with missing values
};

// Never destroyed: XGBoost's own globals may be gone by static-destruction time.
Fixture& fixture() {
  static Fixture& f = *new Fixture([] {
    Fixture fx;
    fx.data = xgb_oracle::make_dataset(20000, kCols, kCatCols, 12, 0.15, false, 2024);
    xgb_oracle::DMatrix d(fx.data.x, fx.data.rows, fx.data.cols, &fx.data.y, &fx.data.types);
    fx.booster = std::make_unique<xgb_oracle::Booster>(
        d,
        xgb_oracle::Booster::Params{{"objective", "binary:logistic"},
                                    {"max_depth", "6"},
                                    {"eta", "0.05"},
                                    {"tree_method", "hist"},
                                    {"max_cat_to_onehot", "1"},
                                    {"nthread", "1"}},
        300);
    const auto path = (std::filesystem::temp_directory_path() /
                       ("leadscore_forest_bench_" + std::to_string(::getpid()) + ".json"))
                          .string();
    fx.booster->save(path);
    fx.perfect = *forest::Forest::load_file(path, {forest::Layout::kPerfect});
    fx.flat = *forest::Forest::load_file(path, {forest::Layout::kFlat});
    fx.quick = *forest::Forest::load_file(path, {forest::Layout::kQuickScorer});
    std::filesystem::remove(path);
    auto probe = xgb_oracle::make_dataset(kBatchRows, kCols, kCatCols, 12, 0.15, false, 7);
    fx.rows = std::move(probe.x);
    return fx;
  }());
  return f;
}

std::string layout_name(forest::Layout layout);

// The default model: generate 1,000 leads and train with the defaults, as README command 1.
struct DefaultFixture {
  std::unique_ptr<xgb_oracle::Booster> booster;
  std::shared_ptr<const forest::Forest> model, perfect;  // kAuto layout; kPerfect to compare
  std::vector<float> rows;  // the generated leads' feature rows
  std::size_t cols = 0, n_rows = 0;
};

const DefaultFixture& default_fixture() {
  static const DefaultFixture& f = *new DefaultFixture([] {
    namespace fs = std::filesystem;
    DefaultFixture fx;
    const fs::path dir = bench::temp_work_dir("forest_bench_default");
    auto trained = bench::train_default_model(1000, dir);
    const std::string path = (trained.dir / "model.json").string();
    fx.model = *forest::Forest::load_file(path);
    fx.perfect = *forest::Forest::load_file(path, {forest::Layout::kPerfect});
    fx.booster = std::make_unique<xgb_oracle::Booster>(path);
    fx.rows = trained.data.x.values;
    fx.cols = trained.data.x.cols;
    fx.n_rows = trained.data.x.rows;
    std::printf("default model: %zu trees, max depth %d, %zu features, layout %s\n",
                fx.model->num_trees(), fx.model->max_depth(), fx.model->num_features(),
                layout_name(fx.model->layout()).c_str());
    fs::remove_all(dir);
    return fx;
  }());
  return f;
}

void set_xgb_threads(int n) {
  xgb_oracle::check(XGBoosterSetParam(fixture().booster->handle(), "nthread",
                                      std::to_string(n).c_str()),
                    "nthread");
}

struct Timing {
  double wall_ns = 0, cpu_ns = 0;
};
std::map<std::string, Timing>& timings() {
  static std::map<std::string, Timing> t;
  return t;
}

// Measures one timed loop; the last (longest) call of a benchmark function wins.
class LoopClock {
 public:
  LoopClock(std::string name, benchmark::State& state) : name_(std::move(name)), state_(state) {
    wall_ = now(CLOCK_MONOTONIC);
    cpu_ = now(CLOCK_PROCESS_CPUTIME_ID);
  }
  ~LoopClock() {
    const double n = static_cast<double>(std::max<benchmark::IterationCount>(1, state_.iterations()));
    timings()[name_] = {(now(CLOCK_MONOTONIC) - wall_) / n, (now(CLOCK_PROCESS_CPUTIME_ID) - cpu_) / n};
  }

 private:
  static double now(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
  }
  std::string name_;
  benchmark::State& state_;
  double wall_, cpu_;
};

const forest::Forest& large_model(forest::Layout layout) {
  auto& fx = fixture();
  switch (layout) {
    case forest::Layout::kFlat: return *fx.flat;
    case forest::Layout::kPerfect: return *fx.perfect;
    default: return *fx.quick;
  }
}

std::string layout_name(forest::Layout layout) {
  switch (layout) {
    case forest::Layout::kFlat: return "flat";
    case forest::Layout::kPerfect: return "perfect";
    case forest::Layout::kQuickScorer: return "quickscorer";
    default: return "auto";
  }
}

const float* row_at(std::size_t i) { return &fixture().rows[(i % kBatchRows) * kCols]; }

void BM_SingleRow_Forest(benchmark::State& state, forest::Layout layout) {
  const auto& model = large_model(layout);
  std::size_t i = 0;
  LoopClock clock("single_" + layout_name(layout), state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.predict(std::span<const float>(row_at(i++), kCols)));
  }
}
BENCHMARK_CAPTURE(BM_SingleRow_Forest, quickscorer, forest::Layout::kQuickScorer);
BENCHMARK_CAPTURE(BM_SingleRow_Forest, perfect, forest::Layout::kPerfect);
BENCHMARK_CAPTURE(BM_SingleRow_Forest, flat, forest::Layout::kFlat);

void BM_SingleRow_XGBoost(benchmark::State& state) {
  set_xgb_threads(1);  // XGBoost's fastest setting for one row (no OpenMP fan-out)
  std::size_t i = 0;
  LoopClock clock("single_xgboost", state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(fixture().booster->predict_dense(row_at(i++), 1, kCols, 0));
  }
}
BENCHMARK(BM_SingleRow_XGBoost);

const float* default_row(std::size_t i) {
  const auto& fx = default_fixture();
  return &fx.rows[(i % fx.n_rows) * fx.cols];
}

void BM_DefaultSingleRow_Forest(benchmark::State& state) {
  const auto& fx = default_fixture();
  std::size_t i = 0;
  LoopClock clock("default_single", state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(fx.model->predict(std::span<const float>(default_row(i++), fx.cols)));
  }
}
BENCHMARK(BM_DefaultSingleRow_Forest);

void BM_DefaultSingleRow_ForestPerfect(benchmark::State& state) {
  const auto& fx = default_fixture();
  std::size_t i = 0;
  LoopClock clock("default_single_perfect", state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(fx.perfect->predict(std::span<const float>(default_row(i++), fx.cols)));
  }
}
BENCHMARK(BM_DefaultSingleRow_ForestPerfect);

void BM_DefaultSingleRow_XGBoost(benchmark::State& state) {
  const auto& fx = default_fixture();
  xgb_oracle::check(XGBoosterSetParam(fx.booster->handle(), "nthread", "1"), "nthread");
  std::size_t i = 0;
  LoopClock clock("default_single_xgboost", state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(fx.booster->predict_dense(default_row(i++), 1, fx.cols, 0));
  }
}
BENCHMARK(BM_DefaultSingleRow_XGBoost);

void BM_DefaultShapTop3_Forest(benchmark::State& state) {
  const auto& fx = default_fixture();
  forest::ShapBuffer buffer(*fx.model);
  std::size_t i = 0;
  LoopClock clock("default_shap_top3", state);
  for (auto _ : state) {
    std::span<const float> row(default_row(i++), fx.cols);
    benchmark::DoNotOptimize(fx.model->predict(row));
    benchmark::DoNotOptimize(fx.model->top_contributions(row, 3, buffer).data());
  }
}
BENCHMARK(BM_DefaultShapTop3_Forest)->Unit(benchmark::kMicrosecond);

void BM_DefaultShap_XGBoost(benchmark::State& state) {
  const auto& fx = default_fixture();
  std::size_t i = 0;
  LoopClock clock("default_shap_xgboost", state);
  for (auto _ : state) {
    std::vector<float> one(default_row(i), default_row(i) + fx.cols);
    ++i;
    xgb_oracle::DMatrix d(one, 1, fx.cols);
    benchmark::DoNotOptimize(fx.booster->predict(d, 2).data());
  }
}
BENCHMARK(BM_DefaultShap_XGBoost)->Unit(benchmark::kMicrosecond);

void BM_Batch100k_Forest(benchmark::State& state, forest::Layout layout) {
  auto& fx = fixture();
  const auto& model = large_model(layout);
  std::vector<float> out(kBatchRows);
  LoopClock clock("batch_" + layout_name(layout), state);
  for (auto _ : state) {
    model.predict_batch(fx.rows.data(), kBatchRows, kCols, out.data(), false, 0);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatchRows);
}
BENCHMARK_CAPTURE(BM_Batch100k_Forest, quickscorer, forest::Layout::kQuickScorer)
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Batch100k_Forest, perfect, forest::Layout::kPerfect)
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Batch100k_Forest, flat, forest::Layout::kFlat)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Batch100k_XGBoost(benchmark::State& state) {
  set_xgb_threads(static_cast<int>(std::thread::hardware_concurrency()));
  LoopClock clock("batch_xgboost", state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(fixture().booster->predict_dense(fixture().rows.data(), kBatchRows,
                                                              kCols, 0));
  }
  state.SetItemsProcessed(state.iterations() * kBatchRows);
}
BENCHMARK(BM_Batch100k_XGBoost)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SingleRowShapTop3_Forest(benchmark::State& state) {
  auto& model = *fixture().perfect;
  forest::ShapBuffer buffer(model);
  std::size_t i = 0;
  LoopClock clock("shap_top3", state);
  for (auto _ : state) {
    std::span<const float> row(row_at(i++), kCols);
    benchmark::DoNotOptimize(model.predict(row));
    benchmark::DoNotOptimize(model.top_contributions(row, 3, buffer).data());
  }
}
BENCHMARK(BM_SingleRowShapTop3_Forest)->Unit(benchmark::kMicrosecond);

void BM_SingleRowShap_XGBoost(benchmark::State& state) {
  set_xgb_threads(1);
  std::size_t i = 0;
  LoopClock clock("shap_xgboost", state);
  for (auto _ : state) {
    std::vector<float> one(row_at(i), row_at(i) + kCols);
    ++i;
    xgb_oracle::DMatrix d(one, 1, kCols);
    benchmark::DoNotOptimize(fixture().booster->predict(d, 2).data());
  }
}
BENCHMARK(BM_SingleRowShap_XGBoost)->Unit(benchmark::kMicrosecond);

// Ratios are printed from our own clocks (wall and process CPU) around each benchmark's
// final timed loop, so no custom reporter is needed.
void print_ratios() {
  auto ratio = [](const char* ref, const char* ours) {
    auto a = timings().find(ref), b = timings().find(ours);
    if (a == timings().end() || b == timings().end()) return;
    std::printf("ratio %-22s / %-28s  wall %6.1fx   cpu %6.1fx   (ours %.3g us/op wall, %.3g cpu)\n",
                ref, ours, a->second.wall_ns / b->second.wall_ns,
                a->second.cpu_ns / b->second.cpu_ns, b->second.wall_ns / 1e3,
                b->second.cpu_ns / 1e3);
  };
  ratio("default_single_xgboost", "default_single");
  ratio("default_single_xgboost", "default_single_perfect");
  ratio("default_shap_xgboost", "default_shap_top3");
  ratio("single_xgboost", "single_quickscorer");
  ratio("single_xgboost", "single_perfect");
  ratio("single_xgboost", "single_flat");
  ratio("batch_xgboost", "batch_quickscorer");
  ratio("batch_xgboost", "batch_perfect");
  ratio("batch_xgboost", "batch_flat");
  ratio("shap_xgboost", "shap_top3");
  ratio("single_flat", "single_perfect");
  ratio("single_perfect", "single_quickscorer");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  default_fixture();  // train outside the timed runs
  fixture();
  benchmark::RunSpecifiedBenchmarks();
  print_ratios();
  std::fflush(stdout);
  benchmark::Shutdown();
  return 0;
}
