// Unit tests: split, calibration, metrics, quantiles, hashing (no training).
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "model/model.h"

namespace {

std::vector<float> labels_with(size_t pos, size_t neg) {
  std::vector<float> y(pos, 1.0f);
  y.insert(y.end(), neg, 0.0f);
  return y;
}

TEST(Split, IsStratifiedDisjointAndComplete) {
  auto y = labels_with(200, 800);
  auto s = model::stratified_split(y, {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->train.size() + s->valid.size() + s->test.size(), y.size());
  std::vector<int> seen(y.size());
  for (auto* part : {&s->train, &s->valid, &s->test}) {
    double pos = 0;
    for (uint32_t i : *part) {
      ++seen[i];
      pos += y[i];
    }
    EXPECT_NEAR(pos / static_cast<double>(part->size()), 0.2, 0.01);
  }
  for (int c : seen) EXPECT_EQ(c, 1);
  EXPECT_EQ(s->valid.size(), 150u);
}

TEST(Split, SameSeedSameSplitOtherSeedDifferent) {
  auto y = labels_with(100, 400);
  auto a = model::stratified_split(y, {.seed = 7});
  auto b = model::stratified_split(y, {.seed = 7});
  auto c = model::stratified_split(y, {.seed = 8});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->test, b->test);
  EXPECT_NE(a->test, c->test);
}

TEST(Split, RejectsOneClassAndTooFewRows) {
  EXPECT_EQ(model::stratified_split(labels_with(0, 500), {}).error().code, "no_positives");
  EXPECT_EQ(model::stratified_split(labels_with(500, 0), {}).error().code, "no_negatives");
  EXPECT_EQ(model::stratified_split(labels_with(10, 20), {}).error().code, "too_few_rows");
  EXPECT_EQ(model::stratified_split(labels_with(12, 500), {}).error().code, "too_few_per_class");
  std::vector<float> bad = labels_with(100, 100);
  bad[3] = 0.5f;
  EXPECT_EQ(model::stratified_split(bad, {}).error().code, "invalid_label");
}

TEST(Split, RejectsFractionsOutOfRangeNamingTheFlag) {
  const auto y = labels_with(300, 700);
  struct Case {
    double valid, test;
    const char* field;
    const char* message;
  };
  const Case cases[] = {
      {-0.2, 0.15, "valid-fraction", "--valid-fraction must be in (0, 1), got -0.2"},
      {0.15, 1.5, "test-fraction", "--test-fraction must be in (0, 1), got 1.5"},
      {0.15, 0, "test-fraction", "--test-fraction must be in (0, 1), got 0"},
      {std::nan(""), 0.15, "valid-fraction", "--valid-fraction must be in (0, 1), got nan"},
      {0.6, 0.5, "valid-fraction", "--valid-fraction + --test-fraction must be < 1 (the rest trains), got 1.1"},
  };
  for (const Case& c : cases) {
    auto s = model::stratified_split(y, {.valid_fraction = c.valid, .test_fraction = c.test});
    ASSERT_FALSE(s) << c.message;
    EXPECT_EQ(s.error().code, "invalid_params");
    EXPECT_EQ(s.error().field, c.field);
    EXPECT_EQ(s.error().message, c.message);
  }
  EXPECT_TRUE(model::stratified_split(y, {.valid_fraction = 0.2, .test_fraction = 0.2}));
}

TEST(Metrics, RocAucMatchesPairCount) {
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8, 0.4};
  const std::vector<float> y = {0, 0, 1, 1, 1};
  // Pairs (pos, neg): (0.35>0.1), (0.35<0.4), (0.8>both), (0.4>0.1), (0.4=0.4 -> 1/2) = 4.5/6.
  EXPECT_DOUBLE_EQ(model::roc_auc(s, y), 4.5 / 6);
}

TEST(Metrics, AveragePrecisionOfPerfectAndKnownRanking) {
  const std::vector<double> s = {0.9, 0.8, 0.7, 0.6};
  EXPECT_DOUBLE_EQ(model::average_precision(s, std::vector<float>{1, 1, 0, 0}), 1.0);
  // Positives at ranks 1 and 3: (1/1 + 2/3) / 2.
  EXPECT_DOUBLE_EQ(model::average_precision(s, std::vector<float>{1, 0, 1, 0}), (1 + 2.0 / 3) / 2);
}

TEST(Metrics, LogLossBrierEce) {
  const std::vector<double> p = {0.25, 0.25, 0.25, 0.25};
  const std::vector<float> y = {1, 0, 0, 0};
  EXPECT_NEAR(model::log_loss(p, y), -(std::log(0.25) + 3 * std::log(0.75)) / 4, 1e-12);
  EXPECT_NEAR(model::brier_score(p, y), (0.5625 + 3 * 0.0625) / 4, 1e-12);
  EXPECT_NEAR(model::expected_calibration_error(p, y), 0.0, 1e-12);
  const std::vector<double> q = {0.95, 0.95};
  EXPECT_NEAR(model::expected_calibration_error(q, std::vector<float>{0, 0}), 0.95, 1e-12);
}

