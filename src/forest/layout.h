#pragma once
// Private: the in-memory node layouts of a Forest and the one split decision they share.

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "forest/forest.h"

namespace forest {

// Node flag bits, above a 29-bit feature index.
inline constexpr uint32_t kLeafBit = 1u << 31;
inline constexpr uint32_t kDefaultLeftBit = 1u << 30;
inline constexpr uint32_t kCatBit = 1u << 29;
inline constexpr uint32_t kFeatureMask = kCatBit - 1;

// Flat layout node (12 bytes): per tree, breadth-first, the two children of a node adjacent.
struct FlatNode {
  float value;    // threshold; leaf value for leaves; bitset offset (bit_cast) for categorical
  uint32_t left;  // absolute index of the left child (right = left + 1)
  uint32_t bits;  // feature | flags
};

// Perfect layout node (8 bytes): tree padded to depth D; children of i are 2i+1, 2i+2.
struct PerfectNode {
  float value;
  uint32_t bits;
};

struct Forest::Impl {
  std::vector<FlatNode> flat;
  std::vector<uint32_t> flat_roots;  // per tree
  std::vector<float> cover;          // per flat node: sum_hessian (TreeSHAP)
  std::vector<float> mean_value;     // per flat node: cover-weighted mean leaf value
  std::vector<uint8_t> tree_depth;   // per tree
  // Distinct split features of tree t: tree_features[tree_features_begin[t] .. [t + 1]).
  std::vector<uint32_t> tree_features;
  std::vector<uint32_t> tree_features_begin;

  int perfect_depth = -1;  // -1: perfect layout not built
  std::vector<PerfectNode> perfect_nodes;  // per tree 2^D - 1
  std::vector<float> perfect_leaves;       // per tree 2^D

  // Categorical sets: at offset o, cat_words[o] = word count W, then W bitset words
  // (bit c % 32 of word c / 32 set = category c goes right).
  std::vector<uint32_t> cat_words;
  bool has_categorical = false;

  // Chosen at load for the layout, depth and categorical-ness.
  float (*margin_fn)(const Impl&, const float* row, float acc) = nullptr;
  void (*block_fn)(const Impl&, const float* rows, std::size_t n, std::size_t stride,
                   float* acc) = nullptr;
};

// XGBoost 1.7 common::Decision inverted: true = go right. Valid categories are
// 0 <= v < 2^24 (InvalidCat), truncated to an integer; invalid ones and categories not in
// the set go left. Missing (NaN) is handled by the caller.
inline uint32_t categorical_right(float v, const uint32_t* set) {
  if (v < 0.0f || v >= 16777216.0f) return 0;
  const auto c = static_cast<uint32_t>(v);
  const uint32_t word = c >> 5;
  if (word >= set[0]) return 0;
  return (set[1 + word] >> (c & 31u)) & 1u;
}

// 1 = go right. Numeric: XGBoost takes the left child iff `fvalue < split_cond` (float32);
// missing (NaN) takes the default child. For non-NaN v, (v >= t) == !(v < t).
template <bool kHasCat>
inline uint32_t go_right(float threshold, uint32_t bits, float v, const uint32_t* cat_words) {
  const uint32_t missing = std::isnan(v) ? 1u : 0u;
  const uint32_t default_right = ((bits >> 30) & 1u) ^ 1u;
  if constexpr (kHasCat) {
    if ((bits & kCatBit) != 0 && !missing) [[unlikely]] {
      return categorical_right(v, cat_words + std::bit_cast<uint32_t>(threshold));
    }
  }
  return static_cast<uint32_t>(v >= threshold) | (missing & default_right);
}

}  // namespace forest
