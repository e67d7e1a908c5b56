#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "core/core.h"

namespace {

using core::Lead;

const std::filesystem::path kSchemaPath =
    std::filesystem::path(LEADSCORE_SOURCE_DIR) / "tests/data/core_test_schema.json";

std::shared_ptr<const core::Schema> test_schema() {
  static auto s = *core::load_schema(kSchemaPath);
  return s;
}

// Feature column of `name` in the test schema.
size_t col(const std::string& name) {
  return static_cast<size_t>(test_schema()->field(name)->feature_index);
}

// Everything a Lead holds, as one string, to search for canaries.
std::string dump(const Lead& lead) {
  std::string out = lead.id;
  for (float f : lead.features) out += std::to_string(f) + ",";
  for (const auto& [k, v] : lead.texts) out += k + "=" + v + ";";
  for (const auto& [k, v] : lead.meta) out += k + "=" + v + ";";
  for (const auto& m : lead.missing_fields) out += m + ";";
  return out;
}

std::string dump(const core::Error& e) { return e.code + "|" + e.message + "|" + e.field; }

core::Result<Lead> parse_with(const std::string& schema_fields, const std::string& json,
                              const std::string& unknown = "ignore");

core::Result<Lead> parse(const std::string& json) {
  return core::parse_lead_json(*test_schema(), json);
}

void expect_error(const std::string& json, const std::string& code, const std::string& field) {
  auto r = parse(json);
  ASSERT_FALSE(r) << "accepted: " << json;
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_EQ(r.error().field, field) << r.error().message;
}

TEST(Lead, ParsesAndEncodesAllFeatureTypes) {
  auto r = parse(R"({"lead_id":"L-1","city":"Pune","bhk":3,"budget_lakh":"1.2 cr",
    "site_visit_scheduled":true,"time_on_site_s":95.5,"created_at":"2024-03-15T12:00:00Z",
    "age":34,"source":"99acres","notes":"Wants 3 BHK near metro","consent":true,"converted":1})");
  ASSERT_TRUE(r) << r.error().message;
  const Lead& l = *r;
  EXPECT_EQ(l.id, "L-1");
  ASSERT_EQ(l.features.size(), 7u);
  EXPECT_EQ(l.features[col("city")], 1.0f);
  EXPECT_EQ(l.features[col("bhk")], 3.0f);
  EXPECT_FLOAT_EQ(l.features[col("budget_lakh")], 120.0f);
  EXPECT_EQ(l.features[col("site_visit_scheduled")], 1.0f);
  EXPECT_EQ(l.features[col("time_on_site_s")], 95.5f);
  // 2024-03-15 is day 19797 since 1970-01-01; noon adds half a day.
  EXPECT_EQ(l.features[col("created_at")], static_cast<float>(19797.5));
  EXPECT_EQ(l.features[col("age")], 34.0f);
  ASSERT_TRUE(l.age);
  EXPECT_EQ(*l.age, 34.0);
  ASSERT_TRUE(l.consent);
  EXPECT_TRUE(*l.consent);
  ASSERT_TRUE(l.label);
  EXPECT_EQ(*l.label, 1.0f);
  ASSERT_EQ(l.texts.size(), 1u);
  EXPECT_EQ(l.texts[0].first, "notes");
  EXPECT_EQ(l.texts[0].second, "Wants 3 BHK near metro");
  ASSERT_EQ(l.meta.size(), 1u);
  EXPECT_EQ(l.meta[0], (std::pair<std::string, std::string>("source", "99acres")));
  EXPECT_TRUE(l.missing_fields.empty());
}

TEST(Lead, CategoryMatchingIsCaseInsensitiveAndTrimmed) {
  auto l = *parse(R"({"city":"  bengaluru "})");
  EXPECT_EQ(l.features[col("city")], 2.0f);
  l = *parse(R"({"city":"MUMBAI"})");
  EXPECT_EQ(l.features[col("city")], 0.0f);
}

