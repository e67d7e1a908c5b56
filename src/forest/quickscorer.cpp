// QuickScorer layout (Lucchese et al., "QuickScorer: a fast algorithm to rank documents
// with additive ensembles of regression trees", SIGIR 2015), extended with XGBoost's
// missing-value default directions and categorical splits.
//
// Leaves of each tree are numbered in order (left to right); a tree's state is a 64-bit
// vector with one bit per leaf, all set at the start. For every split node the row goes
// RIGHT at, the leaves of the node's left subtree are cleared. The exit leaf is the lowest
// bit left: every node on its path that the row goes right at has it in the right subtree,
// and every leaf to its left lies in the left subtree of such a node (their paths part
// where the exit path goes right). Right-going numeric nodes are found per feature by a
// scan over thresholds sorted ascending that stops at the first threshold above the value,
// so the cost is the right-going nodes, not trees x depth, and no step waits on the last.

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <utility>

#include "forest/layout.h"
#include "forest/model_json.h"

namespace forest {
namespace {

using Impl = Forest::Impl;

// A category table of this many entries per categorical feature at most (per block).
constexpr uint32_t kMaxQsCategories = 1u << 16;

int count_leaves(const detail::RawTree& t) {
  int n = 0;
  for (int32_t l : t.left) n += l < 0;
  return n;
}

// In-order leaf numbering: fills first/last leaf of each node's subtree and the leaf values
// in order.
void number_leaves(const detail::RawTree& t, int node, uint32_t& next,
                   std::vector<uint32_t>& first, std::vector<uint32_t>& last,
                   std::vector<float>& leaves) {
  first[node] = next;
  if (t.left[node] < 0) {
    leaves.push_back(t.value[node]);
    ++next;
  } else {
    number_leaves(t, t.left[node], next, first, last, leaves);
    number_leaves(t, t.right[node], next, first, last, leaves);
  }
  last[node] = next;  // one past
}

void rank_splits(const detail::RawTree& t, int node, uint32_t& rank, std::vector<uint64_t>& bits) {
  if (t.left[node] < 0) return;
  bits[node] = uint64_t{1} << rank++;
  rank_splits(t, t.left[node], rank, bits);
  rank_splits(t, t.right[node], rank, bits);
}

uint64_t clear_bits(uint32_t begin, uint32_t end) {
  const uint32_t n = end - begin;  // 1..63: a left subtree never holds all 64 leaves
  return ~(((uint64_t{1} << n) - 1) << begin);
}

// The row's categorical value as XGBoost 1.7 reads it: an integer category if valid,
// otherwise invalid (goes left everywhere). v is not NaN.
inline bool valid_category(float v, uint32_t& c) {
  if (!(v >= 0.0f) || !(v < kCategoryLimit)) return false;
  c = static_cast<uint32_t>(v);
  return true;
}

template <bool kClear>
inline void apply(const Impl::QsEntry* e, const Impl::QsEntry* end, uint64_t* words) {
  for (; e != end; ++e) {
    if constexpr (kClear) {
      words[e->tree] &= e->bits;
    } else {
      words[e->tree] |= e->bits;
    }
  }
}

template <bool kCat, bool kClear>
void scan_impl(const Impl::SplitScan& scan, std::size_t block, std::size_t features,
               const float* row, uint64_t* words) {
  const Impl::QsEntry* entries = scan.entries.data();
  const Impl::QsFeature* feature = scan.features.data() + block * features;
  for (std::size_t f = 0; f < features; ++f, ++feature) {
    const float v = row[f];
    if (v != v) {
      apply<kClear>(entries + feature->missing.begin, entries + feature->missing.end, words);
      continue;
    }
    const Impl::QsEntry* e = entries + feature->numeric.begin;
    const Impl::QsEntry* end = entries + feature->numeric.end;
    for (; e != end && e->threshold <= v; ++e) {
      if constexpr (kClear) {
        words[e->tree] &= e->bits;
      } else {
        words[e->tree] |= e->bits;
      }
    }
    if constexpr (kCat) {
      uint32_t c = 0;
      if (feature->cat_count != 0 && valid_category(v, c) && c < feature->cat_count) {
        const Impl::QsRange r = scan.cat_ranges[feature->cat_first + c];
        apply<kClear>(entries + r.begin, entries + r.end, words);
      }
    }
  }
}

template <bool kCat>
float qs_margin_impl(const Impl& m, const float* row, float acc) {
  uint64_t bits[Impl::kQsBlockTrees];
  const std::size_t trees = m.qs_leaf_begin.size() - 1;
  for (std::size_t block = 0; block * Impl::kQsBlockTrees < trees; ++block) {
    const std::size_t first = block * Impl::kQsBlockTrees;
    const std::size_t n = std::min<std::size_t>(Impl::kQsBlockTrees, trees - first);
    std::fill(bits, bits + n, ~uint64_t{0});
    scan_impl<kCat, true>(m.qs, block, m.num_features, row, bits);
    // Tree order, one float addition per tree: XGBoost's accumulation exactly.
    const uint32_t* leaf_begin = m.qs_leaf_begin.data() + first;
    const float* leaves = m.qs_leaves.data();
    for (std::size_t t = 0; t < n; ++t) acc += leaves[leaf_begin[t] + std::countr_zero(bits[t])];
  }
  return acc;
}

// Fills `scan` for the forest's trees; bits_of(tree, node, lo, hi) gives a split node's bits
// from the in-order leaf ranges of the tree's nodes.
template <typename BitsOf>
void build_scan(const detail::RawModel& raw, Impl::SplitScan& scan, BitsOf bits_of) {
  const std::size_t F = raw.num_features;
  for (std::size_t first = 0; first < raw.trees.size(); first += Impl::kQsBlockTrees) {
    const std::size_t last = std::min(raw.trees.size(), first + Impl::kQsBlockTrees);
    // Gather the block's nodes per feature, then lay them out feature by feature.
    std::vector<std::vector<Impl::QsEntry>> numeric(F), missing(F);
    std::vector<std::vector<std::vector<Impl::QsEntry>>> cats(F);
    for (std::size_t ti = first; ti < last; ++ti) {
      const auto& t = raw.trees[ti];
      const auto tree = static_cast<uint32_t>(ti - first);
      std::vector<uint32_t> lo(t.left.size()), hi(t.left.size());
      uint32_t next = 0;
      std::vector<float> ignored;
      number_leaves(t, 0, next, lo, hi, ignored);
      for (std::size_t i = 0; i < t.left.size(); ++i) {
        if (t.left[i] < 0) continue;
        // Nodes unreachable from the root keep lo == hi == 0 and are skipped.
        if (hi[i] == 0) continue;
        const Impl::QsEntry e{0.0f, tree, bits_of(t, static_cast<int>(i), lo, hi)};
        const uint32_t f = t.feature[i];
        if (!t.default_left[i]) missing[f].push_back(e);
        if (t.is_cat[i]) {
          for (uint32_t j = t.cat_begin[i]; j < t.cat_end[i]; ++j) {
            const uint32_t c = t.categories[j];
            if (cats[f].size() <= c) cats[f].resize(c + 1);
            cats[f][c].push_back(e);
          }
        } else {
          Impl::QsEntry ne = e;
          // XGBoost sends a non-missing value right when !(v < NaN), i.e. always.
          ne.threshold = std::isnan(t.value[i]) ? -std::numeric_limits<float>::infinity()
                                                : t.value[i];
          numeric[f].push_back(ne);
        }
      }
    }
    auto add = [&scan](const std::vector<Impl::QsEntry>& v) {
      Impl::QsRange r;
      r.begin = static_cast<uint32_t>(scan.entries.size());
      scan.entries.insert(scan.entries.end(), v.begin(), v.end());
      r.end = static_cast<uint32_t>(scan.entries.size());
      return r;
    };
    for (std::size_t f = 0; f < F; ++f) {
      // Stable: equal thresholds keep tree order (any order gives the same bits).
      std::stable_sort(numeric[f].begin(), numeric[f].end(),
                       [](const auto& a, const auto& b) { return a.threshold < b.threshold; });
      Impl::QsFeature qf;
      qf.numeric = add(numeric[f]);
      qf.missing = add(missing[f]);
      qf.cat_first = static_cast<uint32_t>(scan.cat_ranges.size());
      qf.cat_count = static_cast<uint32_t>(cats[f].size());
      for (const auto& list : cats[f]) scan.cat_ranges.push_back(add(list));
      scan.features.push_back(qf);
    }
  }
}

}  // namespace

bool qs_supported(const detail::RawModel& raw) {
  for (const auto& t : raw.trees) {
    if (count_leaves(t) > 64) return false;
    for (std::size_t i = 0; i < t.left.size(); ++i) {
      if (t.left[i] < 0 || !t.is_cat[i]) continue;
      for (uint32_t j = t.cat_begin[i]; j < t.cat_end[i]; ++j) {
        if (t.categories[j] >= kMaxQsCategories) return false;
      }
    }
  }
  return true;
}

void build_quickscorer(Impl& m, const detail::RawModel& raw) {
  m.num_features = raw.num_features;
  m.qs_leaf_begin.clear();
  m.qs_leaves.clear();
  for (const auto& t : raw.trees) {
    std::vector<uint32_t> lo(t.left.size()), hi(t.left.size());
    uint32_t next = 0;
    m.qs_leaf_begin.push_back(static_cast<uint32_t>(m.qs_leaves.size()));
    number_leaves(t, 0, next, lo, hi, m.qs_leaves);
  }
  m.qs_leaf_begin.push_back(static_cast<uint32_t>(m.qs_leaves.size()));
  build_scan(raw, m.qs,
             [](const detail::RawTree& t, int node, const std::vector<uint32_t>& lo,
                const std::vector<uint32_t>& hi) {
               const int32_t l = t.left[node];
               return clear_bits(lo[l], hi[l]);
             });
}

std::vector<uint64_t> split_bits(const detail::RawTree& t) {
  std::vector<uint64_t> bits(t.left.size(), 0);
  uint32_t rank = 0;
  rank_splits(t, 0, rank, bits);
  return bits;
}

void build_decision_scan(Impl& m, const detail::RawModel& raw) {
  m.num_features = raw.num_features;
  // The node's bit, computed once per tree (build_scan visits each tree's nodes together).
  const detail::RawTree* current = nullptr;
  std::vector<uint64_t> bits;
  build_scan(raw, m.decisions,
             [&](const detail::RawTree& t, int node, const std::vector<uint32_t>&,
                 const std::vector<uint32_t>&) {
               if (&t != current) {
                 current = &t;
                 bits = split_bits(t);
               }
               return bits[node];
             });
}

void scan_splits(const Impl::SplitScan& scan, std::size_t block, std::size_t features,
                 bool has_categorical, bool clear, const float* row, uint64_t* words) {
  if (has_categorical) {
    clear ? scan_impl<true, true>(scan, block, features, row, words)
          : scan_impl<true, false>(scan, block, features, row, words);
  } else {
    clear ? scan_impl<false, true>(scan, block, features, row, words)
          : scan_impl<false, false>(scan, block, features, row, words);
  }
}

float qs_margin(const Impl& m, const float* row, float acc) {
  return m.has_categorical ? qs_margin_impl<true>(m, row, acc)
                           : qs_margin_impl<false>(m, row, acc);
}

void qs_block(const Impl& m, const float* rows, std::size_t n, std::size_t stride, float* acc) {
  for (std::size_t r = 0; r < n; ++r) acc[r] = qs_margin(m, rows + r * stride, acc[r]);
}

}  // namespace forest
