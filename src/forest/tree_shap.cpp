// Exact path-dependent TreeSHAP (Lundberg et al., "Consistent individualized feature
// attribution for tree ensembles", Algorithm 2), following XGBoost 1.7's
// RegTree::CalculateContributions operation order so results agree to float rounding.

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <vector>

#include "forest/forest.h"
#include "forest/layout.h"
#include "forest/model_json.h"

namespace forest {
namespace {

using Impl = Forest::Impl;

struct PathElement {
  int feature;
  float zero_fraction;
  float one_fraction;
  float pweight;
};

// Path buffer for the deepest tree we accept: XGBoost sizes it (d+2)(d+3)/2.
constexpr int kMaxPath = (Forest::kMaxDepth + 2) * (Forest::kMaxDepth + 3) / 2;

void extend_path(PathElement* path, unsigned depth, float zero_fraction, float one_fraction,
                 int feature) {
  path[depth].feature = feature;
  path[depth].zero_fraction = zero_fraction;
  path[depth].one_fraction = one_fraction;
  path[depth].pweight = depth == 0 ? 1.0f : 0.0f;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    path[i + 1].pweight +=
        one_fraction * path[i].pweight * static_cast<float>(i + 1) / static_cast<float>(depth + 1);
    path[i].pweight = zero_fraction * path[i].pweight * static_cast<float>(depth - i) /
                      static_cast<float>(depth + 1);
  }
}

void unwind_path(PathElement* path, unsigned depth, unsigned index) {
  const float one_fraction = path[index].one_fraction;
  const float zero_fraction = path[index].zero_fraction;
  float next_one_portion = path[depth].pweight;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const float tmp = path[i].pweight;
      path[i].pweight = next_one_portion * static_cast<float>(depth + 1) /
                        (static_cast<float>(i + 1) * one_fraction);
      next_one_portion = tmp - path[i].pweight * zero_fraction * static_cast<float>(depth - i) /
                                   static_cast<float>(depth + 1);
    } else {
      path[i].pweight = (path[i].pweight * static_cast<float>(depth + 1)) /
                        (zero_fraction * static_cast<float>(depth - i));
    }
  }
  for (unsigned i = index; i < depth; ++i) {
    path[i].feature = path[i + 1].feature;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

float unwound_path_sum(const PathElement* path, unsigned depth, unsigned index) {
  const float one_fraction = path[index].one_fraction;
  const float zero_fraction = path[index].zero_fraction;
  float next_one_portion = path[depth].pweight;
  float total = 0;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const float tmp = next_one_portion * static_cast<float>(depth + 1) /
                        (static_cast<float>(i + 1) * one_fraction);
      total += tmp;
      next_one_portion = path[i].pweight - tmp * zero_fraction *
                                               (static_cast<float>(depth - i) /
                                                static_cast<float>(depth + 1));
    } else if (zero_fraction != 0) {
      total += (path[i].pweight / zero_fraction) /
               (static_cast<float>(depth - i) / static_cast<float>(depth + 1));
    }
  }
  return total;
}

template <bool kCat>
void tree_shap(const Impl& m, const float* row, float* phi, uint32_t node, unsigned depth,
               PathElement* parent_path, float parent_zero, float parent_one,
               int parent_feature) {
  PathElement* path = parent_path + depth + 1;
  std::copy(parent_path, parent_path + depth + 1, path);
  extend_path(path, depth, parent_zero, parent_one, parent_feature);

  const FlatNode n = m.flat[node];
  if (n.bits & kLeafBit) {
    for (unsigned i = 1; i <= depth; ++i) {
      const float w = unwound_path_sum(path, depth, i);
      const PathElement& el = path[i];
      phi[el.feature] += w * (el.one_fraction - el.zero_fraction) * n.value;
    }
    return;
  }
  const uint32_t feature = n.bits & kFeatureMask;
  const uint32_t hot =
      n.left + go_right<kCat>(n.value, n.bits, row[feature], m.cat_words.data());
  const uint32_t cold = hot == n.left ? n.left + 1 : n.left;
  const float w = m.cover[node];
  const float hot_zero = m.cover[hot] / w;
  const float cold_zero = m.cover[cold] / w;
  float incoming_zero = 1;
  float incoming_one = 1;
  // A feature already on the path is unwound and re-added with the combined fractions.
  unsigned index = 0;
  for (; index <= depth; ++index) {
    if (path[index].feature == static_cast<int>(feature)) break;
  }
  if (index != depth + 1) {
    incoming_zero = path[index].zero_fraction;
    incoming_one = path[index].one_fraction;
    unwind_path(path, depth, index);
    depth -= 1;
  }
  tree_shap<kCat>(m, row, phi, hot, depth + 1, path, hot_zero * incoming_zero, incoming_one,
                  static_cast<int>(feature));
  tree_shap<kCat>(m, row, phi, cold, depth + 1, path, cold_zero * incoming_zero, 0,
                  static_cast<int>(feature));
}