TEST(Lead, LongCategoryListsMatchThroughTheIndex) {
  auto s = *core::parse_schema(R"({"name":"t","version":1,"fields":[
    {"name":"id","type":"id","role":"id"},
    {"name":"loc","type":"category","role":"feature","categories":
      ["Andheri West","Powai","Thane West","Baner","Wakad","Kharadi","Hebbal","OMR","Bopal",
       "Salt Lake","Noida Sector 150"]}]})");
  const auto* f = s->field("loc");
  EXPECT_EQ(s->category_code(*f, "baner"), 3);
  EXPECT_EQ(s->category_code(*f, "  NOIDA SECTOR 150 "), 10);
  EXPECT_EQ(s->category_code(*f, "Bandra"), 11);
  EXPECT_EQ(s->category_code(*f, std::string(300, 'a')), 11);
  auto l = *core::parse_lead_json(*s, R"({"loc":"salt lake"})");
  EXPECT_EQ(l.features[0], 9.0f);
  l = *core::parse_lead_json(*s, R"({"loc":"NA"})");
  EXPECT_TRUE(std::isnan(l.features[0]));
}

TEST(Lead, UnknownCategoryEncodesAsOther) {
  auto l = *parse(R"({"city":"Indore"})");
  EXPECT_EQ(l.features[col("city")], 3.0f);  // n = 3 categories
  EXPECT_EQ(core::describe_feature_value(*test_schema(), col("city"), 3.0f), "other");
}

TEST(Lead, AbsentFeaturesAreMissing) {
  auto l = *parse(R"({"lead_id":"L-2","bhk":2})");
  EXPECT_TRUE(std::isnan(l.features[col("city")]));
  EXPECT_TRUE(std::isnan(l.features[col("budget_lakh")]));
  EXPECT_EQ(l.features[col("bhk")], 2.0f);
  const std::vector<std::string> expected = {
      "city", "budget_lakh", "site_visit_scheduled", "time_on_site_s", "created_at", "age"};
  EXPECT_EQ(l.missing_fields, expected);
  EXPECT_FALSE(l.consent);
  EXPECT_FALSE(l.label);
  EXPECT_FALSE(l.age);
}

TEST(Lead, MissingTokensAndNullAreMissing) {
  auto l = *parse(R"({"city":"Select","bhk":"NA","budget_lakh":" n/a ","site_visit_scheduled":null,
                      "time_on_site_s":"-","created_at":"","notes":"NA","consent":"null"})");
  for (size_t i = 0; i < l.features.size(); ++i) {
    if (i == col("age")) continue;
    EXPECT_TRUE(std::isnan(l.features[i])) << test_schema()->feature_names()[i];
  }
  EXPECT_EQ(l.missing_fields.size(), 7u);
  EXPECT_TRUE(l.texts.empty());
  EXPECT_FALSE(l.consent);
}

TEST(Lead, NumbersAsStringsAreAccepted) {
  auto l = *parse(R"({"bhk":" 3 ","time_on_site_s":"1,200","budget_lakh":"85","age":"41"})");
  EXPECT_EQ(l.features[col("bhk")], 3.0f);
  EXPECT_EQ(l.features[col("time_on_site_s")], 1200.0f);
  EXPECT_EQ(l.features[col("budget_lakh")], 85.0f);
  EXPECT_EQ(*l.age, 41.0);
}

TEST(Lead, BooleanSpellings) {
  const std::pair<const char*, float> cases[] = {
      {"true", 1}, {"false", 0}, {"\"yes\"", 1}, {"\"No\"", 0}, {"\"TRUE\"", 1}, {"\"false\"", 0},
      {"1", 1},    {"0", 0},     {"\"1\"", 1},   {"\"0\"", 0},  {"\"y\"", 1},    {"\"n\"", 0}};
  for (const auto& [text, expected] : cases) {
    auto l = parse(std::string(R"({"site_visit_scheduled":)") + text + "}");
    ASSERT_TRUE(l) << text;
    EXPECT_EQ(l->features[col("site_visit_scheduled")], expected) << text;
  }
}

TEST(Lead, IntegerLeadIdIsAccepted) {
  auto l = *parse(R"({"lead_id":12345})");
  EXPECT_EQ(l.id, "12345");
}

TEST(Lead, LeadIdIsOptionalByDefault) {
  auto l = *parse(R"({"bhk":1})");
  EXPECT_TRUE(l.id.empty());
}

