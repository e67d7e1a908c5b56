#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/core.h"

namespace {

const std::filesystem::path kSchemaPath =
    std::filesystem::path(LEADSCORE_SOURCE_DIR) / "tests/data/core_test_schema.json";

// A valid minimal schema with `extra` appended to its fields list.
std::string with_fields(const std::string& extra) {
  return R"({"name":"t","version":1,"fields":[
    {"name":"lead_id","type":"id","role":"id"},
    {"name":"x","type":"number","role":"feature"})" +
         (extra.empty() ? std::string() : "," + extra) + "]}";
}

// Asserts that `json` fails with schema_invalid and a message containing `needle`.
void expect_invalid(const std::string& json, const std::string& needle,
                    const std::string& field = {}) {
  auto r = core::parse_schema(json);
  ASSERT_FALSE(r) << "accepted: " << json;
  EXPECT_EQ(r.error().code, "schema_invalid");
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  if (!field.empty()) {
    EXPECT_EQ(r.error().field, field);
  }
}

TEST(Schema, LoadsTestSchemaFile) {
  auto r = core::load_schema(kSchemaPath);
  ASSERT_TRUE(r) << r.error().message;
  const auto& s = **r;
  EXPECT_EQ(s.name(), "core_test");
  EXPECT_EQ(s.version(), "3");
  EXPECT_EQ(s.fields().size(), 16u);
  ASSERT_NE(s.id_field(), nullptr);
  EXPECT_EQ(s.id_field()->name, "lead_id");
  ASSERT_NE(s.label_field(), nullptr);
  EXPECT_EQ(s.label_field()->name, "converted");
  ASSERT_NE(s.consent_field(), nullptr);
  EXPECT_EQ(s.consent_field()->name, "consent");
  ASSERT_NE(s.age_field(), nullptr);
  EXPECT_EQ(s.age_field()->name, "age");
  ASSERT_EQ(s.text_fields().size(), 1u);
  EXPECT_EQ(s.text_fields()[0]->name, "notes");
  EXPECT_FALSE(s.unknown_fields_rejected());
}

TEST(Schema, FeatureOrderIsSchemaOrderOfFeatureFields) {
  auto s = *core::load_schema(kSchemaPath);
  const std::vector<std::string> expected = {
      "city", "bhk", "budget_lakh", "site_visit_scheduled", "time_on_site_s", "created_at", "age"};
  EXPECT_EQ(s->feature_names(), expected);
  ASSERT_EQ(s->feature_count(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(s->feature_field(i).name, expected[i]);
    EXPECT_EQ(s->feature_field(i).feature_index, static_cast<int>(i));
  }
  EXPECT_EQ(s->field("name")->feature_index, -1);
}

TEST(Schema, FieldAttributesAreRead) {
  auto s = *core::load_schema(kSchemaPath);
  const auto* bhk = s->field("bhk");
  ASSERT_NE(bhk, nullptr);
  EXPECT_EQ(bhk->type, core::FieldType::Integer);
  EXPECT_EQ(bhk->min, 0);
  EXPECT_EQ(bhk->max, 10);
  EXPECT_FALSE(bhk->clamp);
  EXPECT_TRUE(s->field("time_on_site_s")->clamp);
  EXPECT_EQ(s->field("city")->description, "City");
  EXPECT_EQ(bhk->description, "bhk");
  EXPECT_TRUE(std::isnan(s->field("created_at")->min));
  EXPECT_EQ(s->field("notes")->max_length, 50u);
  EXPECT_EQ(s->field("lead_id")->max_length, 128u);
  EXPECT_EQ(s->field("nope"), nullptr);
}

TEST(Schema, MissingTokensAreCaseInsensitiveAndTrimmed) {
  auto s = *core::load_schema(kSchemaPath);
  EXPECT_TRUE(s->is_missing_token("select"));
  EXPECT_TRUE(s->is_missing_token("  NA "));
  EXPECT_TRUE(s->is_missing_token(""));
  EXPECT_TRUE(s->is_missing_token("   "));
  EXPECT_FALSE(s->is_missing_token("Mumbai"));
  EXPECT_FALSE(s->is_missing_token("None"));  // replaced by the file's own list
}

TEST(Schema, DefaultMissingTokens) {
  auto s = *core::parse_schema(with_fields(""));
  EXPECT_TRUE(s->is_missing_token("None"));
  EXPECT_TRUE(s->is_missing_token("n/a"));
  EXPECT_FALSE(s->is_missing_token("Select"));
}

TEST(Schema, ToJsonRoundTrips) {
  auto s = *core::load_schema(kSchemaPath);
  const std::string json = s->to_json();
  auto again = core::parse_schema(json);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->to_json(), json);
  EXPECT_EQ((*again)->feature_names(), s->feature_names());
  EXPECT_EQ((*again)->version(), "3");
}

