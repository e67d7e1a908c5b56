// forest vs XGBoost 1.7 (C API) on models trained here on random data and on the default
// real-estate model (`leadscore train`): predictions must be equal (|delta| == 0) on probe rows
// full of special values; SHAP within 1e-5.
// FOREST_PROBE_ROWS sets the rows per model (the `integration` build uses >= 100k).

#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "forest/forest.h"
#include "tests/forest/xgb_oracle.h"

#ifndef FOREST_PROBE_ROWS
#define FOREST_PROBE_ROWS 20000
#endif
#ifndef FOREST_SHAP_ROWS
#define FOREST_SHAP_ROWS 300
#endif
#ifndef FOREST_LIGHT  // 1: smaller training sets and fewer rounds (unit / ASan run)
#define FOREST_LIGHT 0
#endif

namespace {

using xgb_oracle::Booster;
using xgb_oracle::Dataset;
using xgb_oracle::DMatrix;

constexpr std::size_t kProbeRows = FOREST_PROBE_ROWS;
constexpr std::size_t kShapRows = FOREST_SHAP_ROWS;

// Training rows / rounds, scaled down for the light run.
constexpr std::size_t train_rows(std::size_t full) { return FOREST_LIGHT ? full / 4 : full; }
constexpr int rounds(int full) { return FOREST_LIGHT ? (full + 2) / 3 : full; }

struct Trained {
  Dataset data;
  std::unique_ptr<Booster> booster;
  std::string json_path;
  bool owns_json = true;  // false: a model this test did not write (the default model)
  std::shared_ptr<const forest::Forest> forest;
  // Per column, for a model with real features (else data.n_categories and numeric_value):
  // category count of categorical columns, training [min, max] of numeric ones.
  std::vector<int> categories;
  std::vector<std::pair<double, double>> ranges;

  Trained() = default;
  Trained(Trained&&) = default;
  Trained& operator=(Trained&&) = default;
  ~Trained() {
    std::error_code ignored;
    if (owns_json && !json_path.empty()) std::filesystem::remove(json_path, ignored);
  }
};

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "leadscore_forest_test";
  std::filesystem::create_directories(dir);
  return (dir / (name + "_" + std::to_string(::getpid()) + ".json")).string();
}

Trained train(const std::string& name, Dataset data, Booster::Params params, int rounds,
              forest::LoadOptions options = {}) {
  Trained t;
  t.data = std::move(data);
  DMatrix d(t.data.x, t.data.rows, t.data.cols, &t.data.y, &t.data.types);
  params.emplace_back("nthread", "1");  // OpenMP spinning on a shared 2-core box costs more than it saves
  params.emplace_back("tree_method", "hist");
  t.booster = std::make_unique<Booster>(d, params, rounds);
  t.json_path = temp_path(name);
  t.booster->save(t.json_path);
  auto f = forest::Forest::load_file(t.json_path, options);
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().code + ": " + f.error().message);
  if (f) t.forest = *f;
  return t;
}

// Parses an XGBoost model.json with `parser`. XGBoost writes bare NaN (not JSON) for the
// unused thresholds of categorical nodes: read as 0.
simdjson::dom::element parse_model_json(const std::string& json_path,
                                        simdjson::dom::parser& parser) {
  const std::string raw = xgb_oracle::read_text(json_path);
  std::string text;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw.compare(i, 3, "NaN") == 0) {
      text.push_back('0');
      i += 2;
    } else {
      text.push_back(raw[i]);
    }
  }
  const simdjson::padded_string padded(text);
  return parser.parse(padded);  // the DOM keeps copies: `padded` may go
}

// Split thresholds per feature, read from the saved model (to probe values at, just above
// and just below every threshold).
std::map<uint32_t, std::vector<float>> thresholds(const std::string& json_path) {
  std::map<uint32_t, std::vector<float>> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parse_model_json(json_path, parser);
  for (auto tree : doc["learner"]["gradient_booster"]["model"]["trees"].get_array()) {
    auto left = tree["left_children"].get_array();
    auto idx = tree["split_indices"].get_array();
    auto cond = tree["split_conditions"].get_array();
    for (std::size_t i = 0; i < left.size(); ++i) {
      if (int64_t(left.at(i)) == -1) continue;
      out[static_cast<uint32_t>(int64_t(idx.at(i)))].push_back(
          static_cast<float>(double(cond.at(i))));
    }
  }
  return out;
}