TEST(Lead, OutOfRangeClampsWhenSchemaSaysClamp) {
  auto l = *parse(R"({"time_on_site_s":99999})");
  EXPECT_EQ(l.features[col("time_on_site_s")], 3600.0f);
  l = *parse(R"({"time_on_site_s":-4})");
  EXPECT_EQ(l.features[col("time_on_site_s")], 0.0f);
}

TEST(Lead, EpochSecondsAndMillisecondsTimestamps) {
  auto l = *parse(R"({"created_at":1710460800})");  // 2024-03-15T00:00:00Z
  EXPECT_EQ(l.features[col("created_at")], 19797.0f);
  l = *parse(R"({"created_at":1710460800000})");
  EXPECT_EQ(l.features[col("created_at")], 19797.0f);
  l = *parse(R"({"created_at":"2024-03-15T05:30:00+05:30"})");
  EXPECT_EQ(l.features[col("created_at")], 19797.0f);
}

// ---- error codes --------------------------------------------------------------------------

TEST(LeadErrors, InvalidJson) { expect_error(R"({"bhk":)", "invalid_json", ""); }
TEST(LeadErrors, NotAnObject) { expect_error(R"([{"bhk":1}])", "not_an_object", ""); }
TEST(LeadErrors, TypeMismatchStringForInteger) {
  expect_error(R"({"bhk":"three"})", "field_type_mismatch", "bhk");
}
TEST(LeadErrors, TypeMismatchFractionalInteger) {
  expect_error(R"({"bhk":2.5})", "field_type_mismatch", "bhk");
}
TEST(LeadErrors, TypeMismatchBooleanForNumber) {
  expect_error(R"({"time_on_site_s":true})", "field_type_mismatch", "time_on_site_s");
}
TEST(LeadErrors, TypeMismatchBadBoolean) {
  expect_error(R"({"site_visit_scheduled":"maybe"})", "field_type_mismatch",
               "site_visit_scheduled");
}
TEST(LeadErrors, TypeMismatchObjectForCategory) {
  expect_error(R"({"city":{"name":"Pune"}})", "field_type_mismatch", "city");
}
TEST(LeadErrors, TypeMismatchArrayForText) {
  expect_error(R"({"notes":["a"]})", "field_type_mismatch", "notes");
}
TEST(LeadErrors, TypeMismatchBooleanLeadId) {
  expect_error(R"({"lead_id":true})", "field_type_mismatch", "lead_id");
}
TEST(LeadErrors, OutOfRange) { expect_error(R"({"bhk":11})", "field_out_of_range", "bhk"); }
TEST(LeadErrors, OutOfRangeMoney) {
  expect_error(R"({"budget_lakh":"0.5 L"})", "field_out_of_range", "budget_lakh");
}
TEST(LeadErrors, InvalidMoney) {
  expect_error(R"({"budget_lakh":"lots"})", "invalid_money", "budget_lakh");
}
TEST(LeadErrors, NegativeMoneyNumber) {
  expect_error(R"({"budget_lakh":-5})", "invalid_money", "budget_lakh");
}
TEST(LeadErrors, InvalidTimestamp) {
  expect_error(R"({"created_at":"2024-02-30"})", "invalid_timestamp", "created_at");
}
TEST(LeadErrors, TimestampBeyondYear9999) {
  expect_error(R"({"created_at":1e300})", "invalid_timestamp", "created_at");
  expect_error(R"({"created_at":"99999999999999999"})", "invalid_timestamp", "created_at");
}
TEST(LeadErrors, NumberBeyondFloatRange) {
  auto r = parse_with(
      R"({"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"})",
      R"({"x":1e300})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "field_out_of_range");
  EXPECT_EQ(r.error().field, "x");
}
TEST(LeadErrors, TextTooLong) {
  expect_error(R"({"notes":")" + std::string(51, 'a') + "\"}", "field_too_long", "notes");
}
TEST(LeadErrors, TextLengthCountsCharactersNotBytes) {
  std::string hindi;
  for (int i = 0; i < 50; ++i) hindi += "\xE0\xA4\x98";  // 50 × 'घ', 150 bytes
  auto r = parse(R"({"notes":")" + hindi + "\"}");
  EXPECT_TRUE(r) << r.error().message;
}
TEST(LeadErrors, LeadIdTooLong) {
  expect_error(R"({"lead_id":")" + std::string(129, 'x') + "\"}", "field_too_long", "lead_id");
}
TEST(LeadErrors, LeadIdWithAControlCharacter) {
  // JSON escapes decode to the raw byte: a NUL, newline, tab or escape in an id would break
  // log lines and CSV exports downstream.
  for (const char* id : {R"(A\u0000B)", R"(L-1\nL-2)", R"(L\t9)", R"(\u001b[31mL)", R"(L\u007f)"}) {
    expect_error(std::string(R"({"lead_id":")") + id + "\"}", "invalid_lead_id", "lead_id");
  }
  // Printable Unicode is fine.
  auto r = parse(R"({"lead_id":"लीड-42 ü"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, "लीड-42 ü");
}

core::Result<Lead> parse_with(const std::string& schema_fields, const std::string& json,
                              const std::string& unknown) {
  auto s = core::parse_schema(R"({"name":"t","version":1,"unknown_fields":")" + unknown +
                              R"(","fields":[)" + schema_fields + "]}");
  if (!s) return tl::unexpected<core::Error>(s.error());
  return core::parse_lead_json(**s, json);
}