// ---- precomputed path tables --------------------------------------------------------
//
// For a leaf with value v whose root path has k unique features with zero fractions z_j
// (product of cover ratios along the path) and, for a row, one fractions o_j in {0,1}
// (1 iff the row follows the path at every node on feature j), TreeSHAP gives feature j
//   v * (o_j - z_j) * sum_m w(m) [t^m] prod_{i != j} (z_i + o_i t),  w(m) = m!(k-1-m)!/k!.
// With S = {i : o_i = 1}, Z0 = prod_{i not in S} z_i and Q(M) = sum_m w(m) [t^m]
// prod_{i in M} (z_i + t), that is  v Z0 (1 - z_j) Q(S \ j)  for j in S and  -v Z0 Q(S)
// for j not in S. Q is tabulated per leaf at load (2^k entries), so a row costs O(k) per
// leaf instead of the recursion's O(k^2) with divisions.

constexpr uint32_t kMaxFastUnique = 10;               // 2^10 table entries per leaf at most
constexpr std::size_t kMaxShapTable = std::size_t{1} << 24;  // floats, whole forest

struct PathSlot {
  uint32_t feature;
  float zero;
};

constexpr uint32_t kMaxPhiUnique = 6;                // 2^6 * 6 contributions per leaf
constexpr std::size_t kMaxPhiTable = std::size_t{1} << 20;   // floats (4 MiB: stays in cache)

// Q(M) for every subset M of the path's slots; with `phi`, also the contributions
// C[s][j] = v Z0(s) (1 - z_j) Q(s \ j) for j in s, -v Z0(s) Q(s) otherwise.
void tabulate_leaf(const std::vector<PathSlot>& path, float leaf_value, std::vector<float>& q,
                   std::vector<float>* phi) {
  const std::size_t k = path.size();
  std::vector<double> w(k, 0.0);  // w(m) = m!(k-1-m)!/k!
  for (std::size_t m = 0; m < k; ++m) {
    double x = 1.0 / static_cast<double>(k);
    for (std::size_t i = 1; i <= m; ++i) {
      x *= static_cast<double>(i) / static_cast<double>(k - i);
    }
    w[m] = x;  // m!(k-1-m)!/k! = (1/k) * prod_{i=1..m} i/(k-i)
  }
  std::vector<double> poly(k + 1), qd(std::size_t{1} << k);
  for (uint32_t mask = 0; mask < (1u << k); ++mask) {
    std::fill(poly.begin(), poly.end(), 0.0);
    poly[0] = 1.0;
    std::size_t deg = 0;
    for (std::size_t i = 0; i < k; ++i) {
      if (((mask >> i) & 1u) == 0) continue;
      const double z = path[i].zero;
      for (std::size_t d = deg + 1; d > 0; --d) poly[d] = poly[d] * z + poly[d - 1];
      poly[0] *= z;
      ++deg;
    }
    double sum = 0.0;
    for (std::size_t d = 0; d <= deg && d < k; ++d) sum += w[d] * poly[d];
    qd[mask] = deg < k ? sum : 0.0;  // |M| = k is never looked up
    q.push_back(static_cast<float>(qd[mask]));
  }
  if (!phi) return;
  for (uint32_t s = 0; s < (1u << k); ++s) {
    double z0 = leaf_value;
    for (std::size_t i = 0; i < k; ++i) {
      if (((s >> i) & 1u) == 0) z0 *= path[i].zero;
    }
    for (std::size_t j = 0; j < k; ++j) {
      const bool in = (s >> j) & 1u;
      const double c = in ? z0 * (1.0 - static_cast<double>(path[j].zero)) * qd[s ^ (1u << j)]
                          : -z0 * qd[s];
      phi->push_back(static_cast<float>(c));
    }
  }
}