// A value in a column's training range, mostly near its low end (counts, money, durations)
// and half the time whole (most real-estate fields are integers).
float realistic_value(std::mt19937_64& rng, std::pair<double, double> range) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double a = u(rng);
  const double v = range.first + (range.second - range.first) * a * a * a;
  return static_cast<float>(u(rng) < 0.5 ? std::round(v) : v);
}

// Probe rows: ordinary values mixed with NaN, +-0, denormals, thresholds (exact and one ulp
// either side), values beyond every threshold, and for categorical columns in-range codes,
// codes just past the last category, and negative, fractional, out-of-set and >= 2^24 codes.
std::vector<float> probe_rows(const Trained& t, std::size_t rows, uint64_t seed) {
  const auto th = thresholds(t.json_path);
  const std::size_t cols = t.data.cols;
  std::vector<float> x(rows * cols);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(0, 99);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float specials[] = {0.0f,      -0.0f,     1e-40f,   -1e-40f, FLT_TRUE_MIN,
                            -FLT_TRUE_MIN, FLT_MIN, 1e30f,   -1e30f,  FLT_MAX,
                            -FLT_MAX,  1.0f,      -1.0f};
  const float cat_specials[] = {-1.0f,       -0.5f,       -0.0f,        0.5f,  1.5f,
                                2.999f,      64.0f,       1000.0f,      16777215.0f,
                                16777216.0f, 1e9f,        2147483648.0f, -1e9f, FLT_TRUE_MIN};
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      float& v = x[r * cols + c];
      const bool is_cat = t.data.types[c] == "c";
      const int p = pick(rng);
      auto it = th.find(static_cast<uint32_t>(c));
      if (p < 10) {
        v = nan;
      } else if (is_cat) {
        if (p < 75) {
          const int n = t.categories.empty() ? t.data.n_categories : t.categories[c];
          v = static_cast<float>(std::uniform_int_distribution<int>(0, n + 2)(rng));
        } else {
          v = cat_specials[std::uniform_int_distribution<std::size_t>(
              0, std::size(cat_specials) - 1)(rng)];
        }
      } else if (p < 40 && it != th.end()) {
        const auto& ts = it->second;
        const float base = ts[std::uniform_int_distribution<std::size_t>(0, ts.size() - 1)(rng)];
        const int k = pick(rng) % 3;
        v = k == 0 ? base : std::nextafter(base, k == 1 ? INFINITY : -INFINITY);
      } else if (p < 55) {
        v = specials[std::uniform_int_distribution<std::size_t>(0, std::size(specials) - 1)(rng)];
      } else {
        v = t.ranges.empty() ? xgb_oracle::numeric_value(rng, c)
                             : realistic_value(rng, t.ranges[c]);
      }
    }
  }
  return x;
}

bool same(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Compares margin and transformed predictions (single-row, batch) with XGBoost's.
void expect_bit_exact(const Trained& t, std::size_t rows, uint64_t seed) {
  ASSERT_TRUE(t.forest);
  const auto x = probe_rows(t, rows, seed);
  const std::size_t cols = t.data.cols;
  DMatrix d(x, rows, cols);
  const auto xgb_margin = t.booster->predict(d, 1);
  const auto xgb_pred = t.booster->predict(d, 0);
  ASSERT_EQ(xgb_margin.size(), rows);
  std::vector<float> batch_margin(rows), batch_pred(rows);
  t.forest->predict_batch(x.data(), rows, cols, batch_margin.data(), true, 2);
  t.forest->predict_batch(x.data(), rows, cols, batch_pred.data(), false, 0);
  std::size_t bad = 0;
  double max_delta = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    std::span<const float> row(&x[r * cols], cols);
    const float m = t.forest->predict_margin(row);
    const float p = t.forest->predict(row);
    const bool ok = same(m, xgb_margin[r]) && same(p, xgb_pred[r]) &&
                    same(batch_margin[r], xgb_margin[r]) && same(batch_pred[r], xgb_pred[r]);
    max_delta = std::max({max_delta, std::fabs(double(m) - xgb_margin[r]),
                          std::fabs(double(p) - xgb_pred[r])});
    if (!ok && ++bad <= 3) {
      ADD_FAILURE() << "row " << r << ": margin " << m << " vs xgboost " << xgb_margin[r]
                    << " (batch " << batch_margin[r] << "), prediction " << p << " vs "
                    << xgb_pred[r] << " (batch " << batch_pred[r] << ")";
    }
  }
  EXPECT_EQ(bad, 0u) << "rows differing from XGBoost, max |delta| = " << max_delta;
}