TEST(LeadErrors, UnknownFieldRejectedWhenSchemaSaysSo) {
  auto r = parse_with(
      R"({"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"})",
      R"({"x":1,"colour":"red"})", "reject");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "unknown_field");
  EXPECT_EQ(r.error().field, "colour");
  EXPECT_EQ(r.error().message.find("red"), std::string::npos);
}
TEST(LeadErrors, UnknownFieldIgnoredByDefault) {
  auto r = parse(R"({"bhk":1,"colour":"red","nested":{"a":[1,2]}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(dump(*r).find("red"), std::string::npos);
  EXPECT_EQ(dump(*r).find("colour"), std::string::npos);
}
TEST(LeadErrors, UnknownFieldWhoseNameIsAPhoneIsNotEchoed) {
  auto r = parse_with(
      R"({"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"})",
      R"({"x":1,"+91 98201 55501":"call me"})", "reject");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "unknown_field");
  EXPECT_EQ(dump(r.error()).find("98201"), std::string::npos) << dump(r.error());
}
TEST(LeadErrors, MissingFieldRejected) {
  const std::string fields = R"({"name":"id","type":"id","role":"id"},
      {"name":"x","type":"number","role":"feature","missing":"reject"})";
  auto r = parse_with(fields, R"({"id":"a"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "missing_field");
  EXPECT_EQ(r.error().field, "x");
  r = parse_with(fields, R"({"id":"a","x":"NA"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "missing_field");
}
TEST(LeadErrors, MissingLeadIdWhenRequired) {
  const std::string fields = R"({"name":"id","type":"id","role":"id","missing":"reject"},
      {"name":"x","type":"number","role":"feature"})";
  auto r = parse_with(fields, R"({"x":1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "missing_lead_id");
  EXPECT_EQ(r.error().field, "id");
  r = parse_with(fields, R"({"id":"  ","x":1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "missing_lead_id");
}

// ---- privacy ------------------------------------------------------------------------------

constexpr const char* kCanaryName = "Zorawar Quxley";
constexpr const char* kCanaryPhone = "9876012345";
constexpr const char* kCanaryEmail = "zq.canary7@example.org";

TEST(LeadPrivacy, PiiFieldsNeverReachTheLead) {
  auto r = parse(std::string(R"({"lead_id":"L-9","name":")") + kCanaryName + R"(","phone":"+91 )" +
                 kCanaryPhone + R"(","email":")" + kCanaryEmail +
                 R"(","city":"Pune","true_probability":0.4242,"bhk":2})");
  ASSERT_TRUE(r) << r.error().message;
  const std::string all = dump(*r);
  EXPECT_EQ(all.find("Zorawar"), std::string::npos);
  EXPECT_EQ(all.find(kCanaryPhone), std::string::npos);
  EXPECT_EQ(all.find("canary7"), std::string::npos);
  for (float f : r->features) EXPECT_NE(f, 0.4242f);
}

TEST(LeadPrivacy, TheLeadsOwnNameIsRedactedFromItsFreeText) {
  // Notes before the name field, and after it: both are redacted, whole words only, in any case.
  for (const bool name_first : {false, true}) {
    const std::string name = std::string(R"("name":")") + kCanaryName + R"(",)";
    const std::string notes =
        R"("notes":"zorawar QUXLEY, Mr Quxley-Singh, not Zorawarpur",)";
    std::string body = "{";
    body += name_first ? name : notes;
    body += name_first ? notes : name;
    body += R"("lead_id":"L-9","city":"Pune","bhk":3})";
    auto r = parse(body);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->texts.size(), 1u);
    EXPECT_EQ(r->texts[0].second, "[name] [name], Mr [name]-Singh, not Zorawarpur") << name_first;
  }
  // An e-mail gives its local part's words, not its domain's: "gmail" and "com" name nobody.
  {
    auto r = parse(
        R"({"email":"quxley.zora@gmail.com","notes":"zora saw it on gmail and listing.com",)"
        R"("bhk":3})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->texts[0].second, "[name] saw it on gmail and listing.com");
  }
  // No name field: notes untouched.
  auto r = parse(R"({"notes":"Ask for Zorawar","bhk":3})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->texts[0].second, "Ask for Zorawar");
}

TEST(LeadPrivacy, PiiFieldsAreNotTypeChecked) {
  // A PII value of any shape is dropped, never inspected (and so never quoted in an error).
  auto r = parse(R"({"phone":{"mobile":"9876012345"},"name":[1,2],"email":true,"bhk":1})");
  ASSERT_TRUE(r) << r.error().message;
}

TEST(LeadPrivacy, ErrorsNeverContainValues) {
  const std::string canary = "Zorawar9876012345";
  const std::string bodies[] = {
      R"({"bhk":")" + canary + "\"}",
      R"({"budget_lakh":")" + canary + "\"}",
      R"({"created_at":")" + canary + "\"}",
      R"({"site_visit_scheduled":")" + canary + "\"}",
      R"({"notes":")" + canary + std::string(60, 'x') + "\"}",
      R"({"lead_id":")" + canary + std::string(130, 'x') + "\"}",
      R"({"consent":")" + canary + "\"}",
  };
  for (const auto& body : bodies) {
    auto r = parse(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(dump(r.error()).find("Zorawar"), std::string::npos) << dump(r.error());
    EXPECT_EQ(dump(r.error()).find("9876012345"), std::string::npos) << dump(r.error());
  }
}

