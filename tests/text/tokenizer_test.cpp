#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "test_support.h"
#include "text/text.h"

namespace {

using text_test::minilm_dir;
using text_test::models_dir;

struct GoldenCase {
  int index;
  std::string text;
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  bool truncated;
  size_t untruncated;
};

std::vector<GoldenCase> load_golden() {
  std::vector<GoldenCase> out;
  simdjson::dom::parser parser;
  auto doc = parser.load((models_dir() / "minilm_golden.json").string());
  for (auto s : doc["sentences"].get_array()) {
    GoldenCase c;
    c.index = static_cast<int>(int64_t(s["index"]));
    c.text = std::string(std::string_view(s["text"]));
    for (auto v : s["input_ids"].get_array()) c.ids.push_back(static_cast<int32_t>(int64_t(v)));
    for (auto v : s["tokens"].get_array()) c.tokens.emplace_back(std::string_view(v));
    c.truncated = bool(s["truncated"]);
    c.untruncated = static_cast<size_t>(int64_t(s["num_wordpieces_untruncated"]));
    out.push_back(std::move(c));
  }
  return out;
}

class TokenizerGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(models_dir() / "minilm_golden.json") ||
        !std::filesystem::exists(minilm_dir() / "vocab.txt")) {
      GTEST_SKIP() << "shared model files missing under " << models_dir().string();
    }
    auto t = text::WordPieceTokenizer::load(minilm_dir() / "vocab.txt", 256);
    ASSERT_TRUE(t) << t.error().message;
    tok_.emplace(*std::move(t));
    cases_ = load_golden();
  }
  std::optional<text::WordPieceTokenizer> tok_;
  std::vector<GoldenCase> cases_;
};

TEST_F(TokenizerGolden, EveryGoldenStringMatchesReferenceIds) {
  ASSERT_EQ(cases_.size(), 34u);
  for (const auto& c : cases_) {
    SCOPED_TRACE("golden #" + std::to_string(c.index) + ": " + c.text);
    auto ids = tok_->encode(c.text);
    EXPECT_EQ(ids, c.ids);
    std::vector<std::string> toks;
    for (int32_t id : ids) toks.push_back(tok_->token(id));
    EXPECT_EQ(toks, c.tokens);
  }
}

TEST_F(TokenizerGolden, UntruncatedLengthsMatchAndLongInputIsCutAt256) {
  for (const auto& c : cases_) {
    SCOPED_TRACE("golden #" + std::to_string(c.index));
    std::vector<int32_t> pieces;
    tok_->tokenize(c.text, pieces);
    EXPECT_EQ(pieces.size(), c.untruncated);
    if (c.truncated) {
      EXPECT_EQ(tok_->encode(c.text).size(), 256u);
    }
  }
}

TEST_F(TokenizerGolden, SpecialTokensInTextAreMatchedCaseSensitively) {
  auto ids = tok_->encode("a [SEP] b [sep]");
  std::vector<std::string> toks;
  for (int32_t id : ids) toks.push_back(tok_->token(id));
  EXPECT_EQ(toks, (std::vector<std::string>{"[CLS]", "a", "[SEP]", "b", "[", "sep", "]", "[SEP]"}));
}

TEST_F(TokenizerGolden, WordsOverHundredCharsAreUnknown) {
  std::string w100(100, 'a'), w101(101, 'a');
  EXPECT_NE(tok_->encode(w100)[1], tok_->unk_id());
  auto ids = tok_->encode(w101);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], tok_->unk_id());
}

TEST_F(TokenizerGolden, ShortMaxSeqLengthKeepsClsAndSep) {
  auto t = text::WordPieceTokenizer::load(minilm_dir() / "vocab.txt", 4);
  ASSERT_TRUE(t);
  auto ids = t->encode("one two three four five");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids.front(), t->cls_id());
  EXPECT_EQ(ids.back(), t->sep_id());
}

TEST_F(TokenizerGolden, InvalidUtf8IsDroppedNotFatal) {
  std::string bad = "flat\xff\xfe in pune\xc3";
  auto ids = tok_->encode(bad);
  EXPECT_EQ(ids, tok_->encode("flat in pune"));
}

TEST(Normalizer, StripsAccentsLowercasesAndSplitsCjk) {
  EXPECT_EQ(text::bert_normalize("Café RÉSUMÉ"), "cafe resume");
  EXPECT_EQ(text::bert_normalize("a\tb\u200bc"), "a bc");
  EXPECT_EQ(text::bert_normalize("北京"), " 北  京 ");
  std::vector<std::string> words;
  text::bert_pre_tokenize("it's 1.2cr!", words);
  EXPECT_EQ(words, (std::vector<std::string>{"it", "'", "s", "1", ".", "2cr", "!"}));
}

TEST(Tokenizer, VocabWithoutSpecialTokensIsRejected) {
  auto t = text::WordPieceTokenizer::from_tokens({"a", "b"});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, "vocab_invalid");
  auto missing = text::WordPieceTokenizer::load("/nonexistent/vocab.txt");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "vocab_unreadable");
}

}  // namespace
