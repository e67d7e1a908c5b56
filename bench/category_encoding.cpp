// Category encoding, measured (issue 2: "integer codes for XGBoost's categorical support or
// one-hot: choose, measure, document"). For each CSV given, the same split and the same
// `leadscore train` defaults train two boosters: categories as native integer codes (what
// leadscore does) and one-hot (one 0/1 column per category code, NaN in all of a field's
// columns when it is missing). Prints held-out ROC-AUC and log-loss (uncalibrated
// probabilities, test split), trees, columns and training time; results: docs/SCHEMA.md.
// Usage: category_encoding_compare SCHEMA.json LEADS.csv [LEADS.csv ...]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "core/core.h"
#include "model/model.h"

namespace {

// The dataset's matrix with every categorical column replaced by one 0/1 column per code.
model::Matrix one_hot(const model::Dataset& d, std::vector<model::FeatureSpec>& specs) {
  specs.clear();
  std::vector<size_t> width(d.features.size());
  for (size_t f = 0; f < d.features.size(); ++f) {
    width[f] = d.features[f].categorical ? d.category_names[f].size() : 1;
    for (size_t k = 0; k < width[f]; ++k) {
      const auto& name = d.features[f].name;
      specs.push_back(
          {d.features[f].categorical ? name + "=" + d.category_names[f][k] : name, false});
    }
  }
  model::Matrix m;
  m.rows = d.x.rows;
  m.cols = specs.size();
  m.values.reserve(m.rows * m.cols);
  for (size_t r = 0; r < d.x.rows; ++r) {
    const float* row = d.x.row(r);
    for (size_t f = 0; f < d.features.size(); ++f) {
      if (!d.features[f].categorical) {
        m.values.push_back(row[f]);
        continue;
      }
      for (size_t k = 0; k < width[f]; ++k) {
        const bool hit = !std::isnan(row[f]) && static_cast<size_t>(row[f]) == k;
        m.values.push_back(std::isnan(row[f]) ? NAN : (hit ? 1.f : 0.f));
      }
    }
  }
  return m;
}

struct Outcome {
  double auc = 0, log_loss = 0, seconds = 0;
  int trees = 0;
};

Outcome train_and_test(const model::Matrix& x, const std::vector<float>& labels,
                       const std::vector<model::FeatureSpec>& specs, const model::Split& split) {
  model::TrainParams params;  // leadscore train's defaults
  const auto t0 = std::chrono::steady_clock::now();
  auto booster = model::train_booster(x, labels, specs, split, params);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - t0;
  if (!booster) {
    std::fprintf(stderr, "train: %s\n", booster.error().message.c_str());
    std::exit(1);
  }
  auto p = model::xgboost_predict(booster->model_json, x, specs, split.test, false);
  if (!p) {
    std::fprintf(stderr, "predict: %s\n", p.error().message.c_str());
    std::exit(1);
  }
  const std::vector<double> probs(p->begin(), p->end());
  const auto y = model::take(labels, split.test);
  return {model::roc_auc(probs, y), model::log_loss(probs, y), seconds.count(),
          booster->best_iteration + 1};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SCHEMA.json LEADS.csv [LEADS.csv ...]\n", argv[0]);
    return 2;
  }
  auto schema = core::load_schema(argv[1]);
  if (!schema) {
    std::fprintf(stderr, "%s: %s\n", argv[1], schema.error().message.c_str());
    return 1;
  }
  std::printf("| data | encoding | columns | trees | test ROC-AUC | test log-loss | train s |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  for (int i = 2; i < argc; ++i) {
    auto d = model::load_dataset(argv[i], **schema);
    if (!d) {
      std::fprintf(stderr, "%s: %s\n", argv[i], d.error().message.c_str());
      return 1;
    }
    auto split = model::stratified_split(d->labels, model::SplitOptions{});
    if (!split) {
      std::fprintf(stderr, "split: %s\n", split.error().message.c_str());
      return 1;
    }
    std::vector<model::FeatureSpec> hot_specs;
    const model::Matrix hot = one_hot(*d, hot_specs);
    const Outcome native = train_and_test(d->x, d->labels, d->features, *split);
    const Outcome onehot = train_and_test(hot, d->labels, hot_specs, *split);
    for (const auto& [name, cols, o] :
         {std::tuple{"native codes", d->x.cols, native}, std::tuple{"one-hot", hot.cols, onehot}}) {
      std::printf("| %s | %s | %zu | %d | %.4f | %.4f | %.2f |\n", argv[i], name, cols, o.trees,
                  o.auc, o.log_loss, o.seconds);
    }
  }
  return 0;
}