// ---- encoding description -----------------------------------------------------------------

TEST(DescribeFeatureValue, WordsForEachType) {
  const auto& s = *test_schema();
  EXPECT_EQ(core::describe_feature_value(s, col("site_visit_scheduled"), 1.0f), "yes");
  EXPECT_EQ(core::describe_feature_value(s, col("site_visit_scheduled"), 0.0f), "no");
  EXPECT_EQ(core::describe_feature_value(s, col("city"), 1.0f), "Pune");
  EXPECT_EQ(core::describe_feature_value(s, col("bhk"), NAN), "missing");
  EXPECT_EQ(core::describe_feature_value(s, col("bhk"), 3.0f), "3");
  EXPECT_EQ(core::describe_feature_value(s, col("budget_lakh"), 90.0f), "90 lakh");
  EXPECT_EQ(core::describe_feature_value(s, col("budget_lakh"), 120.0f), "1.2 crore");
  EXPECT_EQ(core::describe_feature_value(s, col("time_on_site_s"), 95.5f), "95.5");
  EXPECT_EQ(core::describe_feature_value(s, col("created_at"), 19797.5f), "2024-03-15");
  EXPECT_EQ(core::describe_feature_value(s, col("city"), 1e30f), "other");
  EXPECT_EQ(core::describe_feature_value(s, col("city"), -1.0f), "other");
  EXPECT_EQ(core::describe_feature_value(s, col("created_at"), 1e30f), "1e+30");
}