void expect_shap_close(const Trained& t, std::size_t rows, uint64_t seed, double tol = 1e-5) {
  ASSERT_TRUE(t.forest);
  const auto x = probe_rows(t, rows, seed);
  const std::size_t cols = t.data.cols;
  DMatrix d(x, rows, cols);
  const auto xgb = t.booster->predict(d, 2);
  ASSERT_EQ(xgb.size(), rows * (cols + 1));
  std::vector<float> ours(cols + 1);
  double max_delta = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    t.forest->contributions(std::span<const float>(&x[r * cols], cols), ours);
    for (std::size_t c = 0; c <= cols; ++c) {
      max_delta = std::max(max_delta, std::fabs(double(ours[c]) - xgb[r * (cols + 1) + c]));
    }
  }
  EXPECT_LE(max_delta, tol);
}

Booster::Params logistic(int depth, const char* eta = "0.3") {
  return {{"objective", "binary:logistic"}, {"max_depth", std::to_string(depth)},
          {"eta", eta}, {"seed", "7"}};
}

TEST(ForestOracle, LogisticDepth6WithMissingIsBitExact) {
  auto t = train("d6", xgb_oracle::make_dataset(train_rows(20000), 24, 0, 0, 0.15, false, 1), logistic(6), rounds(100));
  EXPECT_EQ(t.forest->layout(), forest::Layout::kQuickScorer);  // kAuto's pick here
  expect_bit_exact(t, kProbeRows, 11);
}

TEST(ForestOracle, DepthsOneToSixteenAreBitExact) {
  const std::pair<int, int> shapes[] = {{1, 50}, {3, 60}, {9, 20}, {12, 10}, {16, 8}};
  for (auto [depth, trees] : shapes) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    auto params = logistic(depth, "0.1");
    params.emplace_back("min_child_weight", "0");
    if (depth > 8) {  // deep but narrow: bounded training time
      params.emplace_back("grow_policy", "lossguide");
      params.emplace_back("max_leaves", "96");
    }
    auto t = train("depth" + std::to_string(depth),
                   xgb_oracle::make_dataset(train_rows(10000), 12, 0, 0, 0.1, false, 100 + depth), params,
                   trees);
    EXPECT_GE(t.forest->max_depth(), std::min(depth, 12));
    expect_bit_exact(t, kProbeRows, 200 + depth);
  }
}

TEST(ForestOracle, TwoThousandShallowTreesAreBitExact) {
  // 100 rounds x 20 parallel trees: 2000 trees in tree order without 2000 boosting rounds.
  auto params = logistic(2, "0.05");
  params.emplace_back("num_parallel_tree", "20");
  params.emplace_back("colsample_bynode", "0.5");
  params.emplace_back("subsample", "0.7");
  auto t = train("t2000", xgb_oracle::make_dataset(train_rows(4000), 10, 0, 0, 0.1, false, 3), params, 100);
  EXPECT_EQ(t.forest->num_trees(), 2000u);
  expect_bit_exact(t, kProbeRows, 12);
}

TEST(ForestOracle, CategoricalPartitionAndOneHotSplitsAreBitExact) {
  for (const char* onehot : {"1", "64"}) {
    SCOPED_TRACE(std::string("max_cat_to_onehot ") + onehot);
    auto params = logistic(6);
    params.emplace_back("max_cat_to_onehot", onehot);
    auto t = train(std::string("cat") + onehot,
                   xgb_oracle::make_dataset(train_rows(20000), 20, 8, 40, 0.1, false, 4), params, rounds(80));
    expect_bit_exact(t, kProbeRows, 13);
  }
}

