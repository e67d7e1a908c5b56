// CSV + schema -> training -> evaluation, on a differently shaped lead export
// (tests/data/edtech_leads.csv), and the errors a user meets with bad CSVs.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "model/model.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(LEADSCORE_SOURCE_DIR) / "tests" / "data";

class Dataset : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<model_test::TempDir>("model_dataset");
    dir_ = tmp_->path();
    auto s = core::load_schema(kData / "edtech_leads.schema.json");
    ASSERT_TRUE(s) << s.error().message;
    schema_ = *s;
  }
  fs::path write_csv(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  // A small CSV in the edtech shape with `pos` positives and `neg` negatives: every feature
  // column is in the header, only Lead Origin and TotalVisits have values.
  static std::string header(bool with_label = true) {
    return std::string("Prospect ID,Lead Origin,TotalVisits,") + kOtherFeatures +
           (with_label ? ",Converted\n" : "\n");
  }
  static std::string row(const std::string& id, const std::string& visits, const char* label) {
    std::string r = id;
    r.append(",API,").append(visits).append(kOtherFeatureCount, ',');
    if (label != nullptr) r.append(",").append(label);
    return r.append("\n");
  }
  std::string small_csv(int pos, int neg, bool with_label = true) {
    std::string s = header(with_label);
    for (int i = 0; i < pos + neg; ++i) {
      s += row(std::string("p").append(std::to_string(i)), std::to_string(i % 7),
               with_label ? (i < pos ? "1" : "0") : nullptr);
    }
    return s;
  }
  // The edtech schema's other 11 feature columns (left empty = missing).
  static constexpr const char* kOtherFeatures =
      "Lead Source,Do Not Email,Do Not Call,Total Time Spent on Website,Page Views Per Visit,"
      "Last Activity,Specialization,What is your current occupation,City,"
      "A free copy of Mastering The Interview,Asymmetrique Activity Score";
  static constexpr size_t kOtherFeatureCount = 11;

  std::unique_ptr<model_test::TempDir> tmp_;
  fs::path dir_;
  std::shared_ptr<const core::Schema> schema_;
};

TEST_F(Dataset, LoadsEdtechExportWithPlaceholdersAndDropsPii) {
  auto d = model::load_dataset(kData / "edtech_leads.csv", *schema_);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->x.rows, 480u);
  EXPECT_EQ(d->x.cols, 13u);  // PII, id and ignored columns are not features
  EXPECT_EQ(d->label_name, "Converted");
  EXPECT_EQ(d->rows_skipped, 0u);
  EXPECT_EQ(d->source_sha256.size(), 64u);
  // "Select", "NA" and "" in Specialization are missing (NaN), not a category.
  size_t spec_missing = 0;
  for (size_t r = 0; r < d->x.rows; ++r) spec_missing += std::isnan(d->x.row(r)[8]);
  EXPECT_GT(spec_missing, 100u);
  EXPECT_TRUE(d->features[0].categorical);
  EXPECT_FALSE(d->features[2].categorical);
  EXPECT_EQ(d->category_names[0].back(), "other");
}

TEST_F(Dataset, TrainsAndEvaluatesOnEdtechExport) {
  auto d = model::load_dataset(kData / "edtech_leads.csv", *schema_);
  ASSERT_TRUE(d) << d.error().message;
  model::TrainOptions opt;
  opt.split.valid_fraction = 0.2;
  opt.split.test_fraction = 0.2;
  auto run = model::train_and_save(*d, schema_->to_json(), dir_ / "models", opt);
  ASSERT_TRUE(run) << run.error().message;
  // 96 test rows: the labels carry strong signal, so even this small model ranks well.
  EXPECT_GT(run->test.roc_auc, 0.65);

  std::string manifest;
  {
    std::ifstream in(run->dir / "manifest.json");
    manifest.assign(std::istreambuf_iterator<char>(in), {});
  }
  // The manifest never holds a row of data: no contact details, no ids.
  for (const char* canary : {"example.invalid", "Test Person", "+91 90000", "600001"}) {
    EXPECT_EQ(manifest.find(canary), std::string::npos) << canary;
  }
  EXPECT_NE(manifest.find("\"Welingak Website\""), std::string::npos);

  auto e = model::evaluate_csv(dir_ / "models" / "latest", kData / "edtech_leads.csv");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->version, run->version);
  EXPECT_EQ(e->metrics.rows, 480u);
  EXPECT_GT(e->metrics.roc_auc, 0.75);
}

TEST_F(Dataset, MissingLabelColumnIsAClearError) {
  auto d = model::load_dataset(write_csv("x.csv", small_csv(30, 70, false)), *schema_);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "missing_label_column");
  EXPECT_EQ(d.error().field, "Converted");
}