// ---- fuzz ---------------------------------------------------------------------------------

TEST(LeadFuzz, RandomAndTruncatedJsonNeverCrashes) {
  const std::string seed_body = R"({"lead_id":"L-1","city":"Pune","bhk":3,"budget_lakh":"1.2 cr",
    "site_visit_scheduled":"yes","time_on_site_s":"95.5","created_at":"2024-03-15T12:00:00Z",
    "age":34,"notes":"call 98201 55501 or a@b.com","consent":true,"converted":1,"x":[1,{"y":null}]})";
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\":,0123456789.eE+-truefalsn \\u00\xE2\x82\xB9LcrLakh";
  size_t ok = 0, failed = 0;
  for (size_t cut = 0; cut <= seed_body.size(); ++cut) {
    auto r = parse(seed_body.substr(0, cut));
    r ? ++ok : ++failed;
  }
  for (int iter = 0; iter < 3000; ++iter) {
    std::string body = seed_body;
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          body.erase(pos, 1 + rng() % 4);
          break;
        default:
          body.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
      if (body.empty()) body.push_back('{');
    }
    auto r = parse(body);
    if (r) {
      EXPECT_EQ(r->features.size(), test_schema()->feature_count());
      ++ok;
    } else {
      EXPECT_FALSE(r.error().code.empty());
      ++failed;
    }
  }
  for (int iter = 0; iter < 1000; ++iter) {
    std::string body(rng() % 64, '\0');
    for (auto& c : body) c = static_cast<char>(rng());
    auto r = parse(body);
    r ? ++ok : ++failed;
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
}

// ---- CSV records --------------------------------------------------------------------------

std::vector<std::string_view> cells(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

TEST(RecordParser, ParsesRowsWithSameRulesAsJson) {
  const std::vector<std::string> header = {"lead_id", "name",        "city",
                                           "bhk",     "budget_lakh", "consent",
                                           "notes",   "converted",   "true_probability"};
  auto p = core::RecordParser::create(test_schema(), header, {.require_label = true, .parse = {}});
  ASSERT_TRUE(p) << p.error().message;
  const std::vector<std::string> row = {"L-7", kCanaryName,      "pune", "2",   "90L",
                                        "yes", "Needs RTM flat", "0",    "0.31"};
  auto v = cells(row);
  auto l = p->parse(v);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->id, "L-7");
  EXPECT_EQ(l->features[col("city")], 1.0f);
  EXPECT_EQ(l->features[col("bhk")], 2.0f);
  EXPECT_EQ(l->features[col("budget_lakh")], 90.0f);
  EXPECT_TRUE(std::isnan(l->features[col("age")]));
  EXPECT_EQ(*l->label, 0.0f);
  EXPECT_TRUE(*l->consent);
  EXPECT_EQ(dump(*l).find("Zorawar"), std::string::npos);
}

TEST(RecordParser, MissingTokenCellsAreMissing) {
  auto p = *core::RecordParser::create(test_schema(), {"lead_id", "city", "bhk"});
  const std::vector<std::string> row = {"L-8", "Select", ""};
  auto v = cells(row);
  auto l = *p.parse(v);
  EXPECT_TRUE(std::isnan(l.features[col("city")]));
  EXPECT_TRUE(std::isnan(l.features[col("bhk")]));
}

TEST(RecordParser, MissingLabelColumnIsAnErrorWhenRequired) {
  auto p = core::RecordParser::create(test_schema(), {"lead_id", "city"},
                                      {.require_label = true, .parse = {}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "missing_column");
  EXPECT_EQ(p.error().field, "converted");
  EXPECT_TRUE(core::RecordParser::create(test_schema(), {"lead_id", "city"}));
}

TEST(RecordParser, ListsTheFeatureColumnsTheHeaderLacks) {
  auto p = *core::RecordParser::create(test_schema(), {"lead_id", "bhk", "Budget", "converted"});
  const std::vector<std::string> expected = {"city", "budget_lakh", "site_visit_scheduled",
                                             "time_on_site_s", "created_at", "age"};
  EXPECT_EQ(p.absent_features(), expected);
  auto all = *core::RecordParser::create(
      test_schema(), {"city", "bhk", "budget_lakh", "site_visit_scheduled", "time_on_site_s",
                      "created_at", "age"});
  EXPECT_TRUE(all.absent_features().empty());
}

TEST(RecordParser, MissingLabelValueIsAnErrorWhenRequired) {
  auto p = *core::RecordParser::create(test_schema(), {"lead_id", "converted"},
                                       {.require_label = true, .parse = {}});
  const std::vector<std::string> row = {"L-1", "NA"};
  auto v = cells(row);
  auto l = p.parse(v);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, "missing_field");
  EXPECT_EQ(l.error().field, "converted");
}

