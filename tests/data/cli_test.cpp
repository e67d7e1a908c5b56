// Runs the real `leadscore` binary: generate and schema infer.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "data/data.h"

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Run run(const std::string& args) {
  const std::string dir = ::testing::TempDir();
  // Per-process names: ctest runs these tests as parallel processes sharing TempDir().
  const std::string tag = std::to_string(::getpid());
  const std::string out = dir + "/cli_stdout." + tag, err = dir + "/cli_stderr." + tag;
  const std::string cmd = std::string(LEADSCORE_BIN) + " " + args + " >" + out + " 2>" + err;
  Run r;
  const int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

TEST(GenerateCli, DemoCommandWritesCsvAndReportsOracleAuc) {
  const std::string path = ::testing::TempDir() + "/leads_cli.csv";
  auto r = run("generate --rows 1000 --seed 42 --out " + path + " --report");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("rows: 1000"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("oracle AUC"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("positives:"), std::string::npos);
  auto reader = data::CsvReader::open(path);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->read_header());
  EXPECT_GE(reader->column("true_probability"), 0);
  uint64_t n = 0;
  for (;;) {
    auto got = reader->next();
    ASSERT_TRUE(got) << got.error().message;
    if (!*got) break;
    ++n;
  }
  EXPECT_EQ(n, 1000u);
  // stdout output is the same bytes.
  auto s = run("generate --rows 1000 --seed 42 --out -");
  ASSERT_EQ(s.status, 0);
  EXPECT_EQ(s.out, slurp(path));
  std::remove(path.c_str());
}

TEST(GenerateCli, SeedProfileAndReportJson) {
  const std::string json_path = ::testing::TempDir() + "/report.json";
  auto r = run("generate --profile seed --rows 300 --seed 1 --out - --report-json " + json_path);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("lead_id,name,age,city,city_tier,", 0), 0u);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(slurp(json_path)).get(doc));
  EXPECT_EQ(int64_t(doc["rows"]), 300);
  EXPECT_GT(double(doc["oracle_auc"]), 0.5);
}

TEST(GenerateCli, UnknownProfileIsOneClearError) {
  auto r = run("generate --profile retail --rows 10 --out -");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown profile 'retail'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST(GenerateCli, RowsOutOfRangeIsOneClearError) {
  const std::string path = ::testing::TempDir() + "/leads_bad_rows.csv";
  for (const char* rows : {"-5", "0", "50000001"}) {
    auto r = run(std::string("generate --rows ") + rows + " --out " + path);
    // ASSERT: without the check, the next (50M rows) case would write a 15 GB file.
    ASSERT_EQ(r.status, 2) << rows << ": " << r.err;
    EXPECT_NE(r.err.find("error: --rows must be between 1 and 50000000, got " + std::string(rows)),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::ifstream(path).good()) << "no output file for a refused run";
  }
}

TEST(GenerateCli, NegativeSeedIsOneClearError) {
  const std::string path = ::testing::TempDir() + "/leads_bad_seed.csv";
  std::remove(path.c_str());
  // Without the check "-5" silently became seed 2^64 - 5.
  auto r = run("generate --rows 10 --seed -5 --out " + path);
  ASSERT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("error: --seed must be between 0 and 9223372036854775807, got -5"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::ifstream(path).good()) << "no output file for a refused run";
  EXPECT_EQ(run("generate --rows 10 --seed 0 --quiet --out -").status, 0);
}

TEST(SchemaInferCli, DraftIsJsonOnStdout) {
  const std::string path = ::testing::TempDir() + "/leads_infer.csv";
  ASSERT_EQ(run("generate --rows 500 --seed 3 --quiet --out " + path).status, 0);
  auto r = run("schema infer " + path + " --label converted");
  ASSERT_EQ(r.status, 0) << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(r.out).get(doc)) << r.out;
  EXPECT_EQ(simdjson::dom::array(doc["fields"]).size(), 32u);
  EXPECT_NE(r.err.find("budget_lakh"), std::string::npos);  // human summary on stderr
  // A negative bound would wrap to "every column is a category"; 0 would make every one text.
  for (const char* bad : {"-3", "0"}) {
    auto refused = run("schema infer " + path + " --max-categories " + bad);
    EXPECT_EQ(refused.status, 2) << bad << ": " << refused.err;
    EXPECT_NE(refused.err.find("--max-categories"), std::string::npos) << refused.err;
    EXPECT_TRUE(refused.out.empty()) << "no draft for a refused run";
  }
  std::remove(path.c_str());
  auto missing = run("schema infer /nonexistent/leads.csv");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos);
}

}  // namespace