TEST(ForestOracle, RegressionWithCustomBaseScoreIsBitExact) {
  Booster::Params params{{"objective", "reg:squarederror"}, {"max_depth", "7"},
                         {"base_score", "0.37"}, {"eta", "0.2"}};
  auto t = train("reg", xgb_oracle::make_dataset(train_rows(20000), 16, 4, 12, 0.1, true, 5), params, rounds(60));
  EXPECT_EQ(t.forest->objective(), forest::Objective::kRegSquaredError);
  expect_bit_exact(t, kProbeRows, 14);
}

TEST(ForestOracle, LogisticBaseScoreIsConvertedToMarginLikeXgboost) {
  auto params = logistic(4);
  params.emplace_back("base_score", "0.137");
  auto t = train("base", xgb_oracle::make_dataset(train_rows(5000), 8, 2, 5, 0.1, false, 6), params, rounds(10));
  EXPECT_FLOAT_EQ(t.forest->base_score(), 0.137f);
  expect_bit_exact(t, kProbeRows, 15);
}

TEST(ForestOracle, EveryLayoutAgreesWithXgboost) {
  for (auto layout :
       {forest::Layout::kFlat, forest::Layout::kPerfect, forest::Layout::kQuickScorer}) {
    for (const char* onehot : {"1", "64"}) {  // partition and one-hot categorical splits
      SCOPED_TRACE("layout " + std::to_string(static_cast<int>(layout)) + ", max_cat_to_onehot " +
                   onehot);
      auto params = logistic(5);
      params.emplace_back("max_cat_to_onehot", onehot);
      auto t = train("layout", xgb_oracle::make_dataset(train_rows(8000), 14, 4, 20, 0.1, false, 7),
                     params, rounds(60), {layout});
      EXPECT_EQ(t.forest->layout(), layout);
      expect_bit_exact(t, kProbeRows, 16);
    }
  }
}

TEST(ForestOracle, QuickScorerOverSeveralTreeBlocksIsBitExact) {
  // More trees than one QuickScorer block (1024) and depth 6 (64 leaves, the widest mask).
  auto params = logistic(6, "0.05");
  params.emplace_back("num_parallel_tree", "30");
  params.emplace_back("colsample_bynode", "0.5");
  params.emplace_back("min_child_weight", "0");
  auto t = train("qsblocks", xgb_oracle::make_dataset(train_rows(4000), 10, 2, 8, 0.1, false, 31),
                 params, 40, {forest::Layout::kQuickScorer});
  ASSERT_EQ(t.forest->num_trees(), 1200u);
  EXPECT_EQ(t.forest->layout(), forest::Layout::kQuickScorer);
  expect_bit_exact(t, kProbeRows / 4, 32);
}

TEST(ForestOracle, QuickScorerRefusesTreesWiderThanSixtyFourLeaves) {
  auto params = logistic(16, "0.1");
  params.emplace_back("min_child_weight", "0");
  params.emplace_back("grow_policy", "lossguide");
  params.emplace_back("max_leaves", "80");
  auto t = train("qswide", xgb_oracle::make_dataset(train_rows(8000), 12, 0, 0, 0.1, false, 33),
                 params, 3);
  EXPECT_NE(t.forest->layout(), forest::Layout::kQuickScorer);  // kAuto falls back
  auto forced = forest::Forest::load_file(t.json_path, {forest::Layout::kQuickScorer});
  ASSERT_FALSE(forced.has_value());
  EXPECT_EQ(forced.error().code, "unsupported_model");
  expect_bit_exact(t, 2000, 34);
}

TEST(ForestOracle, InplaceDensePredictionAgrees) {
  auto t = train("dense", xgb_oracle::make_dataset(train_rows(8000), 12, 3, 10, 0.1, false, 8),
                 logistic(6), rounds(50));
  const std::size_t rows = 2000;
  const auto x = probe_rows(t, rows, 17);
  std::size_t n = 0;
  const float* xgb = t.booster->predict_dense(x.data(), rows, t.data.cols, 0, &n);
  ASSERT_EQ(n, rows);
  std::vector<float> ours(rows);
  t.forest->predict_batch(x.data(), rows, t.data.cols, ours.data(), false, 1);
  for (std::size_t r = 0; r < rows; ++r) ASSERT_TRUE(same(ours[r], xgb[r])) << "row " << r;
}

