// `leadscore train` and `leadscore evaluate` as a user runs them (the real binary).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
const std::string kData = LEADSCORE_SOURCE_DIR "/tests/data/";

struct Run {
  int status;
  std::string output;  // stdout, or stdout+stderr when merged
};

Run run(const std::string& args, bool merge_stderr = true) {
  const std::string cmd = std::string(LEADSCORE_BIN) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  Run r{0, {}};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  r.status = WEXITSTATUS(pclose(p));
  return r;
}

class Cli : public ::testing::Test {
 protected:
  model_test::TempDir tmp_{"model_cli"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(Cli, TrainThenEvaluateAsTableAndJson) {
  const std::string train_args = "train --data " + kData + "edtech_leads.csv --schema " + kData +
                                 "edtech_leads.schema.json --out " + (dir_ / "models").string();
  auto t = run(train_args);
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("test split: ROC-AUC"), std::string::npos) << t.output;
  ASSERT_TRUE(fs::exists(dir_ / "models" / "latest" / "manifest.json"));

  auto again = run(train_args);
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.output.find("model_exists"), std::string::npos) << again.output;
  EXPECT_EQ(run(train_args + " --force").status, 0);

  const std::string eval_args = "evaluate --model " + (dir_ / "models" / "latest").string() +
                                " --data " + kData + "edtech_leads.csv";
  auto table = run(eval_args);
  ASSERT_EQ(table.status, 0) << table.output;
  EXPECT_NE(table.output.find("decile"), std::string::npos);
  EXPECT_NE(table.output.find("grade B or better"), std::string::npos);

  auto json = run(eval_args + " --json", false);
  ASSERT_EQ(json.status, 0);
  simdjson::dom::parser parser;
  auto doc = parser.parse(json.output);
  ASSERT_FALSE(doc.error()) << json.output;
  EXPECT_EQ(uint64_t(doc["metrics"]["rows"]), 480u);
  EXPECT_EQ(doc["metrics"]["deciles"].get_array().size(), 10u);
}

// A column renamed in the export (TotalVisits -> "Total Visits") is refused by train and
// evaluate, not read as a column of NaNs; --allow-missing-columns proceeds with a warning.
TEST_F(Cli, MissingFeatureColumnIsRefusedUnlessAllowed) {
  const fs::path renamed = dir_ / "renamed.csv";
  {
    std::ifstream in(kData + "edtech_leads.csv");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto at = text.find(",TotalVisits,");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 13, ",Total Visits,");
    std::ofstream(renamed) << text;
  }
  const std::string schema = " --schema " + kData + "edtech_leads.schema.json";
  const std::string models = " --out " + (dir_ / "models").string();
  auto t = run("train --data " + renamed.string() + schema + models);
  EXPECT_EQ(t.status, 1) << t.output;
  EXPECT_NE(t.output.find("leadscore train: missing_columns: "), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("'TotalVisits'"), std::string::npos) << t.output;
  EXPECT_EQ(std::count(t.output.begin(), t.output.end(), '\n'), 1) << t.output;
  EXPECT_FALSE(fs::exists(dir_ / "models"));

  auto allowed = run("train --allow-missing-columns --data " + renamed.string() + schema + models);
  ASSERT_EQ(allowed.status, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("leadscore train: warning: --allow-missing-columns: 1 feature "
                                "column(s) absent from the CSV, missing in every row: TotalVisits"),
            std::string::npos)
      << allowed.output;

  // The model (trained without TotalVisits, but its schema has it) refuses the same CSV too.
  const std::string eval = "evaluate --model " + (dir_ / "models" / "latest").string() +
                           " --data " + renamed.string();
  auto e = run(eval);
  EXPECT_EQ(e.status, 1) << e.output;
  EXPECT_NE(e.output.find("leadscore evaluate: missing_columns: "), std::string::npos) << e.output;
  auto e_allowed = run(eval + " --allow-missing-columns");
  ASSERT_EQ(e_allowed.status, 0) << e_allowed.output;
  EXPECT_NE(e_allowed.output.find("leadscore evaluate: warning: --allow-missing-columns"),
            std::string::npos)
      << e_allowed.output;
}

TEST_F(Cli, OutOfRangeTrainFlagsAreOneLineUsageErrors) {
  const std::string base = "train --data " + kData + "edtech_leads.csv --schema " + kData +
                           "edtech_leads.schema.json --out " + (dir_ / "m").string() + " ";
  const std::pair<const char*, const char*> cases[] = {
      {"--valid-fraction 0.6 --test-fraction 0.5",
       "leadscore train: invalid_params: --valid-fraction + --test-fraction must be < 1"},
      {"--test-fraction -0.1", "leadscore train: invalid_params: --test-fraction must be in (0, 1), got -0.1"},
      {"--valid-fraction 1", "leadscore train: invalid_params: --valid-fraction must be in (0, 1), got 1"},
      {"--threads -2", "leadscore train: invalid_params: --threads must be >= 0, got -2"},
      {"--scale-pos-weight -1", "leadscore train: invalid_params: --scale-pos-weight takes"},
      {"--seed -5",
       "leadscore train: invalid_params: --seed must be between 0 and 9223372036854775807, got -5"},
  };
  for (const auto& [flags, expected] : cases) {
    auto r = run(base + flags);
    EXPECT_EQ(r.status, 2) << flags << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir_ / "m"));
}

TEST_F(Cli, ClearOneLineErrors) {
  {
    std::ofstream f(dir_ / "nolabel.csv");
    f << "Prospect ID,Lead Origin\n";
    for (int i = 0; i < 100; ++i) f << "p" << i << ",API\n";
  }
  auto r = run("train --data " + (dir_ / "nolabel.csv").string() + " --schema " + kData +
               "edtech_leads.schema.json --out " + (dir_ / "m").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("leadscore train: missing_label_column:"), std::string::npos) << r.output;

  auto e = run("evaluate --model " + (dir_ / "none").string() + " --data x.csv");
  EXPECT_EQ(e.status, 1);
  EXPECT_NE(e.output.find("leadscore evaluate: model_not_found:"), std::string::npos) << e.output;
}

}  // namespace