struct TreeTables {
  std::vector<Impl::ShapLeaf> leaves;  // (node, leaf) pairs in visit order
  std::vector<uint32_t> leaf_nodes;
  std::vector<uint32_t> slot_feature;
  std::vector<float> slot_zero;
  std::vector<float> q;
  std::vector<float> phi;
  bool fast = true;
};

void visit(Impl& m, uint32_t node, std::vector<PathSlot>& path, TreeTables& out) {
  const FlatNode n = m.flat[node];
  if (n.bits & kLeafBit) {
    if (path.size() > kMaxFastUnique) {
      out.fast = false;
      return;
    }
    Impl::ShapLeaf leaf;
    leaf.k = static_cast<uint32_t>(path.size());
    leaf.slots_offset = static_cast<uint32_t>(out.slot_feature.size());
    leaf.q_offset = static_cast<uint32_t>(out.q.size());
    for (const auto& s : path) {
      out.slot_feature.push_back(s.feature);
      out.slot_zero.push_back(s.zero);
    }
    const bool with_phi = leaf.k <= kMaxPhiUnique;
    if (with_phi) leaf.phi_offset = static_cast<uint32_t>(out.phi.size());
    tabulate_leaf(path, n.value, out.q, with_phi ? &out.phi : nullptr);
    out.leaves.push_back(leaf);
    out.leaf_nodes.push_back(node);
    return;
  }
  const uint32_t feature = n.bits & kFeatureMask;
  std::size_t slot = 0;
  while (slot < path.size() && path[slot].feature != feature) ++slot;
  const bool fresh = slot == path.size();
  if (fresh) path.push_back({feature, 1.0f});
  m.shap_node_bit[node] = slot < 32 ? 1u << slot : 0u;
  const float incoming = path[slot].zero;
  for (uint32_t child : {n.left, n.left + 1}) {
    // XGBoost: zero fraction = cover(child) / cover(node) * incoming, in float.
    path[slot].zero = (m.cover[child] / m.cover[node]) * incoming;
    visit(m, child, path, out);
    if (!out.fast) break;
  }
  path[slot].zero = incoming;
  if (fresh) path.pop_back();
}

}  // namespace

void build_shap_tables(Impl& m) {
  const std::size_t trees = m.flat_roots.size();
  m.shap_fast.assign(trees, 0);
  m.shap_node_bit.assign(m.flat.size(), 0);
  m.shap_leaf.assign(m.flat.size(), Impl::ShapLeaf{});
  for (std::size_t t = 0; t < trees; ++t) {
    const uint32_t end = t + 1 < trees ? m.flat_roots[t + 1] : static_cast<uint32_t>(m.flat.size());
    m.max_tree_nodes = std::max(m.max_tree_nodes, end - m.flat_roots[t]);
    TreeTables tables;
    std::vector<PathSlot> path;
    visit(m, m.flat_roots[t], path, tables);
    if (!tables.fast || m.shap_q.size() + tables.q.size() > kMaxShapTable) continue;
    const auto slot_base = static_cast<uint32_t>(m.shap_slot_feature.size());
    const auto q_base = static_cast<uint32_t>(m.shap_q.size());
    const auto phi_base = static_cast<uint32_t>(m.shap_phi.size());
    const bool phi_fits = m.shap_phi.size() + tables.phi.size() <= kMaxPhiTable;
    for (std::size_t i = 0; i < tables.leaves.size(); ++i) {
      Impl::ShapLeaf leaf = tables.leaves[i];
      leaf.slots_offset += slot_base;
      leaf.q_offset += q_base;
      if (leaf.phi_offset != Impl::kNoPhi) leaf.phi_offset = phi_fits ? leaf.phi_offset + phi_base : Impl::kNoPhi;
      m.shap_leaf[tables.leaf_nodes[i]] = leaf;
    }
    if (phi_fits) m.shap_phi.insert(m.shap_phi.end(), tables.phi.begin(), tables.phi.end());
    m.shap_slot_feature.insert(m.shap_slot_feature.end(), tables.slot_feature.begin(),
                               tables.slot_feature.end());
    m.shap_slot_zero.insert(m.shap_slot_zero.end(), tables.slot_zero.begin(),
                            tables.slot_zero.end());
    m.shap_q.insert(m.shap_q.end(), tables.q.begin(), tables.q.end());
    m.shap_fast[t] = 1;
  }
}

