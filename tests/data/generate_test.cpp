#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "data/data.h"

namespace {

using data::Profile;

struct Generated {
  std::string csv;
  data::GenerateReport report;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int col(const std::string& name) const {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  }
};

Generated run(Profile p, uint64_t rows, uint64_t seed) {
  Generated g;
  data::GenerateOptions opt;
  opt.rows = rows;
  opt.seed = seed;
  opt.profile = p;
  opt.progress = false;
  data::CsvWriter w(&g.csv);
  auto rep = data::generate(opt, w);
  EXPECT_TRUE(rep) << (rep ? "" : rep.error().message);
  if (rep) g.report = *rep;
  return g;
}

// 20k rows of a profile, generated and parsed once for all tests.
const Generated& big(Profile p) {
  static std::map<Profile, Generated> cache;
  auto it = cache.find(p);
  if (it != cache.end()) return it->second;
  Generated g = run(p, 20000, 7);
  auto r = data::CsvReader::from_string(g.csv);
  EXPECT_TRUE(r.read_header());
  g.header = r.header();
  for (;;) {
    auto got = r.next();
    EXPECT_TRUE(got) << (got ? "" : got.error().message);
    if (!got || !*got) break;
    g.rows.emplace_back(r.record().begin(), r.record().end());
  }
  return cache.emplace(p, std::move(g)).first->second;
}

bool is_missing_token(const std::string& s) { return s.empty() || s == "NA" || s == "Select"; }

double to_double(const std::string& s) {
  double v = NAN;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

struct SchemaField {
  std::string name, type, role;
  std::vector<std::string> categories;
  double min = NAN, max = NAN;
};

std::vector<SchemaField> load_schema(const std::string& file) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto err = parser.load(std::string(LEADSCORE_SOURCE_DIR) + "/schemas/" + file).get(doc);
  EXPECT_FALSE(err) << simdjson::error_message(err);
  std::vector<SchemaField> out;
  if (err) return out;
  for (auto f : doc["fields"].get_array()) {
    SchemaField s;
    s.name = std::string(std::string_view(f["name"]));
    s.type = std::string(std::string_view(f["type"]));
    s.role = std::string(std::string_view(f["role"]));
    simdjson::dom::array cats;
    if (!f["categories"].get(cats)) {
      for (auto c : cats) s.categories.emplace_back(std::string_view(c));
    }
    double v = 0;
    if (!f["min"].get(v)) s.min = v;
    if (!f["max"].get(v)) s.max = v;
    int64_t iv = 0;
    if (std::isnan(s.min) && !f["min"].get(iv)) s.min = static_cast<double>(iv);
    if (std::isnan(s.max) && !f["max"].get(iv)) s.max = static_cast<double>(iv);
    out.push_back(std::move(s));
  }
  return out;
}

std::string schema_file(Profile p) { return p == Profile::kSeed ? "seed.json" : "real_estate.json"; }

class GeneratorProfiles : public ::testing::TestWithParam<Profile> {};

TEST_P(GeneratorProfiles, SameSeedSameBytesOtherSeedOtherBytes) {
  const auto a = run(GetParam(), 3000, 42);
  const auto b = run(GetParam(), 3000, 42);
  const auto c = run(GetParam(), 3000, 43);
  EXPECT_EQ(a.csv, b.csv);
  EXPECT_NE(a.csv, c.csv);
  EXPECT_GT(a.csv.size(), 3000u * 50);
}

TEST_P(GeneratorProfiles, PositiveRateWithinTolerance) {
  const auto& g = big(GetParam());
  const auto t = data::profile_targets(GetParam());
  const double rate = static_cast<double>(g.report.positives) / static_cast<double>(g.report.rows);
  EXPECT_NEAR(rate, t.positive_rate, t.positive_rate_tolerance);
  EXPECT_GE(rate, 0.10);
  EXPECT_LE(rate, 0.20);
  // The label column agrees with the report.
  const int y = g.col("converted");
  ASSERT_GE(y, 0);
  uint64_t ones = 0;
  for (const auto& r : g.rows) ones += r[static_cast<size_t>(y)] == "1";
  EXPECT_EQ(ones, g.report.positives);
}

TEST_P(GeneratorProfiles, OracleAucInDocumentedBand) {
  const auto& g = big(GetParam());
  const auto t = data::profile_targets(GetParam());
  // Recompute from the CSV columns, independently of the report.
  std::vector<double> p;
  std::vector<int> y;
  const auto pc = static_cast<size_t>(g.col("true_probability"));
  const auto yc = static_cast<size_t>(g.col("converted"));
  for (const auto& r : g.rows) {
    p.push_back(to_double(r[pc]));
    y.push_back(r[yc] == "1");
  }
  const double auc = data::roc_auc(p, y);
  EXPECT_NEAR(auc, g.report.oracle_auc, 1e-3);
  EXPECT_GE(auc, t.oracle_auc_min);
  EXPECT_LE(auc, t.oracle_auc_max);
}

TEST_P(GeneratorProfiles, MissingnessPerColumnMatchesSpec) {
  const auto& g = big(GetParam());
  const auto& spec = data::profile_columns(GetParam());
  ASSERT_EQ(g.header.size(), spec.size());
  for (size_t c = 0; c < spec.size(); ++c) {
    EXPECT_EQ(g.header[c], spec[c].name);
    uint64_t missing = 0;
    for (const auto& r : g.rows) missing += is_missing_token(r[c]);
    EXPECT_EQ(missing, g.report.missing[c]) << spec[c].name;
    const double rate = static_cast<double>(missing) / static_cast<double>(g.rows.size());
    EXPECT_NEAR(rate, spec[c].missing_rate, 0.015) << spec[c].name;
  }
}

TEST_P(GeneratorProfiles, CsvColumnsMatchSchemaAndCategoriesAreKnown) {
  const auto& g = big(GetParam());
  const auto schema = load_schema(schema_file(GetParam()));
  const auto& spec = data::profile_columns(GetParam());
  ASSERT_EQ(schema.size(), g.header.size());
  for (size_t c = 0; c < schema.size(); ++c) {
    EXPECT_EQ(schema[c].name, g.header[c]);
    const auto& f = schema[c];
    if (f.type == "category") {
      std::set<std::string> allowed(f.categories.begin(), f.categories.end());
      EXPECT_EQ(std::vector<std::string>(spec[c].categories.begin(), spec[c].categories.end()),
                f.categories)
          << f.name;
      std::set<std::string> messy(spec[c].messy.begin(), spec[c].messy.end());
      for (const auto& r : g.rows) {
        const auto& v = r[c];
        // Messy localities carry the city: "Powai, Mumbai".
        const bool messy_locality =
            f.name == "locality" && v.find(", ") != std::string::npos &&
            allowed.count(v.substr(0, v.find(", ")));
        EXPECT_TRUE(is_missing_token(v) || allowed.count(v) || messy.count(v) || messy_locality)
            << f.name << ": '" << v << "'";
        // A messy spelling must not be a case variant: core matches categories
        // case-insensitively, so it would not be `other`.
        if (messy.count(v)) {
          for (const auto& cat : f.categories) {
            EXPECT_FALSE(strcasecmp(cat.c_str(), v.c_str()) == 0) << v;
          }
        }
      }
    } else if (f.type == "integer" || f.type == "number") {
      for (const auto& r : g.rows) {
        if (is_missing_token(r[c])) continue;
        const double v = to_double(r[c]);
        ASSERT_FALSE(std::isnan(v)) << f.name << ": '" << r[c] << "'";
        if (f.type == "integer") {
          EXPECT_EQ(v, std::floor(v)) << f.name;
        }
        if (!std::isnan(f.min)) {
          EXPECT_GE(v, f.min) << f.name;
        }
        if (!std::isnan(f.max)) {
          EXPECT_LE(v, f.max) << f.name;
        }
      }
    } else if (f.type == "boolean") {
      static const std::set<std::string> kBool{"true", "false", "Yes", "No", "0", "1"};
      for (const auto& r : g.rows) {
        EXPECT_TRUE(is_missing_token(r[c]) || kBool.count(r[c])) << f.name << ": " << r[c];
      }
    }
  }
}

TEST_P(GeneratorProfiles, PiiColumnsArePresentAndFilled) {
  const auto& g = big(GetParam());
  const auto schema = load_schema(schema_file(GetParam()));
  size_t pii = 0;
  for (size_t c = 0; c < schema.size(); ++c) {
    if (schema[c].role != "pii") continue;
    ++pii;
    size_t filled = 0;
    for (const auto& r : g.rows) filled += !r[c].empty();
    EXPECT_GT(filled, g.rows.size() / 2) << schema[c].name;
  }
  EXPECT_EQ(pii, GetParam() == Profile::kSeed ? 1u : 3u);
}

INSTANTIATE_TEST_SUITE_P(Profiles, GeneratorProfiles,
                         ::testing::Values(Profile::kRealEstate, Profile::kSeed),
                         [](const auto& info) { return std::string(data::profile_name(info.param)); });

TEST(RealEstateLeads, PhonesEmailsAndNotesLookReal) {
  const auto& g = big(Profile::kRealEstate);
  const auto phone = static_cast<size_t>(g.col("phone"));
  const auto email = static_cast<size_t>(g.col("email"));
  const auto notes = static_cast<size_t>(g.col("notes"));
  size_t hinglish = 0, contact_in_notes = 0, multiline = 0;
  for (const auto& r : g.rows) {
    EXPECT_EQ(r[phone].rfind("+91", 0), 0u) << r[phone];
    if (!r[email].empty() && r[email] != "NA") {
      EXPECT_NE(r[email].find('@'), std::string::npos);
    }
    const auto& n = r[notes];
    hinglish += n.find(" hai") != std::string::npos || n.find("chahiye") != std::string::npos;
    contact_in_notes += n.find('@') != std::string::npos || n.find("no. ") != std::string::npos ||
                        n.find("Call on 0") != std::string::npos ||
                        n.find("Mera number") != std::string::npos;
    multiline += n.find('\n') != std::string::npos;
  }
  const double n = static_cast<double>(g.rows.size());
  EXPECT_GT(hinglish / n, 0.10);
  EXPECT_GT(contact_in_notes / n, 0.02);
  EXPECT_GT(multiline, 0u);
}

TEST(RealEstateLeads, DuplicatesFakesAndBrokers) {
  const auto& g = big(Profile::kRealEstate);
  const auto phone = static_cast<size_t>(g.col("phone"));
  const auto outcome = static_cast<size_t>(g.col("last_call_outcome"));
  std::map<std::string, int> seen;
  size_t junk = 0, broker = 0;
  for (const auto& r : g.rows) {
    if (r[phone] == "+91 99999 99999" || r[phone] == "+91 12345 67890") {
      ++junk;
    } else {
      ++seen[r[phone]];
    }
    broker += r[outcome] == "Broker";
  }
  size_t dup_rows = 0;
  for (const auto& [k, v] : seen) dup_rows += static_cast<size_t>(v - 1);
  const double n = static_cast<double>(g.rows.size());
  EXPECT_NEAR(dup_rows / n, 0.04, 0.015);
  // Fake + broker leads: 3-8 % of rows (broker outcome is hidden by missingness sometimes).
  EXPECT_GE((junk + broker) / n, 0.03);
  EXPECT_LE((junk + broker) / n, 0.08);
}

TEST(RealEstateLeads, NightAndWeekendLeadsWaitLonger) {
  const auto& g = big(Profile::kRealEstate);
  const auto created = static_cast<size_t>(g.col("created_at"));
  const auto wait = static_cast<size_t>(g.col("first_response_min"));
  std::vector<double> day, night;
  for (const auto& r : g.rows) {
    if (is_missing_token(r[wait])) continue;
    const int hour = std::stoi(r[created].substr(11, 2));
    (hour >= 10 && hour < 19 ? day : night).push_back(to_double(r[wait]));
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  ASSERT_FALSE(day.empty());
  ASSERT_FALSE(night.empty());
  EXPECT_GT(median(night), 3 * median(day));
}

TEST(RealEstateLeads, BuyAndRentBudgetsUsePortalFormats) {
  const auto& g = big(Profile::kRealEstate);
  const auto budget = static_cast<size_t>(g.col("budget_lakh"));
  const auto tx = static_cast<size_t>(g.col("transaction_type"));
  size_t rupee = 0, crore = 0, lakh_unit = 0, range = 0, plain = 0, rent = 0;
  for (const auto& r : g.rows) {
    const auto& b = r[budget];
    rent += r[tx] == "Rent";
    if (is_missing_token(b)) continue;
    if (b.rfind("\xE2\x82\xB9", 0) == 0) ++rupee;
    else if (b.find('-') != std::string::npos) ++range;
    else if (b.find("r") != std::string::npos) ++crore;
    else if (b.find('L') != std::string::npos || b.find("akh") != std::string::npos) ++lakh_unit;
    else if (to_double(b) == to_double(b)) ++plain;
  }
  for (size_t k : {rupee, crore, lakh_unit, range, plain}) EXPECT_GT(k, 200u);
  EXPECT_NEAR(static_cast<double>(rent) / static_cast<double>(g.rows.size()), 0.22, 0.03);
}

TEST(SeedLeads, DomainsOfTheOriginalAssignment) {
  const auto& g = big(Profile::kSeed);
  const std::map<std::string, int> tier{{"Mumbai", 1}, {"Delhi", 1},  {"Bangalore", 1},
                                        {"Pune", 2},   {"Ahmedabad", 2}, {"Chandigarh", 2},
                                        {"Indore", 3}, {"Rajkot", 3}, {"Nagpur", 3}};
  const auto age = static_cast<size_t>(g.col("age"));
  const auto city = static_cast<size_t>(g.col("city"));
  const auto ct = static_cast<size_t>(g.col("city_tier"));
  int min_age = 100, max_age = 0;
  for (const auto& r : g.rows) {
    const int a = std::stoi(r[age]);
    min_age = std::min(min_age, a);
    max_age = std::max(max_age, a);
    ASSERT_TRUE(tier.count(r[city])) << r[city];
    EXPECT_EQ(std::stoi(r[ct]), tier.at(r[city])) << r[city];
  }
  EXPECT_GE(min_age, 21);
  EXPECT_LE(max_age, 60);
  EXPECT_LE(min_age, 23);
  EXPECT_GE(max_age, 58);
}

TEST(GenerateReport, TextAndJsonMentionTheOracleAuc) {
  const auto g = run(Profile::kRealEstate, 500, 1);
  std::string text, json;
  data::append_report_text(g.report, text);
  data::append_report_json(g.report, json);
  EXPECT_NE(text.find("oracle AUC"), std::string::npos);
  EXPECT_NE(text.find("email_opens"), std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(json).get(doc));
  EXPECT_EQ(int64_t(doc["rows"]), 500);
  EXPECT_NEAR(double(doc["oracle_auc"]), g.report.oracle_auc, 1e-12);
}

TEST(Generate, RowsOutOfRangeIsAnErrorBeforeAnythingIsWritten) {
  // 2^64 - 5 is what "--rows -5" used to become; reserving that many threw length_error.
  // Largest last: without the check it would generate 50M rows before failing.
  for (uint64_t rows : {uint64_t{0}, ~uint64_t{0} - 4, data::kMaxGenerateRows + 1}) {
    std::string csv;
    data::CsvWriter w(&csv);
    data::GenerateOptions opt;
    opt.rows = rows;
    auto r = data::generate(opt, w);
    ASSERT_FALSE(r) << rows;
    EXPECT_EQ(r.error().code, "invalid_rows");
    EXPECT_EQ(r.error().field, "rows");
    EXPECT_TRUE(csv.empty());
  }
}

TEST(Profiles, ParseNames) {
  EXPECT_EQ(*data::parse_profile("seed"), Profile::kSeed);
  EXPECT_EQ(*data::parse_profile("real_estate"), Profile::kRealEstate);
  auto bad = data::parse_profile("retail");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "profile");
}

}  // namespace