TEST_F(Dataset, HeaderLackingFeatureColumnsIsRefusedWithEveryNameListed) {
  // Only the id, one renamed feature and the label: before, this loaded with NaN features.
  std::string csv = "Prospect ID,Total Visits,Converted\n";
  for (int i = 0; i < 100; ++i) {
    csv.append("p").append(std::to_string(i)).append(",").append(std::to_string(i % 7));
    csv.append(i < 30 ? ",1\n" : ",0\n");
  }
  auto d = model::load_dataset(write_csv("partial.csv", csv), *schema_);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "missing_columns");
  EXPECT_EQ(d.error().field, "Lead Origin");  // the first absent feature in schema order
  for (const char* name : {"'Lead Origin'", "'TotalVisits'", "'Asymmetrique Activity Score'"}) {
    EXPECT_NE(d.error().message.find(name), std::string::npos) << d.error().message;
  }
  EXPECT_NE(d.error().message.find("13 of the 13"), std::string::npos) << d.error().message;
}

TEST_F(Dataset, AllowMissingColumnsLoadsThemAsMissingAndReportsThem) {
  std::string csv = "Prospect ID,Lead Origin,TotalVisits,Converted\n";
  for (int i = 0; i < 100; ++i) {
    csv.append("p").append(std::to_string(i)).append(",API,3").append(i < 30 ? ",1\n" : ",0\n");
  }
  const fs::path path = write_csv("partial.csv", csv);
  auto refused = model::load_dataset(path, *schema_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "missing_columns");
  EXPECT_EQ(refused.error().field, "Lead Source");

  model::LoadOptions allow;
  allow.allow_missing_columns = true;
  model::LoadReport report;
  auto d = model::load_dataset(path, *schema_, allow, &report);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->x.rows, 100u);
  ASSERT_EQ(report.missing_columns.size(), 11u);
  EXPECT_EQ(report.missing_columns.front(), "Lead Source");
  EXPECT_EQ(report.missing_columns.back(), "Asymmetrique Activity Score");
  EXPECT_TRUE(std::isnan(d->x.row(0)[1]));  // Lead Source
  EXPECT_FALSE(std::isnan(d->x.row(0)[0]));  // Lead Origin
}

TEST_F(Dataset, OneClassAndTooFewRowsAreClearErrors) {
  model::TrainOptions opt;
  auto one = model::load_dataset(write_csv("one.csv", small_csv(0, 100)), *schema_);
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(model::train_and_save(*one, "{}", dir_ / "m", opt).error().code, "no_positives");
  auto all = model::load_dataset(write_csv("all.csv", small_csv(100, 0)), *schema_);
  ASSERT_TRUE(all);
  EXPECT_EQ(model::train_and_save(*all, "{}", dir_ / "m", opt).error().code, "no_negatives");
  auto few = model::load_dataset(write_csv("few.csv", small_csv(10, 20)), *schema_);
  ASSERT_TRUE(few);
  EXPECT_EQ(model::train_and_save(*few, "{}", dir_ / "m", opt).error().code, "too_few_rows");
  auto rare = model::load_dataset(write_csv("rare.csv", small_csv(8, 200)), *schema_);
  ASSERT_TRUE(rare);
  EXPECT_EQ(model::train_and_save(*rare, "{}", dir_ / "m", opt).error().code, "too_few_per_class");
}

TEST_F(Dataset, BadRowsAreSkippedAndCountedOrFailWhenStrict) {
  std::string csv = small_csv(40, 80);
  csv += row("bad1", "-5", "1");    // TotalVisits below min
  csv += row("bad2", "lots", "0");  // not a number
  const fs::path path = write_csv("bad.csv", csv);
  model::LoadReport report;
  auto d = model::load_dataset(path, *schema_, {}, &report);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->rows_skipped, 2u);
  EXPECT_EQ(d->x.rows, 120u);
  ASSERT_EQ(report.first_errors.size(), 2u);
  EXPECT_EQ(report.first_errors[0].code, "field_out_of_range");
  EXPECT_EQ(report.first_errors[0].field, "TotalVisits");
  EXPECT_EQ(report.first_errors[0].message.rfind("line 122: ", 0), 0u) << report.first_errors[0].message;
  EXPECT_EQ(report.first_errors[1].code, "field_type_mismatch");

  model::LoadOptions strict;
  strict.strict = true;
  auto s = model::load_dataset(path, *schema_, strict);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "field_out_of_range");
  EXPECT_NE(s.error().message.find("line 122"), std::string::npos);
}

}  // namespace
