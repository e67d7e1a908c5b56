// Scorer: loading and validating a model directory, scores equal to XGBoost's predictor plus
// calibration, grades/percentiles/reasons, and no heap allocation per score once warm.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include <cstdio>

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include "data/data.h"
#include "model/model.h"

// Counts heap allocations in this test binary (the no-allocation-per-score contract).
// GCC 12 flags the malloc/free pairing and std::string concatenation falsely here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wrestrict"
namespace {
std::atomic<long> g_allocations{0};
}
// AddressSanitizer owns operator new/delete (and checks their pairing), so the counter is only
// installed in normal builds; the allocation test skips itself under ASan.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCountingAllocations = false;
#else
constexpr bool kCountingAllocations = true;
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(LEADSCORE_SOURCE_DIR) / "tests" / "data";

class ScorerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("model_scorer_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    auto schema = core::load_schema(kData / "edtech_leads.schema.json");
    ASSERT_TRUE(schema);
    auto d = model::load_dataset(kData / "edtech_leads.csv", **schema);
    ASSERT_TRUE(d);
    data_ = new model::Dataset(std::move(*d));
    auto run = model::train_and_save(*data_, (*schema)->to_json(), *dir_ / "models", {});
    ASSERT_TRUE(run) << run.error().message;
    model_dir_ = new fs::path(run->dir);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete data_;
    delete model_dir_;
  }
  // A copy of the model directory to damage.
  fs::path copy_model(const std::string& name) {
    const fs::path to = *dir_ / name;
    fs::remove_all(to);
    fs::copy(*model_dir_, to);
    return to;
  }

  static fs::path* dir_;
  static fs::path* model_dir_;
  static model::Dataset* data_;
};
fs::path* ScorerTest::dir_ = nullptr;
fs::path* ScorerTest::model_dir_ = nullptr;
model::Dataset* ScorerTest::data_ = nullptr;

TEST_F(ScorerTest, ScoresEqualXgboostPlusCalibration) {
  auto scorer = model::Scorer::load(*model_dir_);
  ASSERT_TRUE(scorer) << scorer.error().message;
  const auto& s = **scorer;
  EXPECT_EQ(s.version(), model_dir_->filename().string());
  EXPECT_EQ(s.schema().name(), "edtech_leads");
  auto artifacts = model::load_artifacts(*model_dir_);
  ASSERT_TRUE(artifacts);
  auto margins = model::xgboost_predict(artifacts->model_json, data_->x, data_->features);
  ASSERT_TRUE(margins);
  model::ScoreResult r;
  for (size_t i = 0; i < data_->x.rows; ++i) {
    core::Lead lead;
    lead.features.assign(data_->x.row(i), data_->x.row(i) + data_->x.cols);
    s.score(lead, r);
    ASSERT_EQ(r.intent_score, s.calibration().apply((*margins)[i])) << "row " << i;
    EXPECT_EQ(r.score, static_cast<int>(std::lround(r.intent_score * 100)));
    EXPECT_EQ(r.grade, s.grades().grade(r.intent_score));
    EXPECT_GE(r.percentile, 0.0);
    EXPECT_LE(r.percentile, 100.0);
    ASSERT_GE(r.n_reasons, 1);
    ASSERT_LE(r.n_reasons, 3);
    for (int k = 0; k < r.n_reasons; ++k) {
      const auto& reason = r.reasons[k];
      ASSERT_LT(reason.feature, static_cast<int>(data_->x.cols));
      EXPECT_TRUE(std::isnan(reason.value) ? std::isnan(data_->x.row(i)[reason.feature])
                                           : reason.value == data_->x.row(i)[reason.feature]);
      if (k > 0) {
        EXPECT_GE(std::abs(r.reasons[k - 1].impact), std::abs(reason.impact));
      }
    }
  }
}

TEST_F(ScorerTest, ScoreRowsEqualsScoreRowForEveryRow) {
  auto scorer = model::Scorer::load(*model_dir_);
  ASSERT_TRUE(scorer);
  std::vector<const float*> rows;
  for (size_t i = 0; i < data_->x.rows; ++i) rows.push_back(data_->x.row(i));
  std::vector<model::ScoreResult> batch(rows.size());
  (*scorer)->score_rows(rows, batch.data());
  for (size_t i = 0; i < rows.size(); ++i) {
    model::ScoreResult one;
    (*scorer)->score_row({rows[i], data_->x.cols}, one);
    EXPECT_EQ(batch[i].intent_score, one.intent_score) << i;
    EXPECT_EQ(batch[i].score, one.score) << i;
    EXPECT_EQ(batch[i].grade, one.grade) << i;
    EXPECT_EQ(batch[i].percentile, one.percentile) << i;
    ASSERT_EQ(batch[i].n_reasons, one.n_reasons) << i;
    for (int k = 0; k < one.n_reasons; ++k) {
      EXPECT_EQ(batch[i].reasons[k].feature, one.reasons[k].feature) << i;
      EXPECT_EQ(batch[i].reasons[k].impact, one.reasons[k].impact) << i;
      EXPECT_TRUE(std::isnan(one.reasons[k].value) ? std::isnan(batch[i].reasons[k].value)
                                                   : batch[i].reasons[k].value == one.reasons[k].value);
    }
  }
}

