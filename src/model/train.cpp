// Stratified split and XGBoost training with early stopping (driven round by round here so we
// can print progress and keep the best iteration).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <thread>

#include "model/model.h"
#include "model/xgb.h"

namespace model {
namespace {

// Fisher-Yates with an explicit mt19937_64 draw: std::shuffle's algorithm is unspecified, and
// the split must be the same on every standard library for a seed.
void seeded_shuffle(std::vector<uint32_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = rng() % i;
    std::swap(v[i - 1], v[j]);
  }
}

std::string fmt_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// For messages: 0.1 as "0.1", not fmt_double's round-trip "0.10000000000000001".
std::string shown(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// `invalid_params` naming the flag, e.g. "--eta must be > 0, got -1".
core::Error out_of_range(const char* flag, const std::string& rule, double got) {
  return {"invalid_params", std::string("--") + flag + " must be " + rule + ", got " + shown(got),
          flag};
}

}  // namespace

core::Status check_split_options(const SplitOptions& o) {
  // Written as !(in range) so that NaN fails too.
  if (!(o.valid_fraction > 0 && o.valid_fraction < 1)) {
    return tl::unexpected(out_of_range("valid-fraction", "in (0, 1)", o.valid_fraction));
  }
  if (!(o.test_fraction > 0 && o.test_fraction < 1)) {
    return tl::unexpected(out_of_range("test-fraction", "in (0, 1)", o.test_fraction));
  }
  if (!(o.valid_fraction + o.test_fraction < 1)) {
    return core::make_error("invalid_params",
                            "--valid-fraction + --test-fraction must be < 1 (the rest trains), got " +
                                shown(o.valid_fraction + o.test_fraction),
                            "valid-fraction");
  }
  return {};
}

core::Status check_train_params(const TrainParams& p) {
  struct Rule {
    const char* flag;
    double value;
    double min;
    bool min_exclusive;
    double max;  // inclusive
  };
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const Rule rules[] = {
      {"trees", static_cast<double>(p.max_trees), 1, false, kInf},
      {"max-depth", static_cast<double>(p.max_depth), 1, false, kInf},
      {"early-stopping", static_cast<double>(p.early_stopping_rounds), 1, false, kInf},
      {"eta", p.eta, 0, true, kInf},
      {"subsample", p.subsample, 0, true, 1},
      {"colsample-bytree", p.colsample_bytree, 0, true, 1},
      {"min-child-weight", p.min_child_weight, 0, false, kInf},
      {"lambda", p.lambda, 0, false, kInf},
      {"alpha", p.alpha, 0, false, kInf},
      {"gamma", p.gamma, 0, false, kInf},
      {"max-bin", static_cast<double>(p.max_bin), 2, false, kInf},
      {"max-cat-to-onehot", static_cast<double>(p.max_cat_to_onehot), 1, false, kInf},
      {"scale-pos-weight", p.scale_pos_weight, 0, false, kInf},
      {"threads", static_cast<double>(p.nthread), 0, false, kInf},
  };
  for (const Rule& r : rules) {
    const bool above_min = r.min_exclusive ? r.value > r.min : r.value >= r.min;
    if (above_min && r.value <= r.max) continue;
    std::string rule;
    if (r.max == 1) {
      rule = "in (0, 1]";
    } else {
      rule = std::string(r.min_exclusive ? "> " : ">= ") + shown(r.min);
    }
    return tl::unexpected(out_of_range(r.flag, rule, r.value));
  }
  return {};
}

core::Result<Split> stratified_split(std::span<const float> labels, const SplitOptions& o) {
  LS_TRY(check_split_options(o));
  std::vector<uint32_t> pos, neg;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == 1.0f) {
      pos.push_back(static_cast<uint32_t>(i));
    } else if (labels[i] == 0.0f) {
      neg.push_back(static_cast<uint32_t>(i));
    } else {
      return core::make_error("invalid_label",
                              "label of row " + std::to_string(i) + " is not 0 or 1");
    }
  }
  if (labels.size() < o.min_rows) {
    return core::make_error("too_few_rows", "need at least " + std::to_string(o.min_rows) +
                                                " labelled rows to train, got " +
                                                std::to_string(labels.size()));
  }
  if (pos.empty()) {
    return core::make_error("no_positives",
                            "the label has no positive (converted) rows: nothing to learn");
  }
  if (neg.empty()) {
    return core::make_error("no_negatives",
                            "the label has only positive rows (one class): nothing to learn");
  }
  std::mt19937_64 rng(o.seed);
  Split s;
  for (auto* cls : {&pos, &neg}) {
    seeded_shuffle(*cls, rng);
    const size_t n = cls->size();
    const auto n_valid = static_cast<size_t>(std::llround(static_cast<double>(n) * o.valid_fraction));
    const auto n_test = static_cast<size_t>(std::llround(static_cast<double>(n) * o.test_fraction));
    const size_t n_train = n - std::min(n, n_valid + n_test);
    const char* what = cls == &pos ? "positive" : "negative";
    for (size_t got : {n_train, n_valid, n_test}) {
      if (got < o.min_per_class_split) {
        return core::make_error(
            "too_few_per_class",
            "only " + std::to_string(n) + " " + what + " rows: each of the train/validation/test " +
                "splits needs at least " + std::to_string(o.min_per_class_split));
      }
    }
    s.train.insert(s.train.end(), cls->begin(), cls->begin() + static_cast<long>(n_train));
    s.valid.insert(s.valid.end(), cls->begin() + static_cast<long>(n_train),
                   cls->begin() + static_cast<long>(n_train + n_valid));
    s.test.insert(s.test.end(), cls->begin() + static_cast<long>(n_train + n_valid), cls->end());
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.valid.begin(), s.valid.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

Matrix take_rows(const Matrix& x, std::span<const uint32_t> rows) {
  Matrix out;
  out.rows = rows.size();
  out.cols = x.cols;
  out.values.resize(out.rows * out.cols);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(x.row(rows[i]), x.cols, out.values.data() + i * x.cols);
  }
  return out;
}

