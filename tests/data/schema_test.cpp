// The shipped schemas against generated CSVs, through core's real schema loader and parser.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/core.h"
#include "data/data.h"

namespace {

using data::Profile;

std::shared_ptr<const core::Schema> shipped(Profile p) {
  const std::string path = std::string(LEADSCORE_SOURCE_DIR) + "/schemas/" +
                           (p == Profile::kSeed ? "seed.json" : "real_estate.json");
  auto s = core::load_schema(path);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? *s : nullptr;
}

std::string generate(Profile p, uint64_t rows, uint64_t seed) {
  std::string csv;
  data::CsvWriter w(&csv);
  data::GenerateOptions opt;
  opt.rows = rows;
  opt.seed = seed;
  opt.profile = p;
  opt.progress = false;
  EXPECT_TRUE(data::generate(opt, w));
  return csv;
}

class ShippedSchema : public ::testing::TestWithParam<Profile> {};

TEST_P(ShippedSchema, LoadsAndMatchesGeneratorColumns) {
  auto schema = shipped(GetParam());
  ASSERT_TRUE(schema);
  const auto& cols = data::profile_columns(GetParam());
  ASSERT_EQ(schema->fields().size(), cols.size());
  for (size_t i = 0; i < cols.size(); ++i) EXPECT_EQ(schema->fields()[i].name, cols[i].name);
  ASSERT_NE(schema->label_field(), nullptr);
  EXPECT_EQ(schema->label_field()->name, "converted");
  ASSERT_NE(schema->id_field(), nullptr);
  EXPECT_EQ(schema->id_field()->name, "lead_id");
  if (GetParam() == Profile::kSeed) {
    ASSERT_NE(schema->age_field(), nullptr);
    EXPECT_EQ(schema->age_field()->name, "age");
    EXPECT_EQ(schema->feature_count(), 21u);
  } else {
    ASSERT_NE(schema->consent_field(), nullptr);
    ASSERT_EQ(schema->text_fields().size(), 1u);
    EXPECT_EQ(schema->text_fields()[0]->name, "notes");
  }
  for (const auto& name : schema->feature_names()) {
    EXPECT_NE(name, "true_probability");
    EXPECT_NE(name, "name");
    EXPECT_NE(name, "phone");
    EXPECT_NE(name, "email");
  }
}

// Every generated row parses; PII values appear nowhere in the parsed Lead.
TEST_P(ShippedSchema, EveryGeneratedRowParsesAndPiiIsDropped) {
  auto schema = shipped(GetParam());
  ASSERT_TRUE(schema);
  for (uint64_t seed : {1u, 42u}) {
    auto reader = data::CsvReader::from_string(generate(GetParam(), 4000, seed));
    ASSERT_TRUE(reader.read_header());
    core::RecordParser::Options opt;
    opt.require_label = true;
    auto parser = core::RecordParser::create(schema, reader.header(), opt);
    ASSERT_TRUE(parser) << parser.error().message;
    std::vector<int> pii_cols;
    for (const char* name : {"name", "phone", "email"}) {
      if (reader.column(name) >= 0) pii_cols.push_back(reader.column(name));
    }
    const int budget_col = reader.column("budget_lakh");
    const int budget_feature = [&] {
      const auto& names = schema->feature_names();
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == "budget_lakh") return static_cast<int>(i);
      }
      return -1;
    }();
    uint64_t rows = 0, other_codes = 0;
    for (;;) {
      auto got = reader.next();
      ASSERT_TRUE(got) << got.error().message;
      if (!*got) break;
      ++rows;
      auto lead = parser->parse(reader.record());
      ASSERT_TRUE(lead) << "line " << reader.record_line() << ": " << lead.error().code << " "
                        << lead.error().message << " (" << lead.error().field << ")";
      ASSERT_EQ(lead->features.size(), schema->feature_count());
      ASSERT_TRUE(lead->label.has_value());
      EXPECT_FALSE(lead->id.empty());
      for (int c : pii_cols) {
        const std::string_view pii = reader.record()[static_cast<size_t>(c)];
        if (pii.size() < 4) continue;
        EXPECT_NE(lead->id, pii);
        // Free text is scrubbed of phones and e-mails (not of names: a junk lead named
        // "test" may well have "test" as its notes).
        if (reader.header()[static_cast<size_t>(c)] != "name") {
          for (const auto& [k, v] : lead->texts) {
            EXPECT_EQ(v.find(pii), std::string::npos) << "PII leaked into " << k << ": " << v;
          }
        }
        for (const auto& [k, v] : lead->meta) {
          EXPECT_EQ(v.find(pii), std::string::npos) << "PII leaked into " << k;
        }
      }
      if (budget_col >= 0 && budget_feature >= 0 &&
          !schema->is_missing_token(reader.record()[static_cast<size_t>(budget_col)])) {
        const float b = lead->features[static_cast<size_t>(budget_feature)];
        EXPECT_TRUE(std::isfinite(b) && b > 0) << reader.record()[static_cast<size_t>(budget_col)];
      }
      for (size_t i = 0; i < schema->feature_count(); ++i) {
        const auto& f = schema->feature_field(i);
        if (f.type == core::FieldType::Category &&
            lead->features[i] == static_cast<float>(f.categories.size())) {
          ++other_codes;
        }
      }
    }
    EXPECT_EQ(rows, 4000u);
    // Messy spellings encode as `other` in the real-estate profile; the seed profile is clean.
    if (GetParam() == Profile::kSeed) {
      EXPECT_EQ(other_codes, 0u);
    } else {
      EXPECT_GT(other_codes, 0u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, ShippedSchema,
                         ::testing::Values(Profile::kRealEstate, Profile::kSeed),
                         [](const auto& info) { return std::string(data::profile_name(info.param)); });

TEST(InferredSchema, DraftFromGeneratedCsvLoadsInCore) {
  for (Profile p : {Profile::kRealEstate, Profile::kSeed}) {
    const std::string csv = generate(p, 1500, 5);
    auto reader = data::CsvReader::from_string(csv);
    data::InferOptions opt;
    opt.label = "converted";
    auto draft = data::infer_schema(reader, opt);
    ASSERT_TRUE(draft) << draft.error().message;
    auto schema = core::parse_schema(*draft);
    ASSERT_TRUE(schema) << schema.error().message << "\n" << *draft;
    // And the rows it was inferred from parse under it.
    auto again = data::CsvReader::from_string(csv);
    ASSERT_TRUE(again.read_header());
    auto parser = core::RecordParser::create(*schema, again.header());
    ASSERT_TRUE(parser) << parser.error().message;
    for (;;) {
      auto got = again.next();
      ASSERT_TRUE(got);
      if (!*got) break;
      auto lead = parser->parse(again.record());
      ASSERT_TRUE(lead) << lead.error().code << " " << lead.error().message << " ("
                        << lead.error().field << ")";
    }
  }
}

}  // namespace
