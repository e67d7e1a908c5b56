// Loader behaviour: metadata, precise errors for malformed models, and fuzzing with
// truncated and corrupted JSON (never a crash; ASan/UBSan run these too).

// GCC 12 reports a bogus -Wrestrict inside std::string edits (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "forest/forest.h"
#include "tests/forest/xgb_oracle.h"

namespace {

using forest::Forest;

// A small model (numeric + categorical, feature names) trained by XGBoost, as JSON text.
const std::string& small_model_json() {
  static const std::string json = [] {
    auto data = xgb_oracle::make_dataset(2000, 6, 2, 7, 0.1, false, 42);
    xgb_oracle::DMatrix d(data.x, data.rows, data.cols, &data.y, &data.types);
    const char* names[] = {"budget_lakh", "calls_answered", "page_views",
                           "days_since_enquiry", "city", "source"};
    xgb_oracle::check(XGDMatrixSetStrFeatureInfo(d.handle(), "feature_name", names, 6), "names");
    xgb_oracle::Booster b(d,
                          {{"objective", "binary:logistic"},
                           {"max_depth", "3"},
                           {"tree_method", "hist"},
                           {"max_cat_to_onehot", "1"},
                           {"nthread", "1"}},
                          6);
    // As Python's Booster does: names and types live on the booster, not only the data.
    std::vector<const char*> types;
    for (const auto& t : data.types) types.push_back(t.c_str());
    xgb_oracle::check(XGBoosterSetStrFeatureInfo(b.handle(), "feature_name", names, 6), "names");
    xgb_oracle::check(XGBoosterSetStrFeatureInfo(b.handle(), "feature_type", types.data(), 6),
                      "types");
    const auto path = (std::filesystem::temp_directory_path() /
                       ("leadscore_forest_small_" + std::to_string(::getpid()) + ".json"))
                          .string();
    b.save(path);
    std::string text = xgb_oracle::read_text(path);
    std::filesystem::remove(path);
    return text;
  }();
  return json;
}

std::string replace_first(std::string s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << "test setup: '" << from << "' not in model";
  if (pos != std::string::npos) s = s.substr(0, pos) + to + s.substr(pos + from.size());
  return s;
}

void expect_error(const std::string& json, const std::string& code, const std::string& words) {
  auto f = Forest::load_json(json);
  ASSERT_FALSE(f.has_value()) << "expected " << code << " about " << words;
  EXPECT_EQ(f.error().code, code) << f.error().message;
  EXPECT_NE(f.error().message.find(words), std::string::npos)
      << "message '" << f.error().message << "' should mention '" << words << "'";
}

TEST(ForestLoader, LoadsMetadataAndFeatureNames) {
  auto f = Forest::load_json(small_model_json());
  ASSERT_TRUE(f.has_value()) << f.error().message;
  const Forest& m = **f;
  EXPECT_EQ(m.num_features(), 6u);
  EXPECT_EQ(m.num_trees(), 6u);
  EXPECT_LE(m.max_depth(), 3);
  EXPECT_EQ(m.objective(), forest::Objective::kBinaryLogistic);
  ASSERT_EQ(m.feature_names().size(), 6u);
  EXPECT_EQ(m.feature_names()[4], "city");
  ASSERT_EQ(m.feature_types().size(), 6u);
  EXPECT_EQ(m.feature_types()[5], "c");
}

TEST(ForestLoader, WhitespaceAndFieldOrderDoNotMatter) {
  auto compact = Forest::load_json(small_model_json());
  ASSERT_TRUE(compact.has_value());
  std::string pretty;
  bool in_string = false;
  for (char c : small_model_json()) {
    pretty.push_back(c);
    if (c == '"') in_string = !in_string;  // XGBoost's names here have no escapes
    if (!in_string && (c == ',' || c == ':' || c == '[' || c == '{')) pretty += "\n  ";
  }
  auto spaced = Forest::load_json(pretty);
  ASSERT_TRUE(spaced.has_value()) << spaced.error().message;
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0, 3);
  for (int i = 0; i < 1000; ++i) {
    float row[6];
    for (float& v : row) v = i % 7 == 0 ? NAN : std::round(n(rng) * 4) / 4;
    EXPECT_EQ((*compact)->predict_margin(row), (*spaced)->predict_margin(row));
  }
}

TEST(ForestLoader, MissingFileIsModelNotFound) {
  auto f = Forest::load_file("/nonexistent/model.json");
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, "model_not_found");
}

TEST(ForestLoader, NotJsonIsModelInvalid) {
  expect_error("", "model_invalid", "not valid JSON");
  expect_error("{\"learner\": ", "model_invalid", "not valid JSON");
  expect_error("[1, 2, 3]", "model_invalid", "object");
  expect_error("{}", "model_invalid", "learner");
}

TEST(ForestLoader, UnsupportedBoosterAndObjective) {
  const auto& m = small_model_json();
  expect_error(replace_first(m, "\"name\":\"gbtree\"", "\"name\":\"dart\""),
               "unsupported_model", "dart");
  expect_error(replace_first(m, "\"name\":\"binary:logistic\"", "\"name\":\"multi:softprob\""),
               "unsupported_model", "multi:softprob");
  expect_error(replace_first(m, "\"num_class\":\"0\"", "\"num_class\":\"3\""),
               "unsupported_model", "multi-class");
}