TEST_F(ScorerTest, PercentileAndGradeFollowTheScore) {
  auto scorer = model::Scorer::load(*model_dir_);
  ASSERT_TRUE(scorer);
  model::ScoreResult lo;
  double prev_score = -1, prev_pct = -1;
  std::vector<std::pair<double, double>> pairs;
  for (size_t i = 0; i < data_->x.rows; ++i) {
    (*scorer)->score_row({data_->x.row(i), data_->x.cols}, lo);
    pairs.emplace_back(lo.intent_score, lo.percentile);
  }
  std::sort(pairs.begin(), pairs.end());
  for (auto [score, pct] : pairs) {
    if (score > prev_score) {
      EXPECT_GE(pct, prev_pct);
    }
    prev_score = score;
    prev_pct = pct;
  }
}

TEST_F(ScorerTest, ReasonTextIsPlainWords) {
  auto scorer = model::Scorer::load(*model_dir_);
  ASSERT_TRUE(scorer);
  model::ScoreResult r;
  (*scorer)->score_row({data_->x.row(0), data_->x.cols}, r);
  ASSERT_GE(r.n_reasons, 1);
  for (int k = 0; k < r.n_reasons; ++k) {
    const std::string text = model::reason_text(**scorer, r.reasons[k]);
    const auto& field = (*scorer)->schema().feature_field(static_cast<size_t>(r.reasons[k].feature));
    EXPECT_EQ(text.rfind(field.description + ": ", 0), 0u) << text;
    EXPECT_NE(text.find(r.reasons[k].impact > 0 ? "(+" : "(-"), std::string::npos) << text;
  }
  // A hand-made reason: category code 2 of "Lead Origin" is "Lead Add Form".
  EXPECT_EQ(model::reason_text(**scorer, model::Reason{0, 2.0f, 1.84f}),
            "Lead origin: Lead Add Form (+1.8)");
  // The impact reads like printf's "%+.1f" for every sign and rounding case.
  for (float impact : {0.0f, -0.0f, -0.04f, 0.05f, 0.25f, -0.25f, 1.25f, -2.35f, 12.95f, -7.0f,
                       0.149999f, 123.45f}) {
    char expected[32];
    std::snprintf(expected, sizeof expected, "%+.1f", static_cast<double>(impact));
    const std::string text = model::reason_text(**scorer, model::Reason{0, 2.0f, impact});
    EXPECT_EQ(text, std::string("Lead origin: Lead Add Form (") + expected + ")") << impact;
  }
}

TEST_F(ScorerTest, NoHeapAllocationPerScoreOnceWarm) {
  if (!kCountingAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  auto scorer = model::Scorer::load(*model_dir_);
  ASSERT_TRUE(scorer);
  model::ScoreResult r;
  (*scorer)->score_row({data_->x.row(0), data_->x.cols}, r);  // warm: per-thread buffer
  const long before = g_allocations.load();
  for (size_t i = 0; i < data_->x.rows; ++i) (*scorer)->score_row({data_->x.row(i), data_->x.cols}, r);
  EXPECT_EQ(g_allocations.load() - before, 0);
  model::ScoreResult without;
  (*scorer)->score_row({data_->x.row(7), data_->x.cols}, without, false);
  (*scorer)->score_row({data_->x.row(7), data_->x.cols}, r);
  EXPECT_EQ(without.n_reasons, 0);
  EXPECT_EQ(without.intent_score, r.intent_score);
  EXPECT_EQ(without.percentile, r.percentile);
}

// model.json names and types its features like the schema, so any XGBoost user who opens it
// sees them, and Python XGBoost checks them against a DMatrix's names.
TEST_F(ScorerTest, ModelJsonNamesTheSchemaFeaturesForPythonXgboost) {
  if (std::system("/usr/bin/python3 -c 'import xgboost' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-xgboost is not installed (scripts/setup-deps.sh installs it)";
  }
  const std::string cmd =
      "/usr/bin/python3 -c 'import json, sys, xgboost; b = xgboost.Booster(model_file=sys.argv[1]); "
      "print(json.dumps([b.feature_names, b.feature_types]))' " +
      (*model_dir_ / "model.json").string();
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << cmd;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(out).get(doc)) << out;
  std::vector<std::string> names, types, want_names, want_types;
  for (auto v : doc.at(0).get_array()) names.emplace_back(std::string_view(v));
  for (auto v : doc.at(1).get_array()) types.emplace_back(std::string_view(v));
  for (const auto& f : data_->features) {
    want_names.push_back(f.name);
    want_types.emplace_back(f.categorical ? "c" : "q");
  }
  ASSERT_EQ(want_names.size(), 13u);
  EXPECT_EQ(want_names[0], "Lead Origin");
  EXPECT_EQ(names, want_names) << out;
  EXPECT_EQ(types, want_types) << out;
}

// A manifest (schema and feature list agreeing) for a model.json trained on other columns:
// the names in model.json give it away at load.
TEST_F(ScorerTest, RefusesModelJsonWhoseFeatureNamesDisagreeWithTheManifest) {
  const fs::path dir = copy_model("other_names");
  {
    std::ifstream in(dir / "manifest.json");
    std::string m((std::istreambuf_iterator<char>(in)), {});
    size_t replaced = 0;
    for (size_t at; (at = m.find("\"Lead Origin\"")) != std::string::npos; ++replaced) {
      m.replace(at, 13, "\"Lead Channel\"");
    }
    ASSERT_GE(replaced, 2u);  // the schema's field and the feature list
    std::ofstream(dir / "manifest.json", std::ios::trunc) << m;
  }
  auto a = model::load_artifacts(dir);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, "feature_mismatch");
  EXPECT_EQ(a.error().message,
            "feature 0 is 'Lead Origin' in model.json but 'Lead Channel' in the manifest");
  auto s = model::Scorer::load(dir);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "feature_mismatch");
}

