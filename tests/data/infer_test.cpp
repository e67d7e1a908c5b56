#include <map>
#include <string>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "data/data.h"

namespace {

struct Inferred {
  std::string type, role;
  std::vector<std::string> categories;
  bool has_min = false, age = false;
};

std::map<std::string, Inferred> infer(const std::string& csv, const std::string& label,
                                      std::vector<std::string>* tokens = nullptr) {
  auto reader = data::CsvReader::from_string(csv);
  data::InferOptions opt;
  opt.label = label;
  std::string summary;
  auto json = data::infer_schema(reader, opt, &summary);
  EXPECT_TRUE(json) << (json ? "" : json.error().message);
  std::map<std::string, Inferred> out;
  if (!json) return out;
  EXPECT_FALSE(summary.empty());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto err = parser.parse(*json).get(doc);
  EXPECT_FALSE(err) << *json;
  if (err) return out;
  if (tokens != nullptr) {
    for (auto t : doc["missing_tokens"].get_array()) tokens->emplace_back(std::string_view(t));
  }
  for (auto f : doc["fields"].get_array()) {
    Inferred i;
    i.type = std::string(std::string_view(f["type"]));
    i.role = std::string(std::string_view(f["role"]));
    simdjson::dom::array cats;
    if (!f["categories"].get(cats)) {
      for (auto c : cats) i.categories.emplace_back(std::string_view(c));
    }
    i.has_min = !f["min"].error();
    i.age = !f["age"].error();
    out[std::string(std::string_view(f["name"]))] = i;
  }
  return out;
}

TEST(InferSchema, TypesRolesAndPiiFromAHandMadeCsv) {
  const std::string csv =
      "Lead ID,Full Name,Mobile,E-mail,age,city,visits,score_ratio,Has Loan,Budget,"
      "created,Remarks,email_opens,Converted\n"
      "A1,Asha Rao,+91 98xxxx,asha@x.in,34,Pune,3,0.5,Yes,90L,2024-03-01,\"Wants 2BHK, urgent\",2,1\n"
      "A2,Ravi K,9876500000,NA,41,Mumbai,0,1.25,no,1.2 cr,2024-03-02 10:00,Select,0,0\n"
      "A3,Meena S,,m@y.in,29,Select,NA,2,YES,85,2024-03-03T09:30:00Z,call later,5,0\n";
  std::vector<std::string> tokens;
  auto f = infer(csv, "Converted", &tokens);
  ASSERT_EQ(f.size(), 14u);
  EXPECT_EQ(f["Lead ID"].role, "id");
  EXPECT_EQ(f["Lead ID"].type, "id");
  EXPECT_EQ(f["Full Name"].role, "pii");
  EXPECT_EQ(f["Mobile"].role, "pii");
  EXPECT_EQ(f["E-mail"].role, "pii");
  EXPECT_EQ(f["age"].type, "integer");
  EXPECT_TRUE(f["age"].age);
  EXPECT_EQ(f["city"].type, "category");
  EXPECT_EQ(f["city"].categories, (std::vector<std::string>{"Pune", "Mumbai"}));
  EXPECT_EQ(f["visits"].type, "integer");
  EXPECT_TRUE(f["visits"].has_min);
  EXPECT_EQ(f["score_ratio"].type, "number");
  EXPECT_EQ(f["Has Loan"].type, "boolean");
  EXPECT_EQ(f["Budget"].type, "money_inr");
  EXPECT_EQ(f["created"].type, "timestamp");
  EXPECT_EQ(f["created"].role, "meta");
  EXPECT_EQ(f["Remarks"].role, "text-for-rerank");
  EXPECT_EQ(f["email_opens"].type, "integer");  // a count, not an e-mail address
  EXPECT_EQ(f["email_opens"].role, "feature");
  EXPECT_EQ(f["Converted"].role, "label");
  EXPECT_EQ(f["Converted"].type, "boolean");
  EXPECT_NE(std::find(tokens.begin(), tokens.end(), "Select"), tokens.end());
}

TEST(InferSchema, UnknownLabelIsAnError) {
  auto reader = data::CsvReader::from_string("a,b\n1,2\n");
  data::InferOptions opt;
  opt.label = "converted";
  auto json = data::infer_schema(reader, opt);
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().code, "unknown_field");
}

TEST(InferSchema, MalformedCsvReportsLine) {
  auto reader = data::CsvReader::from_string("a,b\n1,2\n3\n");
  auto json = data::infer_schema(reader, {});
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().code, "csv_malformed");
  EXPECT_NE(json.error().message.find("line 3"), std::string::npos);
}

TEST(InferSchema, GeneratedLeadsComeBackCloseToTheShippedSchema) {
  std::string csv;
  {
    data::CsvWriter w(&csv);
    data::GenerateOptions opt;
    opt.rows = 2000;
    opt.progress = false;
    ASSERT_TRUE(data::generate(opt, w));
  }
  auto f = infer(csv, "converted");
  EXPECT_EQ(f["lead_id"].role, "id");
  EXPECT_EQ(f["created_at"].type, "timestamp");
  EXPECT_EQ(f["budget_lakh"].type, "money_inr");
  EXPECT_EQ(f["bhk"].type, "integer");
  EXPECT_EQ(f["source"].type, "category");
  EXPECT_EQ(f["loan_preapproved"].type, "boolean");
  EXPECT_EQ(f["notes"].role, "text-for-rerank");
  EXPECT_EQ(f["consent"].role, "consent");
  for (const char* pii : {"name", "phone", "email"}) EXPECT_EQ(f[pii].role, "pii") << pii;
  EXPECT_EQ(f["whatsapp_replies"].role, "feature");
  EXPECT_EQ(f["converted"].role, "label");
  EXPECT_EQ(f["true_probability"].role, "ignore");
}

}  // namespace
