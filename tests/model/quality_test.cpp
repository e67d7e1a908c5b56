// Quality bar on generated real-estate leads (docs/MODEL.md): held-out ROC-AUC close to the
// oracle AUC of the generator's true_probability on the same rows, and calibration.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include "data/data.h"
#include "model/model.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

struct Quality {
  double auc, oracle_auc, ece;
};

// Generates `rows` leads with the real binary, trains the default model, and compares on the
// test split with the oracle (true_probability, read from the same CSV rows). A step that
// fails is a test failure: a broken generator must not turn the quality bar into a skip.
void measure(size_t rows, const fs::path& dir, Quality& out) {
  fs::create_directories(dir);
  const fs::path csv = dir / "leads.csv";
  const std::string cmd = std::string(LEADSCORE_BIN) + " generate --quiet --rows " +
                          std::to_string(rows) + " --seed 42 --out " + csv.string() + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "`leadscore generate` failed (stderr above): " << cmd;
  auto schema = core::load_schema(fs::path(LEADSCORE_SOURCE_DIR) / "schemas/real_estate.json");
  ASSERT_TRUE(schema) << schema.error().message;
  auto d = model::load_dataset(csv, **schema);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->rows_skipped, 0u);  // rows line up with the CSV's true_probability below

  std::vector<double> truth;
  auto reader = data::CsvReader::open(csv.string());
  ASSERT_TRUE(reader && reader->read_header());
  const int col = reader->column("true_probability");
  ASSERT_GE(col, 0);
  while (*reader->next()) truth.push_back(std::stod(std::string(reader->record()[col])));
  ASSERT_EQ(truth.size(), d->labels.size());

  model::TrainOptions opt;
  auto run = model::train_and_save(*d, (*schema)->to_json(), dir / "models", opt);
  ASSERT_TRUE(run) << run.error().message;
  auto split = model::stratified_split(d->labels, opt.split);  // same seed: the same test rows
  ASSERT_TRUE(split) << split.error().message;
  std::vector<double> oracle;
  std::vector<float> y;
  for (uint32_t i : split->test) {
    oracle.push_back(truth[i]);
    y.push_back(d->labels[i]);
  }
  out = {run->test.roc_auc, model::roc_auc(oracle, y), run->test.ece};
}

TEST(Quality, HeldOutAucNearOracleAndCalibratedAt10kRows) {
  model_test::TempDir dir("model_quality");
  Quality q{};
  ASSERT_NO_FATAL_FAILURE(measure(10000, dir.path(), q));
  RecordProperty("test_auc", std::to_string(q.auc));
  RecordProperty("oracle_auc", std::to_string(q.oracle_auc));
  RecordProperty("test_ece", std::to_string(q.ece));
  std::printf("test AUC %.4f, oracle AUC %.4f, test ECE %.4f\n", q.auc, q.oracle_auc, q.ece);
  // The bar (docs/MODEL.md): within 0.02 of the oracle, ECE <= 0.03 on 1,500 test rows.
  EXPECT_GT(q.auc, q.oracle_auc - 0.02);
  EXPECT_LE(q.ece, 0.03);
}

}  // namespace