namespace {

constexpr std::size_t kMaxPathDepth = 6;            // 2^6 table rows per leaf at most
constexpr std::size_t kMaxPathTable = std::size_t{1} << 21;  // floats (8 MiB) per forest

struct PathStep {
  uint64_t bit;  // the split node's bit in its tree's decision word
  bool right;    // the side the path takes
  uint32_t slot;
};

// Collects one tree's leaves with their path tables; false if a path is too deep.
bool collect_paths(const detail::RawTree& t, int node, const std::vector<uint64_t>& bit,
                   std::vector<PathStep>& steps, std::vector<PathSlot>& slots, Impl& m,
                   std::vector<Impl::PathLeaf>& leaves, std::vector<float>& table,
                   std::vector<uint32_t>& features) {
  if (t.left[node] < 0) {
    const std::size_t depth = steps.size();
    if (depth > kMaxPathDepth) return false;
    Impl::PathLeaf leaf;
    const auto k = static_cast<uint32_t>(slots.size());
    leaf.k = k;
    leaf.slots = static_cast<uint32_t>(features.size());
    leaf.table = static_cast<uint32_t>(table.size());
    for (const auto& s : slots) features.push_back(s.feature);
    for (const auto& st : steps) {
      leaf.path |= st.bit;
      if (st.right) leaf.right |= st.bit;
    }
    if (k > 0) {
      std::vector<float> q, phi;  // phi: 2^k rows (by followed-slot set) of k
      tabulate_leaf(slots, t.value[node], q, &phi);
      const uint32_t full = (1u << k) - 1;
      for (uint32_t u = 0; u < (1u << depth); ++u) {  // bit d: the row leaves the path at depth d
        uint32_t cold = 0;
        for (std::size_t d = 0; d < depth; ++d) {
          if ((u >> d) & 1u) cold |= 1u << steps[d].slot;
        }
        const uint32_t s = full & ~cold;
        table.insert(table.end(), phi.begin() + s * k, phi.begin() + (s + 1) * k);
      }
    }
    leaves.push_back(leaf);
    return true;
  }
  const uint32_t feature = t.feature[node];
  std::size_t slot = 0;
  while (slot < slots.size() && slots[slot].feature != feature) ++slot;
  const bool fresh = slot == slots.size();
  if (fresh) slots.push_back({feature, 1.0f});
  const float incoming = slots[slot].zero;
  bool ok = true;
  for (int32_t child : {t.left[node], t.right[node]}) {
    // XGBoost: zero fraction = cover(child) / cover(node) * incoming, in float.
    slots[slot].zero = (t.cover[child] / t.cover[node]) * incoming;
    steps.push_back({bit[node], child == t.right[node], static_cast<uint32_t>(slot)});
    ok = collect_paths(t, child, bit, steps, slots, m, leaves, table, features);
    steps.pop_back();
    if (!ok) break;
  }
  slots[slot].zero = incoming;
  if (fresh) slots.pop_back();
  return ok;
}

}  // namespace