TEST(ForestOracle, OneTreeModelsAreBitExact) {
  // The smallest forest: one boosting round (numeric and categorical splits), so the margin
  // is the base margin plus a single leaf.
  for (const char* onehot : {"1", "64"}) {
    SCOPED_TRACE(std::string("max_cat_to_onehot ") + onehot);
    auto params = logistic(6);
    params.emplace_back("max_cat_to_onehot", onehot);
    auto t = train("onetree", xgb_oracle::make_dataset(train_rows(8000), 12, 3, 15, 0.1, false, 60),
                   params, 1);
    ASSERT_EQ(t.forest->num_trees(), 1u);
    expect_bit_exact(t, kProbeRows, 61);
    expect_shap_close(t, kShapRows, 62);
  }
}

// The default real-estate model as `leadscore train` writes it (model.json, XGBoost's own JSON,
// and manifest.json), from the directory LEADSCORE_DEFAULT_MODEL_DIR: under ctest, the model
// the fixture e2e_http_models trains like the demo's (tests/e2e/make_models.py, real_estate).
// Feature types and category counts come from the manifest and are checked against model.json.
Trained load_default_model(const std::string& dir) {
  Trained t;
  t.json_path = dir + "/model.json";
  t.owns_json = false;
  simdjson::dom::parser manifest_parser;
  simdjson::dom::element manifest = manifest_parser.load(dir + "/manifest.json");
  std::map<std::string, std::pair<double, double>, std::less<>> range_by_name;
  for (auto column : manifest["training_data"]["columns"].get_array()) {
    double lo = 0, hi = 0;
    if (!column["min"].get(lo) && !column["max"].get(hi)) {
      range_by_name[std::string(std::string_view(column["name"]))] = {lo, hi};
    }
  }
  std::vector<std::string> names;
  for (auto feature : manifest["features"].get_array()) {
    names.emplace_back(std::string_view(feature["name"]));
    const bool categorical = std::string_view(feature["type"]) == "categorical";
    t.data.types.push_back(categorical ? "c" : "q");
    t.data.n_cat += categorical;
    const simdjson::dom::array categories =
        categorical ? simdjson::dom::array(feature["categories"]) : simdjson::dom::array();
    t.categories.push_back(static_cast<int>(categorical ? categories.size() : 0));
    auto range = range_by_name.find(names.back());
    t.ranges.push_back(range != range_by_name.end() ? range->second : std::pair{0.0, 1.0});
  }
  t.data.cols = names.size();

  // model.json must agree: its own feature_types when it has them (current models have none),
  // and every categorical split on a categorical feature.
  simdjson::dom::parser model_parser;
  simdjson::dom::element learner = parse_model_json(t.json_path, model_parser)["learner"];
  simdjson::dom::array xgb_types;
  if (!learner["feature_types"].get(xgb_types) && xgb_types.size() > 0) {
    EXPECT_EQ(xgb_types.size(), t.data.cols);
    for (std::size_t c = 0; c < std::min<std::size_t>(xgb_types.size(), t.data.cols); ++c) {
      EXPECT_EQ(std::string_view(xgb_types.at(c)), t.data.types[c]) << "feature " << names[c];
    }
  }
  std::size_t categorical_splits = 0;
  for (auto tree : learner["gradient_booster"]["model"]["trees"].get_array()) {
    simdjson::dom::array split_type;
    if (tree["split_type"].get(split_type)) continue;
    auto index = tree["split_indices"].get_array();
    for (std::size_t i = 0; i < split_type.size(); ++i) {
      if (int64_t(split_type.at(i)) != 1) continue;
      ++categorical_splits;
      const auto f = static_cast<std::size_t>(int64_t(index.at(i)));
      EXPECT_TRUE(f < t.data.cols && t.data.types[f] == "c") << "categorical split on " << f;
    }
  }
  // Our encoding gives XGBoost categorical features; the probe rows must reach those splits.
  EXPECT_GT(categorical_splits, 0u);

  t.booster = std::make_unique<Booster>(t.json_path);
  auto f = forest::Forest::load_file(t.json_path);
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().code + ": " + f.error().message);
  if (f) {
    t.forest = *f;
    EXPECT_EQ(t.forest->num_features(), t.data.cols);
    if (!t.forest->feature_names().empty()) {  // XGBoost saves names only when given them
      EXPECT_EQ(t.forest->feature_names(), names);
    }
  }
  return t;
}

