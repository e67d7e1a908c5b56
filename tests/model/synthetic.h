#pragma once
// Test data with a known probability per row: a logistic latent model with an interaction,
// a categorical effect and missing values, so tests can compare against the oracle AUC.
#include <cmath>
#include <random>
#include <vector>

#include "model/model.h"

namespace model_test {

struct Synthetic {
  model::Matrix x;
  std::vector<float> labels;
  std::vector<double> true_probability;
  std::vector<model::FeatureSpec> features;
};

inline Synthetic make_synthetic(size_t rows, uint64_t seed) {
  Synthetic s;
  s.features = {{"visits", false}, {"budget", false}, {"calls", false}, {"noise1", false},
                {"noise2", false}, {"source", true},  {"replies", false}};
  const size_t cols = s.features.size();
  s.x.rows = rows;
  s.x.cols = cols;
  s.x.values.resize(rows * cols);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unif(0, 1);
  const double source_effect[6] = {-1.0, -0.3, 0.0, 0.4, 1.0, -0.6};
  for (size_t r = 0; r < rows; ++r) {
    float* row = s.x.values.data() + r * cols;
    const double visits = std::floor(std::abs(normal(rng)) * 2);
    const double budget = std::exp(normal(rng) * 0.5 + 4);
    const double calls = std::floor(unif(rng) * 6);
    const int source = static_cast<int>(unif(rng) * 6);
    const bool replies_missing = unif(rng) < 0.25;
    const double replies = std::floor(unif(rng) * 4);
    double z = -2.6 + 0.8 * visits + 0.004 * (budget - 55) + 0.25 * calls +
               source_effect[source] + (replies_missing ? -0.5 : 0.3 * replies) +
               (visits > 1 && calls > 2 ? 0.8 : 0.0);
    const double p = 1 / (1 + std::exp(-z));
    row[0] = static_cast<float>(visits);
    row[1] = static_cast<float>(budget);
    row[2] = static_cast<float>(calls);
    row[3] = static_cast<float>(normal(rng));
    row[4] = static_cast<float>(unif(rng));
    row[5] = static_cast<float>(source);
    row[6] = replies_missing ? NAN : static_cast<float>(replies);
    s.true_probability.push_back(p);
    s.labels.push_back(unif(rng) < p ? 1.0f : 0.0f);
  }
  return s;
}

}  // namespace model_test