void build_shap_paths(Impl& m, const detail::RawModel& raw) {
  if (!qs_supported(raw)) return;
  build_decision_scan(m, raw);
  m.shap_path_ok.assign(raw.trees.size(), 0);
  m.shap_dense_width.assign(raw.trees.size(), 0);
  m.shap_path_begin.assign(1, 0);
  for (std::size_t ti = 0; ti < raw.trees.size(); ++ti) {
    const auto& t = raw.trees[ti];
    const std::vector<uint64_t> bit = split_bits(t);
    std::vector<PathStep> steps;
    std::vector<PathSlot> slots;
    std::vector<Impl::PathLeaf> leaves;
    std::vector<float> table;
    std::vector<uint32_t> features;
    const bool ok = collect_paths(t, 0, bit, steps, slots, m, leaves, table, features) &&
                    m.shap_path_table.size() + table.size() <= kMaxPathTable;
    if (ok) {
      const auto table_base = static_cast<uint32_t>(m.shap_path_table.size());
      const auto feature_base = static_cast<uint32_t>(m.shap_path_feature.size());
      // Dense rows over the tree's own features (tree_features[ti] order).
      const uint32_t* tf = m.tree_features.data() + m.tree_features_begin[ti];
      const uint32_t n_tf = m.tree_features_begin[ti + 1] - m.tree_features_begin[ti];
      const uint32_t width = n_tf <= 8 ? 8 : n_tf <= 16 ? 16 : 0;
      std::vector<float> dense;
      if (width != 0) {
        for (std::size_t li = 0; li < leaves.size(); ++li) {
          const auto& leaf = leaves[li];
          const std::size_t end = li + 1 < leaves.size() ? leaves[li + 1].table : table.size();
          const std::size_t n_rows = leaf.k == 0 ? 1 : (end - leaf.table) / leaf.k;
          leaves[li].dense = static_cast<uint32_t>(dense.size());
          for (std::size_t u = 0; u < n_rows; ++u) {
            const std::size_t at = dense.size();
            dense.resize(at + width, 0.0f);
            for (uint32_t j = 0; j < leaf.k; ++j) {
              const uint32_t f = features[leaf.slots + j];
              const auto local = static_cast<std::size_t>(std::lower_bound(tf, tf + n_tf, f) - tf);
              dense[at + local] = table[leaf.table + u * leaf.k + j];
            }
          }
        }
      }
      const bool dense_fits = width != 0 && m.shap_dense_table.size() + dense.size() <= kMaxPathTable;
      const auto dense_base = static_cast<uint32_t>(m.shap_dense_table.size());
      for (auto& leaf : leaves) {
        leaf.table += table_base;
        leaf.slots += feature_base;
        leaf.dense += dense_base;
        m.shap_path_leaves.push_back(leaf);
      }
      if (dense_fits) {
        m.shap_dense_table.insert(m.shap_dense_table.end(), dense.begin(), dense.end());
        m.shap_dense_width[ti] = static_cast<uint8_t>(width);
      }
      m.shap_path_table.insert(m.shap_path_table.end(), table.begin(), table.end());
      m.shap_path_feature.insert(m.shap_path_feature.end(), features.begin(), features.end());
      m.shap_path_ok[ti] = 1;
    }
    m.shap_path_begin.push_back(static_cast<uint32_t>(m.shap_path_leaves.size()));
  }
}

namespace {

// pext: the bits of v selected by mask, packed low (BMI2 when the build targets it).
inline uint64_t extract_bits(uint64_t v, uint64_t mask) {
#if defined(__BMI2__)
  return _pext_u64(v, mask);
#else
  uint64_t out = 0;
  for (uint64_t bit = 1; mask != 0; bit <<= 1, mask &= mask - 1) {
    if (v & mask & (0 - mask)) out |= bit;
  }
  return out;
#endif
}

// One tree from its decision word: each leaf adds its table row for the row's violations.
inline void tree_shap_paths(const Impl& m, std::size_t tree, uint64_t word, float* phi) {
  const Impl::PathLeaf* leaf = m.shap_path_leaves.data() + m.shap_path_begin[tree];
  const Impl::PathLeaf* end = m.shap_path_leaves.data() + m.shap_path_begin[tree + 1];
  for (; leaf != end; ++leaf) {
    const uint32_t k = leaf->k;
    const uint64_t u = extract_bits((word ^ leaf->right) & leaf->path, leaf->path);
    const float* c = m.shap_path_table.data() + leaf->table + u * k;
    const uint32_t* feature = m.shap_path_feature.data() + leaf->slots;
    for (uint32_t j = 0; j < k; ++j) phi[feature[j]] += c[j];
  }
}

// One dense tree from its decision word: per-tree sums over its own features, added to
// `out` at the end (the same per-tree-then-total rounding as the sparse path).
// Eight floats in one vector register (GCC/Clang vector extension: AVX with x86-64-v3).
typedef float Float8 __attribute__((vector_size(32)));

inline Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}

