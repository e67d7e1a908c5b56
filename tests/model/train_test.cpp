// Training on matrices with real XGBoost: quality against the oracle, determinism, truncation
// to the best iteration, and parity with Python XGBoost loading our model.json.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "model/model.h"
#include "synthetic.h"

namespace {

namespace fs = std::filesystem;

struct Trained {
  model_test::Synthetic data;
  model::Split split;
  model::TrainedBooster booster;
};

Trained train(size_t rows, uint64_t seed, model::TrainParams params = {}) {
  Trained t;
  t.data = model_test::make_synthetic(rows, seed);
  auto split = model::stratified_split(t.data.labels, {.seed = seed});
  EXPECT_TRUE(split) << split.error().message;
  t.split = *split;
  auto b = model::train_booster(t.data.x, t.data.labels, t.data.features, t.split, params);
  EXPECT_TRUE(b) << b.error().message;
  t.booster = *b;
  return t;
}

TEST(TrainBooster, HeldOutAucNearOracleAndCalibratedOnTest) {
  auto t = train(8000, 11);
  auto margins = model::xgboost_predict(t.booster.model_json, t.data.x, t.data.features);
  ASSERT_TRUE(margins);
  std::vector<double> valid_m, valid_y_d, test_p, test_oracle;
  std::vector<float> valid_y, test_y;
  for (uint32_t i : t.split.valid) {
    valid_m.push_back((*margins)[i]);
    valid_y.push_back(t.data.labels[i]);
  }
  auto cal = model::choose_calibration(valid_m, valid_y, 11);
  for (uint32_t i : t.split.test) {
    test_p.push_back(cal.chosen.apply((*margins)[i]));
    test_oracle.push_back(t.data.true_probability[i]);
    test_y.push_back(t.data.labels[i]);
  }
  const double auc = model::roc_auc(test_p, test_y);
  const double oracle = model::roc_auc(test_oracle, test_y);
  // 1200 test rows: AUC's standard error is ~0.015, so allow 0.035 against the oracle.
  EXPECT_GT(auc, oracle - 0.035) << "auc " << auc << " oracle " << oracle;
  EXPECT_LT(model::expected_calibration_error(test_p, test_y), 0.05);
  EXPECT_GT(t.booster.best_iteration, 5);
}

TEST(TrainBooster, ModelHoldsExactlyTheBestIterationsTrees) {
  model::TrainParams p;
  p.early_stopping_rounds = 10;
  p.eta = 0.3;
  auto t = train(2000, 5, p);
  EXPECT_LT(t.booster.best_iteration + 1, t.booster.rounds_run);
  // XGBoost writes NaN (not JSON) as the split condition of categorical splits.
  std::string json = t.booster.model_json;
  for (size_t at; (at = json.find("NaN")) != std::string::npos;) json.replace(at, 3, "null");
  simdjson::dom::parser parser;
  auto doc = parser.parse(json);
  simdjson::dom::array trees;
  const auto err = doc["learner"]["gradient_booster"]["model"]["trees"].get(trees);
  ASSERT_FALSE(err) << simdjson::error_message(err);
  EXPECT_EQ(static_cast<int>(trees.size()), t.booster.best_iteration + 1);
}

TEST(TrainBooster, SameDataAndSeedGiveIdenticalModel) {
  auto a = train(1500, 3);
  auto b = train(1500, 3);
  EXPECT_EQ(a.booster.model_json, b.booster.model_json);
}

TEST(TrainBooster, RejectsBadParams) {
  auto d = model_test::make_synthetic(500, 1);
  auto split = model::stratified_split(d.labels, {});
  ASSERT_TRUE(split);
  model::TrainParams p;
  p.subsample = 1.5;
  EXPECT_EQ(model::train_booster(d.x, d.labels, d.features, *split, p).error().code,
            "invalid_params");
}

TEST(TrainBooster, CheckTrainParamsNamesTheFlagAndValue) {
  auto bad = [](auto set) {
    model::TrainParams p;
    set(p);
    auto s = model::check_train_params(p);
    EXPECT_FALSE(s);
    return s ? core::Error{} : s.error();
  };
  EXPECT_TRUE(model::check_train_params({}));
  auto threads = bad([](model::TrainParams& p) { p.nthread = -1; });
  EXPECT_EQ(threads.field, "threads");
  EXPECT_EQ(threads.message, "--threads must be >= 0, got -1");
  auto eta = bad([](model::TrainParams& p) { p.eta = std::nan(""); });
  EXPECT_EQ(eta.message, "--eta must be > 0, got nan");
  EXPECT_EQ(bad([](model::TrainParams& p) { p.colsample_bytree = 0; }).message,
            "--colsample-bytree must be in (0, 1], got 0");
  EXPECT_EQ(bad([](model::TrainParams& p) { p.max_bin = 1; }).field, "max-bin");
  EXPECT_EQ(bad([](model::TrainParams& p) { p.lambda = -1; }).field, "lambda");
  EXPECT_EQ(bad([](model::TrainParams& p) { p.max_trees = 0; }).field, "trees");
}

TEST(TrainBooster, PythonXgboostPredictsIdentically) {
  if (std::system("/usr/bin/python3 -c 'import xgboost' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-xgboost is not installed (scripts/setup-deps.sh installs it)";
  }
  auto t = train(1500, 9);
  const fs::path dir = fs::temp_directory_path() / ("model_parity_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "model.json") << t.booster.model_json;
    std::ofstream f(dir / "x.csv");
    char buf[32];
    for (size_t r = 0; r < t.data.x.rows; ++r) {
      for (size_t c = 0; c < t.data.x.cols; ++c) {
        const float v = t.data.x.row(r)[c];
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
        f << (c ? "," : "") << (std::isnan(v) ? "nan" : buf);
      }
      f << "\n";
    }
  }
  std::string types;
  for (const auto& f : t.data.features) types += std::string(types.empty() ? "" : ",") + (f.categorical ? "c" : "q");
  const std::string cmd = "/usr/bin/python3 " LEADSCORE_SOURCE_DIR "/tests/model/xgb_predict.py " +
                          (dir / "model.json").string() + " " + (dir / "x.csv").string() + " " +
                          types + " " + (dir / "margin.txt").string() + " " +
                          (dir / "prob.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto margins = model::xgboost_predict(t.booster.model_json, t.data.x, t.data.features);
  auto probs = model::xgboost_predict(t.booster.model_json, t.data.x, t.data.features, {}, false);
  ASSERT_TRUE(margins && probs);
  std::ifstream fm(dir / "margin.txt"), fp(dir / "prob.txt");
  std::string line;
  size_t n = 0, diff = 0;
  while (std::getline(fm, line)) {
    const float py_margin = std::strtof(line.c_str(), nullptr);
    std::getline(fp, line);
    const float py_prob = std::strtof(line.c_str(), nullptr);
    diff += py_margin != (*margins)[n] || py_prob != (*probs)[n];
    ++n;
  }
  EXPECT_EQ(n, t.data.x.rows);
  EXPECT_EQ(diff, 0u);
  fs::remove_all(dir);
}

}  // namespace
