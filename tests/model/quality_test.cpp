// Quality bar on generated real-estate leads (docs/MODEL.md): held-out ROC-AUC close to the
// oracle AUC of the generator's true_probability on the same rows, and calibration.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

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
// test split with the oracle (true_probability, read from the same CSV rows).
Quality measure(size_t rows, const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path csv = dir / "leads.csv";
  const std::string cmd = std::string(LEADSCORE_BIN) + " generate --quiet --rows " +
                          std::to_string(rows) + " --seed 42 --out " + csv.string() +
                          " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return {NAN, NAN, NAN};
  auto schema = core::load_schema(fs::path(LEADSCORE_SOURCE_DIR) / "schemas/real_estate.json");
  EXPECT_TRUE(schema) << schema.error().message;
  auto d = model::load_dataset(csv, **schema);
  EXPECT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->rows_skipped, 0u);  // rows line up with the CSV's true_probability below

  std::vector<double> truth;
  auto reader = data::CsvReader::open(csv.string());
  EXPECT_TRUE(reader && reader->read_header());
  const int col = reader->column("true_probability");
  EXPECT_GE(col, 0);
  while (*reader->next()) truth.push_back(std::stod(std::string(reader->record()[col])));

  model::TrainOptions opt;
  auto run = model::train_and_save(*d, (*schema)->to_json(), dir / "models", opt);
  EXPECT_TRUE(run) << run.error().message;
  auto split = model::stratified_split(d->labels, opt.split);  // same seed: the same test rows
  std::vector<double> oracle;
  std::vector<float> y;
  for (uint32_t i : split->test) {
    oracle.push_back(truth[i]);
    y.push_back(d->labels[i]);
  }
  return {run->test.roc_auc, model::roc_auc(oracle, y), run->test.ece};
}

TEST(Quality, HeldOutAucNearOracleAndCalibratedAt10kRows) {
  model_test::TempDir dir("model_quality");
  const Quality q = measure(10000, dir.path());
  if (std::isnan(q.auc)) GTEST_SKIP() << "`leadscore generate` is not available in this build";
  RecordProperty("test_auc", std::to_string(q.auc));
  RecordProperty("oracle_auc", std::to_string(q.oracle_auc));
  RecordProperty("test_ece", std::to_string(q.ece));
  std::printf("test AUC %.4f, oracle AUC %.4f, test ECE %.4f\n", q.auc, q.oracle_auc, q.ece);
  // The bar (docs/MODEL.md): within 0.02 of the oracle, ECE <= 0.03 on 1,500 test rows.
  EXPECT_GT(q.auc, q.oracle_auc - 0.02);
  EXPECT_LE(q.ece, 0.03);
}

}  // namespace