TEST(ForestLoader, InconsistentModelsNameTheProblem) {
  const auto& m = small_model_json();
  expect_error(replace_first(m, "\"num_feature\":\"6\",\"num_target", "\"num_feature\":\"2\",\"num_target"),
               "model_invalid", "num_feature");
  expect_error(replace_first(m, "\"left_children\":[1,", "\"left_children\":["),
               "model_invalid", "left_children");
  expect_error(replace_first(m, "\"left_children\":[1,", "\"left_children\":[0,"),
               "model_invalid", "invalid children");
  expect_error(replace_first(m, "\"split_indices\":[", "\"split_indices\":[99,"),
               "model_invalid", "split_indices");
  expect_error(replace_first(m, "\"base_score\":\"5E-1\"", "\"base_score\":\"1.5\""),
               "model_invalid", "base_score");
  expect_error(replace_first(m, "\"base_score\":\"5E-1\"", "\"base_score\":\"half\""),
               "model_invalid", "base_score");
  expect_error(replace_first(m, "\"num_trees\":\"6\"", "\"num_trees\":\"7\""), "model_invalid",
               "num_trees");
  expect_error(replace_first(m, "\"id\":0,", "\"id\":1,"), "model_invalid", ".id");
  expect_error(replace_first(m, "\"split_conditions\":[", "\"split_conditions\":[\"x\","),
               "model_invalid", "split_conditions");
  expect_error(replace_first(m, "\"default_left\":[", "\"default_left\":[7,"), "model_invalid",
               "default_left");
}

TEST(ForestLoader, BadCategoriesAreRejected) {
  const auto& m = small_model_json();
  const auto pos = m.find("\"categories\":[");
  ASSERT_NE(pos, std::string::npos);
  // The first non-empty category list gets a negative code.
  const auto nonempty = m.find("\"categories\":[", pos);
  std::string bad = m;
  for (auto p = nonempty; p != std::string::npos; p = bad.find("\"categories\":[", p + 1)) {
    if (bad[p + 14] != ']') {
      bad.insert(p + 14, "-3,");
      break;
    }
  }
  ASSERT_NE(bad, m) << "test setup: the model has no categorical split";
  auto f = Forest::load_json(bad);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, "model_invalid");
}

// Whatever the bytes, load_json returns a value or a model error, and a loaded model can
// predict and explain without touching memory it does not own.
void load_and_use(const std::string& json) {
  auto f = Forest::load_json(json);
  if (!f) {
    const auto& code = f.error().code;
    EXPECT_TRUE(code == "model_invalid" || code == "unsupported_model") << code;
    EXPECT_FALSE(f.error().message.empty());
    return;
  }
  const Forest& m = **f;
  std::vector<float> row(m.num_features() + 1, 1.0f);
  std::vector<float> phi(m.num_features() + 1);
  for (float v : {0.0f, NAN, -1.0f, 1e30f}) {
    std::fill(row.begin(), row.end(), v);
    (void)m.predict(row);
    m.contributions(std::span<const float>(row).first(m.num_features()), phi);
  }
}

TEST(ForestLoaderFuzz, TruncatedModelsNeverCrash) {
  const auto& m = small_model_json();
  const std::size_t step = std::max<std::size_t>(1, m.size() / 3000);
  for (std::size_t n = 0; n < m.size(); n += step) load_and_use(m.substr(0, n));
}

TEST(ForestLoaderFuzz, CorruptedModelsNeverCrash) {
  const auto& m = small_model_json();
  std::mt19937_64 rng(7);
  const char alphabet[] = "0123456789-+.eE,:[]{}\"tfnNaI \\x";
  int loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s = m;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[pos] = alphabet[rng() % (sizeof(alphabet) - 1)]; break;
        case 1: s.erase(pos, 1 + rng() % 8); break;
        default: s.insert(pos, 1, alphabet[rng() % (sizeof(alphabet) - 1)]); break;
      }
      if (s.empty()) s = "{";
    }
    auto f = Forest::load_json(s);
    loaded += f.has_value();
    load_and_use(s);
  }
  // Some edits hit irrelevant bytes (digits of a loss value), most break something.
  EXPECT_GT(loaded, 0);
  EXPECT_LT(loaded, 3000);
}

TEST(ForestLoaderFuzz, NumbersSwappedForExtremesNeverCrash) {
  const auto& m = small_model_json();
  std::mt19937_64 rng(9);
  const char* replacements[] = {"-1", "2147483647", "-2147483648", "99999999999999999999",
                                "1E39", "NaN", "-Infinity", "0", "1.5", "true", "null"};
  std::vector<std::size_t> digits;
  for (std::size_t i = 1; i < m.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(m[i])) &&
        !std::isdigit(static_cast<unsigned char>(m[i - 1])) && m[i - 1] != '.' &&
        m[i - 1] != 'E' && m[i - 1] != '-') {
      digits.push_back(i);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    const std::size_t pos = digits[rng() % digits.size()];
    std::size_t end = pos;
    while (end < m.size() && (std::isdigit(static_cast<unsigned char>(m[end])) ||
                              m[end] == '.' || m[end] == 'E' || m[end] == '-')) {
      ++end;
    }
    load_and_use(m.substr(0, pos) + replacements[rng() % std::size(replacements)] +
                 m.substr(end));
  }
}

}  // namespace