template <std::size_t W>
inline void tree_shap_dense(const Impl& m, std::size_t tree, uint64_t word, float* out) {
  static_assert(W == 8 || W == 16);
  const Impl::PathLeaf* leaf = m.shap_path_leaves.data() + m.shap_path_begin[tree];
  const Impl::PathLeaf* end = m.shap_path_leaves.data() + m.shap_path_begin[tree + 1];
  const float* table = m.shap_dense_table.data();
  Float8 lo = {}, hi = {};
  for (; leaf != end; ++leaf) {
    const uint64_t u = extract_bits((word ^ leaf->right) & leaf->path, leaf->path);
    const float* row = table + leaf->dense + u * W;
    lo += load8(row);
    if constexpr (W == 16) hi += load8(row + 8);
  }
  float acc[16];
  std::memcpy(acc, &lo, sizeof lo);
  std::memcpy(acc + 8, &hi, sizeof hi);
  const uint32_t* f = m.tree_features.data() + m.tree_features_begin[tree];
  const uint32_t n = m.tree_features_begin[tree + 1] - m.tree_features_begin[tree];
  for (uint32_t i = 0; i < n; ++i) out[f[i]] += acc[i];
}

// One tree with the tables: nodes in breadth-first order carry the row's "went cold" mask
// (one bit per path slot) down to the leaves.
template <bool kCat>
void tree_shap_fast(const Impl& m, const float* row, float* phi, std::size_t tree,
                    uint32_t* cold) {
  const uint32_t root = m.flat_roots[tree];
  const uint32_t end = tree + 1 < m.flat_roots.size() ? m.flat_roots[tree + 1]
                                                      : static_cast<uint32_t>(m.flat.size());
  cold[0] = 0;
  for (uint32_t i = root; i < end; ++i) {
    const FlatNode n = m.flat[i];
    const uint32_t mask = cold[i - root];
    if ((n.bits & kLeafBit) == 0) {
      const uint32_t right =
          go_right<kCat>(n.value, n.bits, row[n.bits & kFeatureMask], m.cat_words.data());
      const uint32_t bit = m.shap_node_bit[i];
      const uint32_t sel = 0u - right;  // all ones when the row goes right
      cold[n.left - root] = mask | (bit & sel);
      cold[n.left + 1 - root] = mask | (bit & ~sel);
      continue;
    }
    const Impl::ShapLeaf& leaf = m.shap_leaf[i];
    const uint32_t k = leaf.k;
    if (k == 0) continue;
    const uint32_t s = ((1u << k) - 1) & ~mask;
    const uint32_t* feature = &m.shap_slot_feature[leaf.slots_offset];
    if (leaf.phi_offset != Impl::kNoPhi) {
      const float* c = &m.shap_phi[leaf.phi_offset + s * k];
      for (uint32_t j = 0; j < k; ++j) phi[feature[j]] += c[j];
      continue;
    }
    const float* zero = &m.shap_slot_zero[leaf.slots_offset];
    const float* q = &m.shap_q[leaf.q_offset];
    float z0 = 1.0f;
    for (uint32_t j = 0; j < k; ++j) {
      if (((s >> j) & 1u) == 0) z0 *= zero[j];
    }
    const float base = n.value * z0;
    const float off_path = -base * q[s];
    for (uint32_t j = 0; j < k; ++j) {
      phi[feature[j]] +=
          ((s >> j) & 1u) ? base * (1.0f - zero[j]) * q[s ^ (1u << j)] : off_path;
    }
  }
}

}  // namespace