// Re-signs a model directory whose model.json was edited: the manifest gets the version the
// loader computes, so the load gets past the hash check to the checks behind it.
void reseal(const fs::path& dir) {
  auto a = model::load_artifacts(dir);
  ASSERT_FALSE(a);
  ASSERT_EQ(a.error().code, "version_mismatch");
  // "model.json and calibration hash to <new>, but the manifest says <old>: ..."
  const std::string& msg = a.error().message;
  const size_t at = msg.find("hash to ") + 8, says = msg.find("the manifest says ") + 18;
  const std::string fresh = msg.substr(at, 12), old = msg.substr(says, 12);
  std::ifstream in(dir / "manifest.json");
  std::string m((std::istreambuf_iterator<char>(in)), {});
  const size_t v = m.find("\"" + old + "\"");
  ASSERT_NE(v, std::string::npos) << m;
  m.replace(v + 1, old.size(), fresh);
  std::ofstream(dir / "manifest.json", std::ios::trunc) << m;
}

// A model.json whose feature types disagree with the manifest (a feature trained as numeric
// but declared categorical, or the reverse) is refused, naming the feature and both types.
TEST_F(ScorerTest, RefusesModelJsonWhoseFeatureTypesDisagreeWithTheManifest) {
  struct Case {
    size_t feature;
    const char* from;
    const char* to;
    const char* message;
  };
  ASSERT_TRUE(data_->features[0].categorical);
  ASSERT_FALSE(data_->features[2].categorical);
  const Case cases[] = {
      {0, "\"c\"", "\"q\"",
       "feature 0 'Lead Origin' is numeric (\"q\") in model.json but categorical in the manifest"},
      {2, "\"q\"", "\"c\"",
       "feature 2 'Do Not Email' is categorical (\"c\") in model.json but numeric in the "
       "manifest"},
  };
  for (const auto& c : cases) {
    const fs::path dir = copy_model("retyped_" + std::to_string(c.feature));
    {
      std::ifstream in(dir / "model.json");
      std::string m((std::istreambuf_iterator<char>(in)), {});
      size_t at = m.find("\"feature_types\":[");
      ASSERT_NE(at, std::string::npos);
      // Past '"feature_types":[' to the feature's type: a 3-byte string and a comma each.
      at += 17 + 4 * c.feature;
      ASSERT_EQ(m.substr(at, 3), c.from) << m.substr(at - 20, 60);
      m.replace(at, 3, c.to);
      std::ofstream(dir / "model.json", std::ios::trunc) << m;
    }
    ASSERT_NO_FATAL_FAILURE(reseal(dir));
    auto a = model::load_artifacts(dir);
    ASSERT_FALSE(a) << c.message;
    EXPECT_EQ(a.error().code, "feature_mismatch");
    EXPECT_EQ(a.error().message, c.message);
    EXPECT_EQ(a.error().field, data_->features[c.feature].name);
    auto s = model::Scorer::load(dir);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, c.message);
  }
}

TEST_F(ScorerTest, RejectsDamagedModelDirectories) {
  EXPECT_EQ(model::Scorer::load(*dir_ / "absent").error().code, "model_not_found");

  const fs::path renamed = copy_model("renamed");
  {
    std::ifstream in(renamed / "manifest.json");
    std::string m((std::istreambuf_iterator<char>(in)), {});
    const std::string from = "\"name\":\"Lead Origin\",\"type\"";
    const auto at = m.find(from);
    ASSERT_NE(at, std::string::npos);
    m.replace(at, from.size(), "\"name\":\"Lead Origins\",\"type\"");
    std::ofstream(renamed / "manifest.json", std::ios::trunc) << m;
  }
  auto r = model::Scorer::load(renamed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "feature_mismatch");

  const fs::path tampered = copy_model("tampered");
  {
    std::ifstream in(tampered / "model.json");
    std::string m((std::istreambuf_iterator<char>(in)), {});
    const auto at = m.find("\"base_score\":\"");
    ASSERT_NE(at, std::string::npos);
    m.insert(at + 14, "1");  // base_score 5E-1 -> 15E-1: a different model
    std::ofstream(tampered / "model.json", std::ios::trunc) << m;
  }
  auto t = model::Scorer::load(tampered);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, "version_mismatch");
}

}  // namespace
