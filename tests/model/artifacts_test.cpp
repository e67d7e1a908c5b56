// Model directories: files, manifest fields, content-hash versions, refusal to overwrite,
// the latest link, and validation on load.
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "model/model.h"
#include "synthetic.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;

class Artifacts : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<model_test::TempDir>("model_artifacts");
    root_ = *tmp_ / "models";
    auto s = model_test::make_synthetic(1500, 21);
    data_.x = s.x;
    data_.labels = s.labels;
    data_.features = s.features;
    data_.category_names.resize(s.features.size());
    data_.category_names[5] = {"a", "b", "c", "d", "e", "f", "other"};
    data_.label_name = "converted";
    data_.source_name = "synthetic.csv";
    data_.source_sha256 = model::sha256_hex("synthetic");
    data_.rows_read = s.x.rows;
  }
  std::unique_ptr<model_test::TempDir> tmp_;
  fs::path root_;
  model::Dataset data_;
  const std::string schema_ = R"({"name":"synthetic","version":1,"fields":[]})";
};

TEST_F(Artifacts, WritesModelManifestReportAndLatestLink) {
  auto run = model::train_and_save(data_, schema_, root_, {});
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->version.size(), 12u);
  for (const char* f : {"model.json", "manifest.json", "report.md"}) {
    EXPECT_TRUE(fs::exists(run->dir / f)) << f;
  }
  EXPECT_EQ(fs::read_symlink(root_ / "latest"), fs::path(run->version));

  simdjson::dom::parser parser;
  auto doc = parser.load((run->dir / "manifest.json").string());
  ASSERT_FALSE(doc.error());
  EXPECT_EQ(std::string_view(doc["version"]), run->version);
  EXPECT_EQ(std::string_view(doc["schema"]["name"]), "synthetic");
  EXPECT_EQ(doc["features"].get_array().size(), 7u);
  EXPECT_EQ(std::string_view(doc["features"].at(5)["categories"].at(6)), "other");
  EXPECT_EQ(uint64_t(doc["training_data"]["rows_used"]), 1500u);
  EXPECT_EQ(std::string_view(doc["training_data"]["sha256"]), data_.source_sha256);
  EXPECT_GE(double(doc["training_data"]["columns"].at(6)["missing_rate"]), 0.15);
  EXPECT_FALSE(doc["training_data"]["columns"].at(5)["category_counts"]["a"].error());
  EXPECT_EQ(int64_t(doc["training"]["best_iteration"]), run->booster.best_iteration);
  EXPECT_EQ(doc["score_distribution"]["quantiles"].get_array().size(), 101u);
  for (const char* split : {"train", "valid", "test"}) {
    EXPECT_GT(double(doc["metrics"][split]["roc_auc"]), 0.6) << split;
  }
  EXPECT_FALSE(doc["calibration"]["method"].error());
  EXPECT_FALSE(doc["hyperparameters"]["max_depth"].error());
  EXPECT_GE(double(doc["grades"]["A"]), double(doc["grades"]["B"]));

  auto loaded = model::load_artifacts(root_ / "latest");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->version, run->version);
  EXPECT_EQ(loaded->features.size(), 7u);
  EXPECT_TRUE(loaded->features[5].categorical);
  auto p = model::predict_calibrated(*loaded, data_.x);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size(), 1500u);
}

TEST_F(Artifacts, SameDataAndSeedGiveSameVersionAndRefuseOverwrite) {
  auto a = model::train_and_save(data_, schema_, root_, {});
  ASSERT_TRUE(a) << a.error().message;
  auto again = model::train_and_save(data_, schema_, root_, {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "model_exists");
  model::TrainOptions force;
  force.force = true;
  auto b = model::train_and_save(data_, schema_, root_, force);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->version, b->version);
  model::TrainOptions other_seed;
  other_seed.params.seed = 99;
  other_seed.split.seed = 99;
  auto c = model::train_and_save(data_, schema_, root_, other_seed);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_NE(c->version, a->version);
  EXPECT_EQ(fs::read_symlink(root_ / "latest"), fs::path(c->version));
}

TEST_F(Artifacts, LoadRejectsTamperedOrMissingFiles) {
  auto run = model::train_and_save(data_, schema_, root_, {});
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(model::load_artifacts(root_ / "nope").error().code, "model_not_found");
  {
    std::ofstream(run->dir / "model.json", std::ios::app) << " ";
  }
  EXPECT_EQ(model::load_artifacts(run->dir).error().code, "version_mismatch");
  fs::remove(run->dir / "model.json");
  EXPECT_EQ(model::load_artifacts(run->dir).error().code, "model_not_found");
}

TEST_F(Artifacts, OneClassDataIsRejectedBeforeAnythingIsWritten) {
  std::fill(data_.labels.begin(), data_.labels.end(), 0.0f);
  auto run = model::train_and_save(data_, schema_, root_, {});
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, "no_positives");
  EXPECT_FALSE(fs::exists(root_));
}

}  // namespace