// The default model's directory, or "" (then the test skips: run it under ctest).
std::string default_model_dir() {
  const char* dir = std::getenv("LEADSCORE_DEFAULT_MODEL_DIR");
  if (!dir || !std::filesystem::exists(std::filesystem::path(dir) / "model.json")) return "";
  return dir;
}

constexpr const char* kNoDefaultModel =
    "no default model: set LEADSCORE_DEFAULT_MODEL_DIR to a `leadscore train` output directory "
    "(ctest does: fixture e2e_http_models trains it)";

TEST(ForestDefaultModel, BitExactWithXgboost) {
  const std::string dir = default_model_dir();
  if (dir.empty()) GTEST_SKIP() << kNoDefaultModel;
  auto t = load_default_model(dir);
  expect_bit_exact(t, kProbeRows, 70);
}

TEST(ForestDefaultModel, ShapMatchesXgboost) {
  const std::string dir = default_model_dir();
  if (dir.empty()) GTEST_SKIP() << kNoDefaultModel;
  auto t = load_default_model(dir);
  expect_shap_close(t, kShapRows, 71);
}

TEST(ForestShap, MatchesXgboostContributionsNumeric) {
  auto t = train("shap", xgb_oracle::make_dataset(train_rows(10000), 16, 0, 0, 0.15, false, 9),
                 logistic(6), rounds(100));
  expect_shap_close(t, kShapRows, 18);
}

TEST(ForestShap, MatchesXgboostContributionsCategoricalAndDeep) {
  auto params = logistic(10, "0.1");
  params.emplace_back("max_cat_to_onehot", "1");
  auto t = train("shapcat", xgb_oracle::make_dataset(train_rows(10000), 12, 4, 25, 0.1, false, 10), params, rounds(30));
  expect_shap_close(t, kShapRows, 19);
}

TEST(ForestShap, MatchesXgboostWithCategoricalDecisionWords) {
  // Trees of <= 64 leaves take TreeSHAP from decision words (per-leaf path tables indexed by
  // the row's violations); categorical partition and one-hot splits, missing values.
  for (const char* onehot : {"1", "64"}) {
    SCOPED_TRACE(std::string("max_cat_to_onehot ") + onehot);
    auto params = logistic(5, "0.2");
    params.emplace_back("max_cat_to_onehot", onehot);
    auto t = train("shapwords", xgb_oracle::make_dataset(train_rows(10000), 12, 4, 25, 0.15, false, 22),
                   params, rounds(60));
    EXPECT_EQ(t.forest->layout(), forest::Layout::kQuickScorer);
    expect_shap_close(t, kShapRows, 23);
  }
}

TEST(ForestShap, MatchesXgboostWithSparsePathTables) {
  // Depth-6 trees over 40 features: many trees split on more than 16 distinct features, so
  // their path tables are read sparsely (k additions per leaf) instead of as dense rows.
  auto params = logistic(6, "0.3");
  params.emplace_back("min_child_weight", "0");
  auto t = train("shapsparse", xgb_oracle::make_dataset(train_rows(10000), 40, 4, 10, 0.1, false, 26),
                 params, rounds(30));
  EXPECT_EQ(t.forest->layout(), forest::Layout::kQuickScorer);
  expect_shap_close(t, kShapRows, 27);
}

TEST(ForestShap, MatchesXgboostWhenOnlySomeTreesHavePathTables) {
  // <= 64 leaves but paths up to 9 deep: trees with a path deeper than the table limit (6)
  // take the per-node method, the others the decision words, in one forest.
  auto params = logistic(9, "0.3");
  params.emplace_back("grow_policy", "lossguide");
  params.emplace_back("max_leaves", "12");
  params.emplace_back("gamma", "4");  // later trees, with less gain left, stay shallow
  auto t = train("shapmixed", xgb_oracle::make_dataset(train_rows(10000), 14, 3, 12, 0.1, false, 24),
                 params, rounds(40));
  EXPECT_GT(t.forest->max_depth(), 6);
  EXPECT_EQ(t.forest->layout(), forest::Layout::kQuickScorer);
  expect_shap_close(t, kShapRows, 25);
}

