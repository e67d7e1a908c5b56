#include "core/json_writer.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>
#include <simdjson.h>

namespace {

std::string quoted(std::string_view s) {
  std::string out;
  core::append_json_string(out, s);
  return out;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(quoted("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
}

TEST(JsonWriter, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(quoted("₹ 90 लाख"), "\"₹ 90 लाख\"");
  EXPECT_EQ(quoted("a\xff" "b"), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_EQ(quoted("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  EXPECT_EQ(quoted("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

TEST(JsonWriter, WritesNestedStructureWithCommas) {
  std::string out;
  core::JsonWriter w(out);
  w.begin_object().field("a", 1).key("b").begin_array().value(true).null().value("x").end_array()
      .field("c", 0.5).end_object();
  EXPECT_EQ(out, R"({"a":1,"b":[true,null,"x"],"c":0.5})");
}

TEST(JsonWriter, NonFiniteNumbersBecomeNull) {
  std::string out;
  core::JsonWriter w(out);
  w.begin_array().value(std::nan("")).value(std::numeric_limits<double>::infinity()).end_array();
  EXPECT_EQ(out, "[null,null]");
}

TEST(JsonWriter, DoublesRoundTrip) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> d(-1e6, 1e6);
  for (int i = 0; i < 1000; ++i) {
    const double v = d(rng);
    std::string out;
    core::JsonWriter(out).value(v);
    EXPECT_EQ(std::stod(out), v);
  }
}

// Fuzz: random bytes always produce JSON that a strict parser accepts.
TEST(JsonWriter, RandomBytesAlwaysProduceValidJson) {
  std::mt19937 rng(42);
  simdjson::dom::parser parser;
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    std::string out;
    core::JsonWriter w(out);
    w.begin_object().field("k", std::string_view(s)).end_object();
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS) << out;
  }
}

}  // namespace