void Forest::contributions(std::span<const float> row, std::span<float> out) const {
  assert(row.size() >= num_features_);
  // Scratch per thread, allocated on a thread's first call only.
  thread_local std::vector<float> tree_phi;
  thread_local std::vector<uint32_t> cold;
  if (tree_phi.size() < num_features_ + 1) tree_phi.assign(num_features_ + 1, 0.0f);
  if (cold.size() < impl_->max_tree_nodes) cold.resize(impl_->max_tree_nodes);
  contributions_into(row.data(), out, tree_phi.data(), cold.data());
}

namespace {

// Adds tree t's contributions for `row` to `total`, by the tree's method: dense or sparse
// path tables from the tree's decision `word` (when the forest has them), else the per-node
// tables, else the recursion. Per tree then into the total, as XGBoost rounds; `tree_phi`
// is all zeros before and after. Forced inline: called once per tree per row, and the call
// measured ~10 % of the default model's reasons.
[[gnu::always_inline]] inline void add_tree_contributions(const Impl& m, std::size_t t,
                                                          const float* row, uint64_t word,
                                                          bool by_paths, float* total,
                                                          float* tree_phi, uint32_t* cold,
                                                          PathElement* path) {
  if (by_paths && m.shap_dense_width[t] != 0) {
    if (m.shap_dense_width[t] == 8) {
      tree_shap_dense<8>(m, t, word, total);
    } else {
      tree_shap_dense<16>(m, t, word, total);
    }
    return;
  }
  if (by_paths && m.shap_path_ok[t]) {
    tree_shap_paths(m, t, word, tree_phi);
  } else if (m.shap_fast[t]) {
    if (m.has_categorical) {
      tree_shap_fast<true>(m, row, tree_phi, t, cold);
    } else {
      tree_shap_fast<false>(m, row, tree_phi, t, cold);
    }
  } else if (m.has_categorical) {
    tree_shap<true>(m, row, tree_phi, m.flat_roots[t], 0, path, 1, 1, -1);
  } else {
    tree_shap<false>(m, row, tree_phi, m.flat_roots[t], 0, path, 1, 1, -1);
  }
  // Only the tree's own features can be non-zero.
  for (uint32_t i = m.tree_features_begin[t]; i < m.tree_features_begin[t + 1]; ++i) {
    const uint32_t f = m.tree_features[i];
    total[f] += tree_phi[f];
    tree_phi[f] = 0.0f;
  }
}

}  // namespace

void Forest::contributions_into(const float* row_data, std::span<float> out, float* tree_phi,
                                uint32_t* cold) const {
  assert(out.size() == num_features_ + 1);
  const std::span<const float> row(row_data, num_features_);
  const Impl& m = *impl_;
  std::fill(out.begin(), out.end(), 0.0f);
  // Like XGBoost, each tree's contributions are summed apart and then added to the total:
  // the rounding then matches (direct accumulation drifts ~1e-5 over hundreds of trees).
  // tree_phi is all zeros between trees.
  PathElement path[kMaxPath];
  uint64_t words[Impl::kQsBlockTrees];  // decision words of the current block of trees
  const bool by_paths = !m.shap_path_ok.empty();
  float bias = 0.0f;
  for (std::size_t t = 0; t < m.flat_roots.size(); ++t) {
    const uint32_t root = m.flat_roots[t];
    bias += m.mean_value[root];
    const std::size_t in_block = t % Impl::kQsBlockTrees;
    if (by_paths && in_block == 0) {
      const std::size_t n = std::min<std::size_t>(Impl::kQsBlockTrees, m.flat_roots.size() - t);
      std::fill(words, words + n, uint64_t{0});
      scan_splits(m.decisions, t / Impl::kQsBlockTrees, num_features_, m.has_categorical,
                  false, row.data(), words);
    }
    add_tree_contributions(m, t, row.data(), by_paths ? words[in_block] : 0, by_paths,
                           out.data(), tree_phi, cold, path);
  }
  out[num_features_] = bias + base_margin_;
}

