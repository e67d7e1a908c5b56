#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "text/text.h"

namespace {

using Terms = std::vector<std::string>;

TEST(Bm25Lexicon, SynonymsMapToOneConcept) {
  text::Bm25Reranker r;
  EXPECT_EQ(r.terms("apartment"), r.terms("flat"));
  EXPECT_EQ(r.terms("Flats"), Terms{"flat"});
  EXPECT_EQ(r.terms("RTM"), r.terms("ready-to-move"));
  EXPECT_EQ(r.terms("Ready to Move"), Terms{"rtm"});
  EXPECT_EQ(r.terms("1.2 Cr"), r.terms("1.2 crores"));
  EXPECT_EQ(r.terms("95 lac"), r.terms("95 L"));
  EXPECT_EQ(r.terms("95 lakhs"), (Terms{"95", "lakh"}));
  EXPECT_EQ(r.terms("bungalow"), r.terms("independent house"));
  EXPECT_EQ(r.terms("villa"), Terms{"villa"});
  EXPECT_EQ(r.terms("land"), r.terms("plot"));
  EXPECT_EQ(r.terms("1 BHK"), r.terms("1bhk"));
  EXPECT_EQ(r.terms("resale"), r.terms("secondary"));
  EXPECT_EQ(r.terms("new launch"), r.terms("under construction"));
  EXPECT_EQ(r.terms("shop"), (Terms{"shop", "commercial"}));
  EXPECT_EQ(r.terms("retail"), r.terms("shop"));
  EXPECT_EQ(r.terms("office"), (Terms{"office", "commercial"}));
  EXPECT_EQ(r.terms("home loan"), Terms{"loan"});
}

TEST(Bm25Lexicon, HinglishAndHindiWordsAreUnderstood) {
  text::Bm25Reranker r;
  EXPECT_EQ(r.terms("2bhk flat chahiye"), r.terms("want a 2 BHK apartment"));
  EXPECT_EQ(r.terms("mujhe ghar chahiye jaldi"), (Terms{"house", "urgent"}));
  EXPECT_EQ(r.terms("मुझे अंधेरी में फ्लैट चाहिए"), r.terms("अंधेरी flat"));
  EXPECT_EQ(r.terms("kiraya"), r.terms("rent"));
  EXPECT_EQ(r.terms("80 लाख"), r.terms("80 lakh"));
}

TEST(Bm25Reranker, RanksMatchingLeadsFirstWithScoresInUnitRange) {
  text::Bm25Reranker r;
  EXPECT_EQ(r.name(), "bm25");
  EXPECT_FALSE(r.model_id().empty());
  std::vector<std::string> docs = {
      "Plot of 2400 sq ft in Whitefield, budget flexible",
      "RTM 2BHK flat in Powai, wants site visit, budget 90 lakhs",
      "Looking for a commercial shop in Hinjewadi",
      "2 bhk apartment in Thane, under construction ok",
      "",
  };
  std::vector<float> s(docs.size());
  ASSERT_TRUE(r.similarities("ready to move 2 BHK apartment in Powai", docs, s));
  for (float v : s) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  EXPECT_GT(s[1], s[3]);
  EXPECT_GT(s[3], s[0]);
  EXPECT_GT(s[3], s[2]);
  EXPECT_EQ(s[4], 0.0f);
  EXPECT_GT(s[1], 0.6f);  // mentions everything the query asks for (longer than average)

  ASSERT_TRUE(r.similarities("retail space", docs, s));
  EXPECT_GT(s[2], 0.0f);
  EXPECT_EQ(s[1], 0.0f);
}

TEST(Bm25Reranker, EdgeCases) {
  text::Bm25Reranker r;
  std::vector<std::string> docs = {"flat in pune"};
  std::vector<float> s(1);
  ASSERT_TRUE(r.similarities("", docs, s));
  EXPECT_EQ(s[0], 0.0f);
  ASSERT_TRUE(r.similarities("the a of", docs, s));  // stop words only
  EXPECT_EQ(s[0], 0.0f);
  ASSERT_TRUE(r.similarities("apartment pune", docs, s));
  EXPECT_GT(s[0], 0.9f);
  std::vector<float> wrong(2);
  auto st = r.similarities("x", docs, wrong);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "invalid_argument");
  std::vector<float> none;
  ASSERT_TRUE(r.similarities("flat", std::span<const std::string>(), none));
}

TEST(MakeReranker, FallsBackToBm25WithoutWeights) {
  core::Error why;
  auto r = text::make_reranker("/nonexistent/models/text", {}, &why);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name(), "bm25");
  EXPECT_EQ(why.code, "model_dir_incomplete");
  auto plain = text::make_reranker({});
  EXPECT_EQ(plain->name(), "bm25");
}

}  // namespace
