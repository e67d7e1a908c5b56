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

  // Split scans (quickscorer.cpp): per block of trees and per feature, the split nodes as
  // (threshold, tree, bits) sorted by threshold, plus per-feature lists for missing values
  // (default direction right) and per category. A row visits exactly the nodes it goes
  // right at and combines their bits into a 64-bit word per tree; no step waits on the last.
  //  - QuickScorer (Lucchese et al., SIGIR 2015): bits = ~(the node's left-subtree leaves),
  //    ANDed into all-ones; each tree's exit leaf is then its lowest bit left.
  //  - TreeSHAP decisions: bits = the node's own bit (pre-order among the tree's split
  //    nodes), ORed into zero: the tree's "went right" word.
  struct QsEntry {
    float threshold;  // numeric: the row goes right iff value >= threshold
    uint32_t tree;    // within the block
    uint64_t bits;
  };
  struct QsRange {
    uint32_t begin = 0, end = 0;  // into SplitScan::entries
  };
  struct QsFeature {
    QsRange numeric;           // numeric nodes on the feature, by threshold ascending
    QsRange missing;           // nodes whose default direction (NaN) is right
    uint32_t cat_first = 0;    // into SplitScan::cat_ranges: categories 0..cat_count-1
    uint32_t cat_count = 0;    // 0: no categorical nodes on the feature
  };
  struct SplitScan {
    std::vector<QsEntry> entries;
    std::vector<QsFeature> features;  // per block, num_features entries
    std::vector<QsRange> cat_ranges;  // per category of a categorical feature
  };
  static constexpr uint32_t kQsBlockTrees = 1024;  // words on the stack: 8 KiB
  SplitScan qs;                         // built for the QuickScorer layout
  std::vector<uint32_t> qs_leaf_begin;  // per tree: its leaves (in order) in qs_leaves
  std::vector<float> qs_leaves;
  std::size_t num_features = 0;

  // TreeSHAP from decision words (tree_shap.cpp), for forests whose trees have <= 64
  // leaves: per leaf, its path's split nodes and the side it takes at each, so a row's
  // violations are (word ^ right) & path; pext packs them in path order into an index of
  // the leaf's contribution table (2^depth rows of k floats).
  SplitScan decisions;
  struct PathLeaf {
    uint64_t path = 0;   // bits of the split nodes on the root path
    uint64_t right = 0;  // of those, where the path goes right
    uint32_t table = 0;  // into shap_path_table
    uint32_t k = 0;      // unique features on the path (slots)
    uint32_t slots = 0;  // into shap_path_feature (k entries)
    uint32_t dense = 0;  // into shap_dense_table when the tree is dense (see below)
  };
  std::vector<PathLeaf> shap_path_leaves;
  std::vector<uint32_t> shap_path_begin;  // per tree + 1, into shap_path_leaves
  std::vector<uint8_t> shap_path_ok;      // per tree: 1 = tables built
  std::vector<float> shap_path_table;
  std::vector<uint32_t> shap_path_feature;
  // Dense rows: for trees with at most 16 distinct split features, each table row also laid
  // out over the tree's features (tree_features order, zeros elsewhere, 8 or 16 wide), so a
  // leaf is one vector add into register accumulators instead of k scattered additions
  // whose store-to-load chains (every leaf adds to the root's feature) bound the speed.
  std::vector<uint8_t> shap_dense_width;  // per tree: 0 (not dense), 8 or 16
  std::vector<float> shap_dense_table;

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
struct RawTree;
}
bool qs_supported(const detail::RawModel& raw);
void build_quickscorer(Forest::Impl& m, const detail::RawModel& raw);
// The decision scan (m.decisions) and the per-leaf path tables for TreeSHAP
// (build_shap_paths, tree_shap.cpp; builds nothing unless qs_supported).
void build_decision_scan(Forest::Impl& m, const detail::RawModel& raw);
// Per node of `tree`: a split node's bit in the tree's decision word (1 << its pre-order rank
// among the tree's splits), 0 for leaves. The one definition both the scan and the path
// tables use.
std::vector<uint64_t> split_bits(const detail::RawTree& tree);
void build_shap_paths(Forest::Impl& m, const detail::RawModel& raw);
// Combines the bits of the nodes the row goes right at, for trees [block * kQsBlockTrees,
// + n) of the scan, into words[0..n): AND (kClear, QuickScorer) or OR (decisions). The
// caller initialises words.
void scan_splits(const Forest::Impl::SplitScan& scan, std::size_t block, std::size_t features,
                 bool has_categorical, bool clear, const float* row, uint64_t* words);
float qs_margin(const Forest::Impl& m, const float* row, float acc);
void qs_block(const Forest::Impl& m, const float* rows, std::size_t n, std::size_t stride,
              float* acc);

// XGBoost 1.7's valid categories: 0 <= v < 2^24 (InvalidCat), truncated to an integer.
inline constexpr float kCategoryLimit = 16777216.0f;

// XGBoost 1.7 common::Decision inverted: 1 = go right. Valid categories (below
// kCategoryLimit) are truncated to an integer; invalid ones (and NaN) and
// categories not in the set go left. Branch-free: a mispredicted branch per categorical
// node cost more than the whole lookup. Every set has at least one word.
inline uint32_t categorical_right(float v, const uint32_t* set) {
  // Bitwise &, not &&: short-circuiting made GCC branch here (perfect layout 6.4 -> 12 us).
  const uint32_t valid =
      static_cast<uint32_t>(v >= 0.0f) & static_cast<uint32_t>(v < kCategoryLimit);
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