namespace {

// The k largest |phi[f]| (f < n, zero and NaN left out), sorted by |value| descending, ties
// by feature index, into top[0..count). Insertion into a sorted prefix: k is 3-10.
std::size_t select_top(const float* phi, std::size_t n, std::size_t k, Contribution* top) {
  auto before = [](const Contribution& a, const Contribution& b) {
    const float fa = std::fabs(a.value), fb = std::fabs(b.value);
    return fa != fb ? fa > fb : a.feature < b.feature;
  };
  std::size_t count = 0;
  for (std::size_t f = 0; f < n; ++f) {
    const Contribution c{static_cast<uint32_t>(f), phi[f]};
    if (c.value == 0.0f || !(std::fabs(c.value) >= 0.0f)) continue;  // zero or NaN
    if (count == k && !before(c, top[k - 1])) continue;
    std::size_t pos = count < k ? count++ : k - 1;
    while (pos > 0 && before(c, top[pos - 1])) {
      top[pos] = top[pos - 1];
      --pos;
    }
    top[pos] = c;
  }
  return count;
}

}  // namespace

std::span<const Contribution> Forest::top_contributions(std::span<const float> row,
                                                        std::size_t k,
                                                        ShapBuffer& buffer) const {
  assert(buffer.phi_.size() == num_features_ + 1);
  assert(row.size() >= num_features_);
  contributions_into(row.data(), buffer.phi_, buffer.tree_phi_.data(), buffer.cold_.data());
  k = std::min(k, num_features_);
  if (k == 0) return {};
  return {buffer.top_.data(), select_top(buffer.phi_.data(), num_features_, k, buffer.top_.data())};
}

void Forest::top_contributions_batch(std::span<const float* const> rows, std::size_t k,
                                     Contribution* out, std::size_t* counts) const {
  const Impl& m = *impl_;
  const std::size_t F = num_features_, stride = F + 1, trees = m.flat_roots.size();
  k = std::min(k, F);
  constexpr std::size_t kRows = 16;  // rows per block: their trees' words and phi stay in L1/L2
  const std::size_t block_trees = std::min<std::size_t>(trees, Impl::kQsBlockTrees);
  thread_local std::vector<float> phi, tree_phi;
  thread_local std::vector<uint64_t> words;
  thread_local std::vector<uint32_t> cold;
  if (phi.size() < kRows * stride) phi.resize(kRows * stride);
  if (tree_phi.size() < kRows * stride) tree_phi.assign(kRows * stride, 0.0f);
  if (words.size() < kRows * block_trees) words.resize(kRows * block_trees);
  if (cold.size() < m.max_tree_nodes) cold.resize(m.max_tree_nodes);
  const bool by_paths = !m.shap_path_ok.empty();
  PathElement path[kMaxPath];
  for (std::size_t b = 0; b < rows.size(); b += kRows) {
    const std::size_t n = std::min(kRows, rows.size() - b);
    std::fill(phi.begin(), phi.begin() + n * stride, 0.0f);
    for (std::size_t t = 0; t < trees; ++t) {
      const std::size_t in_block = t % Impl::kQsBlockTrees;
      if (by_paths && in_block == 0) {
        const std::size_t nt = std::min<std::size_t>(Impl::kQsBlockTrees, trees - t);
        for (std::size_t r = 0; r < n; ++r) {
          uint64_t* w = words.data() + r * block_trees;
          std::fill(w, w + nt, uint64_t{0});
          scan_splits(m.decisions, t / Impl::kQsBlockTrees, F, m.has_categorical, false,
                      rows[b + r], w);
        }
      }
      for (std::size_t r = 0; r < n; ++r) {
        const uint64_t word = by_paths ? words[r * block_trees + in_block] : 0;
        add_tree_contributions(m, t, rows[b + r], word, by_paths, phi.data() + r * stride,
                               tree_phi.data() + r * stride, cold.data(), path);
      }
    }
    for (std::size_t r = 0; r < n; ++r) {
      counts[b + r] = k == 0 ? 0 : select_top(phi.data() + r * stride, F, k, out + (b + r) * k);
    }
  }
}

}  // namespace forest
