#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "data/data.h"

namespace {

// O(n^2) definition: P(score_pos > score_neg) + 0.5 P(tie).
double brute_auc(const std::vector<double>& s, const std::vector<int>& y) {
  double num = 0;
  double pairs = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (y[i] == 0) continue;
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[j] != 0) continue;
      pairs += 1;
      num += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
    }
  }
  return num / pairs;
}

TEST(RocAuc, PerfectAndReversedRanking) {
  std::vector<double> s{0.1, 0.2, 0.8, 0.9};
  std::vector<int> y{0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(data::roc_auc(s, y), 1.0);
  std::vector<int> r{1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(data::roc_auc(s, r), 0.0);
}

TEST(RocAuc, ConstantScoreIsHalf) {
  std::vector<double> s(10, 0.3);
  std::vector<int> y{0, 1, 0, 1, 1, 0, 0, 0, 1, 0};
  EXPECT_DOUBLE_EQ(data::roc_auc(s, y), 0.5);
}

TEST(RocAuc, TiesUseAverageRanks) {
  std::vector<double> s{0.1, 0.5, 0.5, 0.9};
  std::vector<int> y{0, 1, 0, 1};
  // Pairs (pos, neg): (0.5,0.1)=1 (0.5,0.5)=.5 (0.9,0.1)=1 (0.9,0.5)=1 → 3.5/4.
  EXPECT_DOUBLE_EQ(data::roc_auc(s, y), 0.875);
}

TEST(RocAuc, MatchesPairwiseDefinitionOnRandomData) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> s(200);
    std::vector<int> y(200);
    for (size_t i = 0; i < s.size(); ++i) {
      y[i] = static_cast<int>(rng() % 3 == 0);
      s[i] = static_cast<double>(rng() % 25) / 25.0 + 0.1 * y[i];  // many ties
    }
    y[0] = 1;
    y[1] = 0;
    EXPECT_NEAR(data::roc_auc(s, y), brute_auc(s, y), 1e-12);
  }
}

TEST(RocAuc, UndefinedWithOneClassOrSizeMismatch) {
  std::vector<double> s{0.1, 0.2};
  std::vector<int> ones{1, 1};
  EXPECT_TRUE(std::isnan(data::roc_auc(s, ones)));
  std::vector<int> short_labels{1};
  EXPECT_TRUE(std::isnan(data::roc_auc(s, short_labels)));
}

}  // namespace