std::vector<float> take(std::span<const float> v, std::span<const uint32_t> rows) {
  std::vector<float> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = v[rows[i]];
  return out;
}

core::Result<TrainedBooster> train_booster(const Matrix& x, std::span<const float> labels,
                                           std::span<const FeatureSpec> features,
                                           const Split& split, const TrainParams& p,
                                           const ProgressFn& progress) {
  if (labels.size() != x.rows) {
    return core::make_error("invalid_params", "label count does not match matrix rows");
  }
  LS_TRY(check_train_params(p));
  const std::vector<float> y_train = take(labels, split.train);
  const std::vector<float> y_valid = take(labels, split.valid);
  LS_ASSIGN_OR_RETURN(auto dtrain,
                      xgb::DMatrix::create(take_rows(x, split.train), features, y_train));
  LS_ASSIGN_OR_RETURN(auto dvalid,
                      xgb::DMatrix::create(take_rows(x, split.valid), features, y_valid));

  double spw = p.scale_pos_weight;
  if (spw == 0) {
    const double npos = static_cast<double>(std::count(y_train.begin(), y_train.end(), 1.0f));
    spw = (static_cast<double>(y_train.size()) - npos) / std::max(npos, 1.0);
  }
  const int nthread = p.nthread > 0 ? p.nthread
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  DMatrixHandle cache[] = {dtrain.get(), dvalid.get()};
  LS_ASSIGN_OR_RETURN(auto booster, xgb::Booster::create(cache));
  const std::pair<const char*, std::string> params[] = {
      {"objective", "binary:logistic"},
      {"eval_metric", "logloss"},
      {"tree_method", "hist"},
      {"max_depth", std::to_string(p.max_depth)},
      {"eta", fmt_double(p.eta)},
      {"min_child_weight", fmt_double(p.min_child_weight)},
      {"subsample", fmt_double(p.subsample)},
      {"colsample_bytree", fmt_double(p.colsample_bytree)},
      {"lambda", fmt_double(p.lambda)},
      {"alpha", fmt_double(p.alpha)},
      {"gamma", fmt_double(p.gamma)},
      {"max_bin", std::to_string(p.max_bin)},
      {"max_cat_to_onehot", std::to_string(p.max_cat_to_onehot)},
      {"scale_pos_weight", fmt_double(spw)},
      {"seed", std::to_string(p.seed)},
      {"nthread", std::to_string(nthread)},
  };
  for (const auto& [k, v] : params) {
    LS_TRY(xgb::check(XGBoosterSetParam(booster.get(), k, v.c_str()), k));
  }

  TrainedBooster out;
  out.effective_scale_pos_weight = spw;
  double best = INFINITY;
  int best_iter = -1;
  DMatrixHandle evals[] = {dvalid.get()};
  const char* names[] = {"valid"};
  for (int it = 0; it < p.max_trees; ++it) {
    LS_TRY(xgb::check(XGBoosterUpdateOneIter(booster.get(), it, dtrain.get()),
                      "XGBoosterUpdateOneIter"));
    const char* result = nullptr;
    LS_TRY(xgb::check(XGBoosterEvalOneIter(booster.get(), it, evals, names, 1, &result),
                      "XGBoosterEvalOneIter"));
    // Result looks like "[12]\tvalid-logloss:0.412345".
    const char* colon = std::strrchr(result, ':');
    if (colon == nullptr) {
      return core::make_error("xgboost_error", std::string("unexpected eval output: ") + result);
    }
    const double loss = std::strtod(colon + 1, nullptr);
    out.rounds_run = it + 1;
    if (loss < best) {
      best = loss;
      best_iter = it;
    }
    if (progress) progress(it, loss, best_iter);
    if (it - best_iter >= p.early_stopping_rounds) break;
  }
  out.best_iteration = best_iter;
  out.best_valid_logloss = best;

  // Keep only the trees up to the best iteration (XGBoost's own slicing: no re-training).
  BoosterHandle sliced_handle = nullptr;
  LS_TRY(xgb::check(XGBoosterSlice(booster.get(), 0, best_iter + 1, 1, &sliced_handle),
                    "XGBoosterSlice"));
  xgb::Booster sliced(sliced_handle);
  // model.json names its features (checked against the manifest at load, and seen by any
  // XGBoost user who opens it).
  LS_TRY(sliced.set_features(features));
  LS_ASSIGN_OR_RETURN(out.model_json, sliced.save_json());
  return out;
}

core::Result<std::vector<float>> xgboost_predict(std::string_view model_json, const Matrix& x,
                                                 std::span<const FeatureSpec> features,
                                                 std::span<const uint32_t> rows,
                                                 bool output_margin) {
  LS_ASSIGN_OR_RETURN(auto booster, xgb::Booster::from_json(model_json));
  LS_ASSIGN_OR_RETURN(auto dm, rows.empty() ? xgb::DMatrix::create(x, features)
                                            : xgb::DMatrix::create(take_rows(x, rows), features));
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  LS_TRY(xgb::check(
      XGBoosterPredictFromDMatrix(
          booster.get(), dm.get(),
          output_margin ? R"({"type":1,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false})"
                        : R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false})",
          &shape, &dim, &result),
      "XGBoosterPredictFromDMatrix"));
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  return std::vector<float>(result, result + n);
}

}  // namespace model
