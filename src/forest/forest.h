#pragma once
// forest: a compiled XGBoost 1.7 tree ensemble. Loads XGBoost's own JSON model format and
// predicts bit-exactly like XGBoost's CPU predictor (same float32 comparisons, default
// directions, categorical bitset semantics, tree-order float accumulation, sigmoid), plus
// exact path-dependent TreeSHAP contributions like XGBoost's `pred_contribs`.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace forest {

enum class Objective { kBinaryLogistic, kRegSquaredError };

// How nodes are laid out in memory; every layout gives identical results.
//  - kQuickScorer: per feature, split nodes sorted by threshold; a row clears leaf bits of
//    the trees it goes right in, then each tree's exit leaf is its lowest bit (trees of up
//    to 64 leaves). Fastest for single rows and batches on the models we train.
//  - kPerfect: every tree padded to a complete binary tree of the forest's max depth:
//    branch-free fixed-depth descent, child index computed (depth <= 12).
//  - kFlat: per-tree node arrays with sibling children adjacent, explicit child index.
// kAuto picks kQuickScorer when the forest allows it, else kPerfect for shallow forests,
// else kFlat.
enum class Layout { kAuto, kFlat, kPerfect, kQuickScorer };

struct LoadOptions {
  Layout layout = Layout::kAuto;
};

// One feature's SHAP contribution (in margin units).
struct Contribution {
  uint32_t feature = 0;  // column index; == num_features() for the bias term
  float value = 0.0f;
};

class Forest;

// Caller-owned scratch for top_contributions: sized once per forest, reused across calls
// (no allocation per call). Not shareable between threads.
class ShapBuffer {
 public:
  explicit ShapBuffer(const Forest& forest);

 private:
  friend class Forest;
  std::vector<float> phi_;
  std::vector<Contribution> top_;
  std::vector<float> tree_phi_;   // one tree's contributions (zero between trees)
  std::vector<uint32_t> cold_;    // per node of a tree: path slots the row left
};

// Immutable after loading; every const method is safe to call from many threads at once.
class Forest {
 public:
  // Parses an XGBoost 1.7 JSON model (Learner::SaveModel / Booster.save_model("x.json")).
  // Supports gbtree with objective binary:logistic or reg:squarederror, numeric and
  // categorical splits, trees of depth <= kMaxDepth. Errors: `model_invalid` (malformed or
  // inconsistent JSON, message names the offending part), `unsupported_model` (other
  // boosters/objectives, multi-output, too deep trees).
  static core::Result<std::shared_ptr<const Forest>> load_json(std::string_view model_json,
                                                               LoadOptions options = {});
  // Reads the file then load_json. Extra error: `model_not_found` / `io_error`.
  static core::Result<std::shared_ptr<const Forest>> load_file(const std::string& path,
                                                               LoadOptions options = {});

  static constexpr int kMaxDepth = 24;

  // Raw margin (sum of leaf values + base margin), equal bit for bit to XGBoost's
  // output_margin prediction. `row` holds num_features() float32 values (more are
  // ignored); NaN means missing. Precondition: row.size() >= num_features().
  // No allocation.
  float predict_margin(std::span<const float> row) const;
  // Transformed prediction: probability for binary:logistic, margin for regression.
  float predict(std::span<const float> row) const;
  // Predicts n_rows rows of a row-major matrix with n_cols >= num_features() columns into
  // out[0..n_rows). `threads` <= 0 means all hardware threads; small batches run inline.
  void predict_batch(const float* rows, std::size_t n_rows, std::size_t n_cols, float* out,
                     bool margin, int threads) const;

  // Exact path-dependent TreeSHAP (XGBoost pred_contribs): out.size() must be
  // num_features() + 1; out[num_features()] is the bias (expected margin). The entries
  // sum to predict_margin(row) (up to float rounding). Uses a scratch per thread,
  // allocated on the thread's first call only.
  void contributions(std::span<const float> row, std::span<float> out) const;
  // The k contributions with the largest |value| (bias excluded), sorted by |value|
  // descending, ties by feature index; zero contributions are left out. All scratch is in
  // `buffer` (no allocation). The returned span points into `buffer` and is valid until
  // its next use.
  std::span<const Contribution> top_contributions(std::span<const float> row, std::size_t k,
                                                  ShapBuffer& buffer) const;
  // top_contributions for many rows (each points at num_features() floats): row i's top k
  // go to out[i * k .. i * k + counts[i]), equal to what top_contributions gives for it.
  // Trees are visited once per block of rows, so each tree's tables are read from cache for
  // the whole block. Scratch per thread, allocated when it grows only.
  void top_contributions_batch(std::span<const float* const> rows, std::size_t k,
                               Contribution* out, std::size_t* counts) const;

  std::size_t num_features() const { return num_features_; }
  std::size_t num_trees() const { return num_trees_; }
  int max_depth() const { return max_depth_; }
  Objective objective() const { return objective_; }
  // base_score as stored in the model (a probability for binary:logistic).
  float base_score() const { return base_score_; }
  // base_score converted to margin space the way XGBoost 1.7 does (logit in float).
  float base_margin() const { return base_margin_; }
  Layout layout() const { return layout_; }
  // Feature names and types ("q", "c", "int", "float", ...) from the model JSON; empty
  // when the model has none.
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const std::vector<std::string>& feature_types() const { return feature_types_; }

  Forest(const Forest&) = delete;
  Forest& operator=(const Forest&) = delete;
  ~Forest();

  struct Impl;  // private layout data (forest/layout.h)

 private:
  friend class ShapBuffer;
  Forest();
  float predict_margin_unchecked(const float* row) const;
  void contributions_into(const float* row, std::span<float> out, float* tree_phi,
                          uint32_t* cold) const;

  std::size_t num_features_ = 0;
  std::size_t num_trees_ = 0;
  int max_depth_ = 0;
  Objective objective_ = Objective::kBinaryLogistic;
  float base_score_ = 0.5f;
  float base_margin_ = 0.0f;
  Layout layout_ = Layout::kFlat;
  std::vector<std::string> feature_names_;
  std::vector<std::string> feature_types_;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace forest
