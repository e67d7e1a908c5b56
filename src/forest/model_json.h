#pragma once
// Private: XGBoost 1.7 JSON model -> plain arrays (RawModel), validated so that every
// reachable node, feature index and category is safe to use.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "forest/forest.h"

namespace forest::detail {

struct RawTree {
  // Per node, in XGBoost's node numbering (root = 0).
  std::vector<int32_t> left;
  std::vector<int32_t> right;
  std::vector<uint32_t> feature;
  std::vector<float> value;  // split threshold, or leaf value for leaves
  std::vector<float> cover;  // sum_hessian
  std::vector<uint8_t> default_left;
  std::vector<uint8_t> is_cat;
  // Categories sending a categorical node right: categories[cat_begin[n] .. cat_end[n]).
  std::vector<uint32_t> cat_begin;
  std::vector<uint32_t> cat_end;
  std::vector<uint32_t> categories;
  int depth = 0;  // edges on the longest root-to-leaf path
};

struct RawModel {
  Objective objective = Objective::kBinaryLogistic;
  float base_score = 0.5f;
  std::size_t num_features = 0;
  std::vector<RawTree> trees;  // in XGBoost's tree order (by "id")
  std::vector<std::string> feature_names;
  std::vector<std::string> feature_types;
};

// Errors: model_invalid, unsupported_model.
core::Result<RawModel> parse_model_json(std::string_view json);

}  // namespace forest::detail