TEST(RecordParser, DuplicateColumnIsAnError) {
  auto p = core::RecordParser::create(test_schema(), {"lead_id", "bhk", " bhk"});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "duplicate_column");
}

TEST(RecordParser, UnknownColumnsIgnoredOrRejectedPerSchema) {
  EXPECT_TRUE(core::RecordParser::create(test_schema(), {"lead_id", "colour"}));
  auto strict = *core::parse_schema(R"({"name":"t","version":1,"unknown_fields":"reject",
      "fields":[{"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"}]})");
  auto p = core::RecordParser::create(strict, {"id", "x", "colour"});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "unknown_field");
  EXPECT_EQ(p.error().field, "colour");
}

TEST(RecordParser, WrongCellCountIsAnError) {
  auto p = *core::RecordParser::create(test_schema(), {"lead_id", "bhk"});
  const std::vector<std::string> row = {"L-1"};
  auto v = cells(row);
  auto l = p.parse(v);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, "column_count_mismatch");
}

TEST(RecordParser, ValueErrorsNameTheField) {
  auto p = *core::RecordParser::create(test_schema(), {"lead_id", "bhk"});
  const std::vector<std::string> row = {"L-1", "12"};
  auto v = cells(row);
  auto l = p.parse(v);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, "field_out_of_range");
  EXPECT_EQ(l.error().field, "bhk");
}

TEST(Lead, MinorDetection) {
  EXPECT_TRUE(core::is_minor(*parse(R"({"age":17})")));
  EXPECT_FALSE(core::is_minor(*parse(R"({"age":18})")));
  EXPECT_FALSE(core::is_minor(*parse(R"({})")));
}

}  // namespace

namespace {

TEST(RecordParser, StripsUtf8BomFromFirstHeaderCell) {
  auto p = core::RecordParser::create(test_schema(), {"\xEF\xBB\xBFlead_id", "bhk"});
  ASSERT_TRUE(p) << p.error().message;
  const std::vector<std::string> row = {"L-3", "4"};
  auto v = cells(row);
  auto l = *p->parse(v);
  EXPECT_EQ(l.id, "L-3");
  EXPECT_EQ(l.features[col("bhk")], 4.0f);
}

TEST(Lead, MetaValuesAreNormalised) {
  auto s = *core::parse_schema(R"({"name":"t","version":1,"fields":[
    {"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"},
    {"name":"at","type":"timestamp","role":"meta"},
    {"name":"hot","type":"boolean","role":"meta"},
    {"name":"score","type":"number","role":"meta"},
    {"name":"src","type":"category","role":"meta","categories":["Walk-in"]},
    {"name":"remark","type":"text","role":"meta"}]})");
  auto l = *core::parse_lead_json(*s, R"({"at":"2024-03-15T10:20:30+05:30","hot":"Yes",
      "score":"0.50","src":"walk-in","remark":"ph 9820155501"})");
  const std::vector<std::pair<std::string, std::string>> expected = {{"at", "2024-03-15T04:50:30Z"},
                                                                     {"hot", "true"},
                                                                     {"score", "0.5"},
                                                                     {"src", "Walk-in"},
                                                                     {"remark", "ph [phone]"}};
  EXPECT_EQ(l.meta, expected);
}

