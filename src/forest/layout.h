#pragma once
// Private: the in-memory node layouts of a Forest and the one split decision they share.

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__SSE__)
#include <immintrin.h>
#endif

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

  // Precomputed TreeSHAP (see tree_shap.cpp): per flat node, the bit of its feature's slot
  // on the root path; per leaf, its unique path features, their zero fractions and the
  // table Q[mask] over subsets of them. Trees whose paths are too long use the recursion.
  // Leaves with few path features also get the contributions themselves, C[s][j] for
  // every subset s of followed slots (2^k * k entries): a row then costs k additions.
  static constexpr uint32_t kNoPhi = ~0u;
  struct ShapLeaf {
    uint32_t slots_offset = 0;  // into shap_slot_feature / shap_slot_zero
    uint32_t q_offset = 0;      // into shap_q, 2^k entries
    uint32_t k = 0;             // unique features on the path
    uint32_t phi_offset = kNoPhi;  // into shap_phi, 2^k * k entries, or kNoPhi
  };
  std::vector<uint8_t> shap_fast;        // per tree
  std::vector<uint32_t> shap_node_bit;   // per flat node (internal): 1 << slot
  std::vector<ShapLeaf> shap_leaf;       // per flat node (meaningful for leaves)
  std::vector<uint32_t> shap_slot_feature;
  std::vector<float> shap_slot_zero;
  std::vector<float> shap_q;
  std::vector<float> shap_phi;
  uint32_t max_tree_nodes = 0;

  int perfect_depth = -1;  // -1: perfect layout not built
  std::vector<PerfectNode> perfect_nodes;  // per tree 2^D - 1
  std::vector<float> perfect_leaves;       // per tree 2^D

  // Categorical sets: at offset o, cat_words[o] = word count W, then W bitset words
  // (bit c % 32 of word c / 32 set = category c goes right).
  std::vector<uint32_t> cat_words;
  bool has_categorical = false;

  // QuickScorer layout (quickscorer.cpp; Lucchese et al., SIGIR 2015): per block of trees
  // and per feature, the split nodes as (threshold, tree, mask) sorted by threshold. A row
  // clears, in its trees' leaf bitvectors, the left-subtree leaves of every node it goes
  // right at; each tree's exit leaf is then the lowest bit left. Only right-going nodes are
  // touched, with no per-level dependency chain.
  struct QsEntry {
    float threshold;  // numeric: the row goes right iff value >= threshold
    uint32_t tree;    // within the block
    uint64_t mask;    // zeros over the node's left subtree leaves (in-order numbering)
  };
  struct QsRange {
    uint32_t begin = 0, end = 0;  // into qs_entries
  };
  struct QsFeature {
    QsRange numeric;           // numeric nodes on the feature, by threshold ascending
    QsRange missing;           // nodes whose default direction (NaN) is right
    uint32_t cat_first = 0;    // into qs_cat_ranges: categories 0..cat_count-1
    uint32_t cat_count = 0;    // 0: no categorical nodes on the feature
  };
  static constexpr uint32_t kQsBlockTrees = 1024;  // leaf bitvectors on the stack: 8 KiB
  std::vector<QsEntry> qs_entries;
  std::vector<QsFeature> qs_features;   // per block, num_features entries
  std::vector<QsRange> qs_cat_ranges;   // per category of a categorical feature
  std::vector<uint32_t> qs_leaf_begin;  // per tree: its leaves (in order) in qs_leaves
  std::vector<float> qs_leaves;
  std::size_t num_features = 0;

  // Chosen at load for the layout, depth and categorical-ness.
  float (*margin_fn)(const Impl&, const float* row, float acc) = nullptr;
  void (*block_fn)(const Impl&, const float* rows, std::size_t n, std::size_t stride,
                   float* acc) = nullptr;
};

// Fills the shap_* tables of a forest whose flat layout is built (tree_shap.cpp).
void build_shap_tables(Forest::Impl& m);

// QuickScorer (quickscorer.cpp). qs_supported: every tree has at most 64 leaves and every
// categorical set is small enough to index by category.
namespace detail {
struct RawModel;
}
bool qs_supported(const detail::RawModel& raw);
void build_quickscorer(Forest::Impl& m, const detail::RawModel& raw);
float qs_margin(const Forest::Impl& m, const float* row, float acc);
void qs_block(const Forest::Impl& m, const float* rows, std::size_t n, std::size_t stride,
              float* acc);

// XGBoost 1.7 common::Decision inverted: 1 = go right. Valid categories are
// 0 <= v < 2^24 (InvalidCat), truncated to an integer; invalid ones (and NaN) and
// categories not in the set go left. Branch-free: a mispredicted branch per categorical
// node cost more than the whole lookup. Every set has at least one word.
inline uint32_t categorical_right(float v, const uint32_t* set) {
  const uint32_t valid =
      static_cast<uint32_t>(v >= 0.0f) & static_cast<uint32_t>(v < 16777216.0f);
  // cvttss2si is defined for every input (NaN/out of range -> INT_MIN, caught by `valid`);
  // a plain cast would be UB there, and a select made GCC emit a branch.
#if defined(__SSE__)
  const auto c = static_cast<uint32_t>(_mm_cvttss_si32(_mm_set_ss(v)));
#else
  const uint32_t c = valid ? static_cast<uint32_t>(v) : 0u;
#endif
  const uint32_t word = c >> 5;
  const uint32_t in_range = valid & static_cast<uint32_t>(word < set[0]);
  const uint32_t w = set[1 + (word & (0u - in_range))];
  return in_range & (w >> (c & 31u));
}

// 1 = go right. Numeric: XGBoost takes the left child iff `fvalue < split_cond` (float32);
// missing (NaN) takes the default child. For non-NaN v, (v >= t) == !(v < t), and NaN
// gives 0 both for the numeric and the categorical test, so `| (missing & default_right)`
// applies the default direction to both. Categorical nodes keep their set's offset in the
// threshold slot; numeric nodes use offset 0, an empty set, so both tests always run.
template <bool kHasCat>
inline uint32_t go_right(float threshold, uint32_t bits, float v, const uint32_t* cat_words) {
  const uint32_t missing = static_cast<uint32_t>(v != v);
  const uint32_t default_right = ((bits >> 30) & 1u) ^ 1u;
  uint32_t split = static_cast<uint32_t>(v >= threshold);
  if constexpr (kHasCat) {
    const uint32_t cat_mask = 0u - ((bits >> 29) & 1u);
    const uint32_t offset = std::bit_cast<uint32_t>(threshold) & cat_mask;
    const uint32_t cat = categorical_right(v, cat_words + offset);
    split = (split & ~cat_mask) | (cat & cat_mask);
  }
  return (split & 1u) | (missing & default_right);
}

}  // namespace forest