TEST(Schema, StringVersionRoundTrips) {
  auto s = *core::parse_schema(R"({"name":"t","version":"2024.1","fields":[
    {"name":"lead_id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"}]})");
  EXPECT_EQ(s->version(), "2024.1");
  EXPECT_EQ((*core::parse_schema(s->to_json()))->version(), "2024.1");
}

TEST(Schema, RejectsUnreadableFile) {
  auto r = core::load_schema("/nonexistent/schema.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "schema_unreadable");
}

TEST(Schema, RejectsInvalidJson) { expect_invalid("{\"name\": ", "not valid JSON"); }
TEST(Schema, RejectsNonObject) { expect_invalid("[1,2]", "must be a JSON object"); }
TEST(Schema, RejectsMissingName) {
  expect_invalid(R"({"version":1,"fields":[]})", "missing 'name'");
}
TEST(Schema, RejectsMissingVersion) {
  expect_invalid(R"({"name":"t","fields":[]})", "missing 'version'");
}
TEST(Schema, RejectsMissingFields) { expect_invalid(R"({"name":"t","version":1})", "'fields'"); }
TEST(Schema, RejectsUnknownTopLevelKey) {
  expect_invalid(R"({"name":"t","version":1,"feilds":[]})", "unknown top-level key 'feilds'");
}
TEST(Schema, RejectsBadUnknownFieldsPolicy) {
  expect_invalid(R"({"name":"t","version":1,"unknown_fields":"drop","fields":[]})",
                 "'unknown_fields'");
}
TEST(Schema, RejectsDuplicateFieldName) {
  expect_invalid(with_fields(R"({"name":"x","type":"integer","role":"feature"})"),
                 "duplicate field name", "x");
}
TEST(Schema, RejectsUnknownType) {
  expect_invalid(with_fields(R"({"name":"y","type":"float","role":"feature"})"),
                 "unknown type 'float'", "y");
}
TEST(Schema, RejectsUnknownRole) {
  expect_invalid(with_fields(R"({"name":"y","type":"number","role":"target"})"),
                 "unknown role 'target'", "y");
}
TEST(Schema, RejectsMissingType) {
  expect_invalid(with_fields(R"({"name":"y","role":"feature"})"), "missing 'type'", "y");
}
TEST(Schema, RejectsMissingRole) {
  expect_invalid(with_fields(R"({"name":"y","type":"number"})"), "missing 'role'", "y");
}
TEST(Schema, RejectsFieldWithoutName) {
  expect_invalid(with_fields(R"({"type":"number","role":"feature"})"), "fields[2] has no 'name'");
}
TEST(Schema, RejectsUnknownFieldKey) {
  expect_invalid(
      with_fields(R"({"name":"y","type":"category","role":"feature","catgories":["a"]})"),
      "unknown key 'catgories'", "y");
}
TEST(Schema, RejectsCategoriesOnNonCategory) {
  expect_invalid(with_fields(R"({"name":"y","type":"number","role":"feature","categories":["a"]})"),
                 "'categories' given for type 'number'", "y");
}
TEST(Schema, RejectsCategoryWithoutCategories) {
  expect_invalid(with_fields(R"({"name":"y","type":"category","role":"feature"})"),
                 "non-empty 'categories'", "y");
}
TEST(Schema, RejectsDuplicateCategoryIgnoringCase) {
  expect_invalid(
      with_fields(
          R"({"name":"y","type":"category","role":"feature","categories":["Pune","pune "]})"),
      "duplicate category", "y");
}
TEST(Schema, RejectsMinGreaterThanMax) {
  expect_invalid(with_fields(R"({"name":"y","type":"number","role":"feature","min":5,"max":1})"),
                 "'min' is greater than 'max'", "y");
}
TEST(Schema, RejectsRangeOnNonNumeric) {
  expect_invalid(with_fields(R"({"name":"y","type":"boolean","role":"feature","min":0})"),
                 "'min'/'max' only apply", "y");
}
TEST(Schema, RejectsNonNumericMin) {
  expect_invalid(with_fields(R"({"name":"y","type":"number","role":"feature","min":"0"})"),
                 "'min' must be a number", "y");
}
TEST(Schema, RejectsClampWithoutRange) {
  expect_invalid(
      with_fields(R"({"name":"y","type":"number","role":"feature","out_of_range":"clamp"})"),
      "needs 'min' or 'max'", "y");
}
TEST(Schema, RejectsBadMissingPolicy) {
  expect_invalid(with_fields(R"({"name":"y","type":"number","role":"feature","missing":"drop"})"),
                 "'missing' must be", "y");
}
TEST(Schema, RejectsNoIdField) {
  expect_invalid(
      R"({"name":"t","version":1,"fields":[{"name":"x","type":"number","role":"feature"}]})",
      "no field with role 'id'");
}
TEST(Schema, RejectsTwoIdFields) {
  expect_invalid(with_fields(R"({"name":"id2","type":"id","role":"id"})"), "second id field",
                 "id2");
}
TEST(Schema, RejectsTwoLabels) {
  expect_invalid(with_fields(R"({"name":"a","type":"boolean","role":"label"},
                                {"name":"b","type":"boolean","role":"label"})"),
                 "second label field (first is 'a')", "b");
}
TEST(Schema, RejectsTwoConsentFields) {
  expect_invalid(with_fields(R"({"name":"a","type":"boolean","role":"consent"},
                                {"name":"b","type":"boolean","role":"consent"})"),
                 "second consent field", "b");
}
TEST(Schema, RejectsTwoAgeFields) {
  expect_invalid(with_fields(R"({"name":"a","type":"integer","role":"feature","age":true},
                                {"name":"b","type":"integer","role":"meta","age":true})"),
                 "second age field", "b");
}
TEST(Schema, RejectsAgeOnNonNumeric) {
  expect_invalid(with_fields(R"({"name":"a","type":"text","role":"meta","age":true})"),
                 "'age' needs type number or integer", "a");
}
TEST(Schema, RejectsNoFeatures) {
  expect_invalid(
      R"({"name":"t","version":1,"fields":[{"name":"lead_id","type":"id","role":"id"}]})",
      "no field with role 'feature'");
}
TEST(Schema, RejectsTextFeature) {
  expect_invalid(with_fields(R"({"name":"n","type":"text","role":"feature"})"),
                 "role 'feature' cannot have type 'text'", "n");
}
TEST(Schema, RejectsNonBooleanConsent) {
  expect_invalid(with_fields(R"({"name":"c","type":"integer","role":"consent"})"),
                 "role 'consent' cannot have type 'integer'", "c");
}
TEST(Schema, RejectsIdRoleWithNonIdType) {
  expect_invalid(with_fields(R"({"name":"i","type":"text","role":"id"})"),
                 "role 'id' cannot have type 'text'", "i");
}
TEST(Schema, RejectsMaxLengthOnNumber) {
  expect_invalid(with_fields(R"({"name":"n","type":"number","role":"feature","max_length":5})"),
                 "'max_length' only applies", "n");
}
TEST(Schema, RejectsNonPositiveMaxLength) {
  expect_invalid(with_fields(R"({"name":"n","type":"text","role":"meta","max_length":0})"),
                 "positive integer", "n");
}
TEST(Schema, RejectsMissingRejectOnPii) {
  expect_invalid(with_fields(R"({"name":"p","type":"text","role":"pii","missing":"reject"})"),
                 "no effect on role 'pii'", "p");
}
TEST(Schema, RejectsBadMissingTokens) {
  expect_invalid(R"({"name":"t","version":1,"missing_tokens":"NA","fields":[]})",
                 "'missing_tokens' must be an array");
}
TEST(Schema, RejectsNameWithSurroundingSpaces) {
  expect_invalid(with_fields(R"({"name":" y","type":"number","role":"feature"})"),
                 "without surrounding spaces");
}

}  // namespace

namespace {

// The schemas shipped in schemas/ (written by the data module) follow docs/SCHEMA.md.
TEST(Schema, ShippedSchemasLoadAndRoundTrip) {
  const auto dir = std::filesystem::path(LEADSCORE_SOURCE_DIR) / "schemas";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no schemas/ directory";
  size_t loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    auto s = core::load_schema(entry.path());
    ASSERT_TRUE(s) << entry.path() << ": " << s.error().message;
    auto again = core::parse_schema((*s)->to_json());
    ASSERT_TRUE(again) << entry.path() << ": " << again.error().message;
    EXPECT_EQ((*again)->to_json(), (*s)->to_json());
    EXPECT_NE((*s)->id_field(), nullptr);
    ++loaded;
  }
  EXPECT_GT(loaded, 0u);
}

}  // namespace