TEST(ForestShap, MatchesXgboostOnPathsTooLongForTables) {
  // Paths with more than 10 distinct features fall back to the recursive algorithm.
  auto params = logistic(16, "0.1");
  params.emplace_back("min_child_weight", "0");
  params.emplace_back("grow_policy", "lossguide");
  params.emplace_back("max_leaves", "200");
  auto t = train("shapdeep", xgb_oracle::make_dataset(train_rows(12000), 24, 4, 10, 0.05, false, 12),
                 params, rounds(12));
  EXPECT_GE(t.forest->max_depth(), 11);
  expect_shap_close(t, kShapRows, 21);
}

TEST(ForestShap, BatchTopContributionsEqualPerRowOnes) {
  // Decision words (depth 5), a mix (lossguide, some paths deeper than 6) and no words at
  // all (trees wider than 64 leaves: tables and recursion): 101 rows, not a block multiple.
  std::vector<Trained> models;
  models.push_back(train("batch_words", xgb_oracle::make_dataset(train_rows(6000), 12, 3, 10, 0.1, false, 40),
                         logistic(5), rounds(30)));
  auto mixed = logistic(9, "0.3");
  mixed.emplace_back("grow_policy", "lossguide");
  mixed.emplace_back("max_leaves", "12");
  mixed.emplace_back("gamma", "4");
  models.push_back(train("batch_mixed", xgb_oracle::make_dataset(train_rows(6000), 14, 3, 12, 0.1, false, 41),
                         mixed, rounds(30)));
  auto wide = logistic(16, "0.1");
  wide.emplace_back("min_child_weight", "0");
  wide.emplace_back("grow_policy", "lossguide");
  wide.emplace_back("max_leaves", "100");
  models.push_back(train("batch_wide", xgb_oracle::make_dataset(train_rows(8000), 16, 2, 8, 0.1, false, 42),
                         wide, rounds(8)));
  for (const auto& t : models) {
    SCOPED_TRACE(t.json_path);
    const std::size_t rows = 101, cols = t.data.cols, k = 3;
    const auto x = probe_rows(t, rows, 43);
    std::vector<const float*> ptrs;
    for (std::size_t r = 0; r < rows; ++r) ptrs.push_back(&x[r * cols]);
    std::vector<forest::Contribution> out(rows * k);
    std::vector<std::size_t> counts(rows);
    t.forest->top_contributions_batch(ptrs, k, out.data(), counts.data());
    forest::ShapBuffer buffer(*t.forest);
    for (std::size_t r = 0; r < rows; ++r) {
      auto one = t.forest->top_contributions(std::span<const float>(ptrs[r], cols), k, buffer);
      ASSERT_EQ(counts[r], one.size()) << "row " << r;
      for (std::size_t i = 0; i < one.size(); ++i) {
        EXPECT_EQ(out[r * k + i].feature, one[i].feature) << "row " << r;
        EXPECT_EQ(out[r * k + i].value, one[i].value) << "row " << r;
      }
    }
  }
}

TEST(ForestShap, ContributionsSumToMarginAndTopIsSorted) {
  auto t = train("shapsum", xgb_oracle::make_dataset(train_rows(5000), 10, 2, 6, 0.1, false, 11),
                 logistic(6), rounds(40));
  const auto x = probe_rows(t, 200, 20);
  const std::size_t cols = t.data.cols;
  std::vector<float> phi(cols + 1);
  forest::ShapBuffer buffer(*t.forest);
  for (std::size_t r = 0; r < 200; ++r) {
    std::span<const float> row(&x[r * cols], cols);
    t.forest->contributions(row, phi);
    double sum = 0;
    for (float v : phi) sum += v;
    EXPECT_NEAR(sum, t.forest->predict_margin(row), 1e-4);
    auto top = t.forest->top_contributions(row, 3, buffer);
    ASSERT_LE(top.size(), 3u);
    for (std::size_t i = 0; i < top.size(); ++i) {
      EXPECT_EQ(top[i].value, phi[top[i].feature]);
      if (i > 0) {
        EXPECT_GE(std::fabs(top[i - 1].value), std::fabs(top[i].value));
      }
    }
    // Nothing left out is larger than the smallest kept.
    if (top.size() == 3) {
      for (std::size_t c = 0; c < cols; ++c) {
        bool kept = false;
        for (auto& e : top) kept |= e.feature == c;
        if (!kept) {
          EXPECT_LE(std::fabs(phi[c]), std::fabs(top[2].value));
        }
      }
    }
  }
}

}  // namespace
