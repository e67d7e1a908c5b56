// Exact path-dependent TreeSHAP (Lundberg et al., "Consistent individualized feature
// attribution for tree ensembles", Algorithm 2), following XGBoost 1.7's
// RegTree::CalculateContributions operation order so results agree to float rounding.

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include "forest/forest.h"
#include "forest/layout.h"

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

}  // namespace

void Forest::contributions(std::span<const float> row, std::span<float> out) const {
  assert(row.size() >= num_features_);
  assert(out.size() == num_features_ + 1);
  const Impl& m = *impl_;
  std::fill(out.begin(), out.end(), 0.0f);
  // Like XGBoost, each tree's contributions are summed apart and then added to the total:
  // the rounding then matches (direct accumulation drifts ~1e-5 over hundreds of trees).
  // One scratch per thread, allocated on the first call only.
  thread_local std::vector<float> tree_phi;
  if (tree_phi.size() < num_features_ + 1) tree_phi.assign(num_features_ + 1, 0.0f);
  PathElement path[kMaxPath];
  float bias = 0.0f;
  for (std::size_t t = 0; t < m.flat_roots.size(); ++t) {
    const uint32_t root = m.flat_roots[t];
    bias += m.mean_value[root];
    if (m.has_categorical) {
      tree_shap<true>(m, row.data(), tree_phi.data(), root, 0, path, 1, 1, -1);
    } else {
      tree_shap<false>(m, row.data(), tree_phi.data(), root, 0, path, 1, 1, -1);
    }
    // Only the tree's own features can be non-zero.
    for (uint32_t i = m.tree_features_begin[t]; i < m.tree_features_begin[t + 1]; ++i) {
      const uint32_t f = m.tree_features[i];
      out[f] += tree_phi[f];
      tree_phi[f] = 0.0f;
    }
  }
  out[num_features_] = bias + base_margin_;
}

std::span<const Contribution> Forest::top_contributions(std::span<const float> row,
                                                        std::size_t k,
                                                        ShapBuffer& buffer) const {
  assert(buffer.phi_.size() == num_features_ + 1);
  contributions(row, buffer.phi_);
  k = std::min(k, num_features_);
  if (k == 0) return {};
  // Insertion into a sorted prefix of length <= k: k is small (3-10), features ~40.
  auto before = [](const Contribution& a, const Contribution& b) {
    const float fa = std::fabs(a.value), fb = std::fabs(b.value);
    return fa != fb ? fa > fb : a.feature < b.feature;
  };
  std::size_t count = 0;
  Contribution* top = buffer.top_.data();
  for (std::size_t f = 0; f < num_features_; ++f) {
    const Contribution c{static_cast<uint32_t>(f), buffer.phi_[f]};
    if (c.value == 0.0f || !(std::fabs(c.value) >= 0.0f)) continue;  // zero or NaN
    if (count == k && !before(c, top[k - 1])) continue;
    std::size_t pos = count < k ? count++ : k - 1;
    while (pos > 0 && before(c, top[pos - 1])) {
      top[pos] = top[pos - 1];
      --pos;
    }
    top[pos] = c;
  }
  return {top, count};
}

}  // namespace forest