TEST(Metrics, DecilesGradesAndConfusion) {
  std::vector<double> p;
  std::vector<float> y;
  for (int i = 0; i < 100; ++i) {
    p.push_back(i / 100.0);
    y.push_back(i >= 80 ? 1.0f : 0.0f);
  }
  model::GradeThresholds g{.a = 0.9, .b = 0.7, .c = 0.4};
  auto m = model::compute_metrics(p, y, g);
  ASSERT_EQ(m.deciles.size(), 10u);
  EXPECT_EQ(m.deciles[0].positives, 10u);
  EXPECT_DOUBLE_EQ(m.deciles[0].lift, 5.0);
  EXPECT_EQ(m.deciles[9].positives, 0u);
  EXPECT_EQ(m.grade_counts[0], 10u);
  EXPECT_EQ(m.grade_counts[1], 20u);
  EXPECT_EQ(m.grade_counts[2], 30u);
  EXPECT_EQ(m.grade_counts[3], 40u);
  EXPECT_EQ(m.confusion[1].tp, 20u);  // grade B or better = top 30, all 20 positives in it
  EXPECT_EQ(m.confusion[1].fp, 10u);
  EXPECT_EQ(m.confusion[0].fn, 10u);
  std::string json;
  core::JsonWriter w(json);
  m.write_json(w);
  EXPECT_NE(json.find("\"grade_counts\":{\"A\":10"), std::string::npos) << json;
}

TEST(Quantiles, PercentileAndGradeThresholds) {
  std::vector<double> s;
  for (int i = 0; i <= 1000; ++i) s.push_back(i / 1000.0);
  auto q = model::score_quantiles(s);
  ASSERT_EQ(q.size(), 101u);
  EXPECT_NEAR(model::percentile_of(q, 0.25), 25.0, 1e-9);
  EXPECT_EQ(model::percentile_of(q, -1), 0.0);
  EXPECT_EQ(model::percentile_of(q, 2), 100.0);
  auto g = model::grade_thresholds_from_quantiles(q);
  EXPECT_NEAR(g.a, 0.9, 1e-12);
  EXPECT_NEAR(g.b, 0.7, 1e-12);
  EXPECT_NEAR(g.c, 0.4, 1e-12);
}

TEST(Calibration, PlattRecoversKnownScaling) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> n(0, 2);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> m;
  std::vector<float> y;
  for (int i = 0; i < 20000; ++i) {
    m.push_back(n(rng));
    y.push_back(u(rng) < model::sigmoid(0.5 * m.back() - 1.0) ? 1.0f : 0.0f);
  }
  auto c = model::fit_platt(m, y);
  EXPECT_NEAR(c.platt_a, 0.5, 0.05);
  EXPECT_NEAR(c.platt_b, -1.0, 0.08);
  auto choice = model::choose_calibration(m, y, 3);
  EXPECT_LT(choice.cv_logloss_platt, choice.cv_logloss_identity);
  EXPECT_NE(choice.chosen.method, model::Calibration::Method::kIdentity);
}

TEST(Calibration, IsotonicIsMonotoneAndFitsSteps) {
  const std::vector<double> m = {1, 2, 3, 4, 5, 6};
  const std::vector<float> y = {0, 1, 0, 1, 1, 1};
  auto c = model::fit_isotonic(m, y);
  // PAV pools (2,3) to 0.5; 1 -> 0 (clamped), 4..6 -> 1 (clamped).
  EXPECT_NEAR(c.apply(1), 1e-4, 1e-12);
  EXPECT_NEAR(c.apply(2.5), 0.5, 1e-12);
  EXPECT_NEAR(c.apply(10), 1 - 1e-4, 1e-12);
  for (double x = 0; x < 7; x += 0.1) EXPECT_LE(c.apply(x), c.apply(x + 0.1));
}

TEST(Calibration, JsonRoundTrip) {
  for (auto c : {model::fit_isotonic(std::vector<double>{1, 2, 3, 4}, std::vector<float>{0, 1, 0, 1}),
                 model::fit_platt(std::vector<double>{1, 2, 3, 4}, std::vector<float>{0, 1, 0, 1}),
                 model::Calibration{}}) {
    std::string json;
    core::JsonWriter w(json);
    c.write_json(w);
    auto back = model::calibration_from_json(json);
    ASSERT_TRUE(back) << back.error().message << json;
    for (double x : {0.0, 1.5, 2.5, 5.0}) EXPECT_EQ(back->apply(x), c.apply(x)) << json;
  }
  EXPECT_EQ(model::calibration_from_json(R"({"method":"magic"})").error().code, "invalid_manifest");
  EXPECT_EQ(model::calibration_from_json(R"({"method":"isotonic","x":[2,1],"y":[0,1]})").error().code,
            "invalid_manifest");
}

TEST(Hash, Sha256KnownVector) {
  EXPECT_EQ(model::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