TEST(Lead, NumericLabelAndConsentStrings) {
  auto s = *core::parse_schema(R"({"name":"t","version":1,"fields":[
    {"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"},
    {"name":"ok","type":"boolean","role":"consent"},
    {"name":"y","type":"number","role":"label","min":0,"max":1}]})");
  auto l = *core::parse_lead_json(*s, R"({"ok":"no","y":"0.25"})");
  EXPECT_EQ(*l.label, 0.25f);
  EXPECT_FALSE(*l.consent);
  auto bad = core::parse_lead_json(*s, R"({"y":2})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "field_out_of_range");
  EXPECT_EQ(bad.error().field, "y");
}

TEST(Lead, DuplicateKeysKeepTheLastValue) {
  auto l = *parse(R"({"bhk":2,"notes":"first","bhk":3,"notes":"second"})");
  EXPECT_EQ(l.features[col("bhk")], 3.0f);
  ASSERT_EQ(l.texts.size(), 1u);
  EXPECT_EQ(l.texts[0].second, "second");
}

TEST(Lead, CategoryGivenAsNumberMatchesItsText) {
  auto s = *core::parse_schema(R"({"name":"t","version":1,"fields":[
    {"name":"id","type":"id","role":"id"},
    {"name":"tier","type":"category","role":"feature","categories":["1","2","3"]}]})");
  EXPECT_EQ(core::parse_lead_json(*s, R"({"tier":2})")->features[0], 1.0f);
  EXPECT_EQ(core::parse_lead_json(*s, R"({"tier":"3"})")->features[0], 2.0f);
  EXPECT_EQ(core::parse_lead_json(*s, R"({"tier":7})")->features[0], 3.0f);
}

}  // namespace

namespace {

TEST(Lead, ParseIntoReusedLeadKeepsNothingFromThePreviousLead) {
  const auto& s = *test_schema();
  simdjson::dom::parser parser;
  core::Lead lead;
  auto first = parser.parse(std::string(
      R"({"lead_id":"L-1","city":"Pune","notes":"Wants 3 BHK","source":"99acres","consent":true,
          "converted":1,"age":30})"));
  ASSERT_TRUE(core::parse_lead_into(s, first.value(), lead));
  EXPECT_EQ(lead.texts.size(), 1u);
  EXPECT_EQ(lead.meta.size(), 1u);
  auto second = parser.parse(std::string(R"({"bhk":2})"));
  ASSERT_TRUE(core::parse_lead_into(s, second.value(), lead));
  EXPECT_TRUE(lead.id.empty());
  EXPECT_TRUE(lead.texts.empty());
  EXPECT_TRUE(lead.meta.empty());
  EXPECT_FALSE(lead.consent);
  EXPECT_FALSE(lead.label);
  EXPECT_FALSE(lead.age);
  EXPECT_TRUE(std::isnan(lead.features[col("city")]));
  EXPECT_EQ(lead.features[col("bhk")], 2.0f);
  EXPECT_EQ(lead.missing_fields.size(), 6u);
  // And back: the same result as a fresh parse.
  ASSERT_TRUE(core::parse_lead_into(s, first.value(), lead));
  auto fresh = *core::parse_lead(s, first.value());
  EXPECT_EQ(dump(lead), dump(fresh));
}

TEST(RecordParser, ParseIntoMatchesParse) {
  auto p = *core::RecordParser::create(test_schema(), {"lead_id", "city", "bhk", "notes"});
  const std::vector<std::string> a = {"L-1", "Pune", "", "call 98201 55501"};
  const std::vector<std::string> b = {"L-2", "", "3", ""};
  auto va = cells(a), vb = cells(b);
  core::Lead lead;
  ASSERT_TRUE(p.parse_into(va, lead));
  EXPECT_EQ(lead.texts[0].second, "call [phone]");
  ASSERT_TRUE(p.parse_into(vb, lead));
  EXPECT_EQ(dump(lead), dump(*p.parse(vb)));
  EXPECT_TRUE(lead.texts.empty());
}

TEST(Scrub, IntoOverloadMatchesReturningOne) {
  std::string out = "leftover";
  core::scrub_contact_details("mail a@b.com or call 98201 55501", out);
  EXPECT_EQ(out, core::scrub_contact_details("mail a@b.com or call 98201 55501"));
  core::scrub_contact_details("plain", out);
  EXPECT_EQ(out, "plain");
}

}  // namespace
