#include "forest/forest.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <deque>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>
#include <utility>

#include "forest/layout.h"
#include "forest/model_json.h"

namespace forest {
namespace {

using Impl = Forest::Impl;
using MarginFn = float (*)(const Impl&, const float* row, float acc);
using BlockFn = void (*)(const Impl&, const float* rows, std::size_t n, std::size_t stride,
                         float* acc);

// XGBoost 1.7 common::Sigmoid, operation for operation (float, expf from libm).
float xgb_sigmoid(float x) {
  constexpr float kEps = 1e-16f;
  x = std::min(-x, 88.7f);
  const float denom = std::exp(x) + 1.0f + kEps;
  return 1.0f / denom;
}

// ---- flat layout ----------------------------------------------------------------------

template <bool kCat>
inline float flat_leaf(const Impl& m, const float* row, uint32_t i) {
  const FlatNode* nodes = m.flat.data();
  const uint32_t* cats = m.cat_words.data();
  while ((nodes[i].bits & kLeafBit) == 0) {
    const FlatNode n = nodes[i];
    i = n.left + go_right<kCat>(n.value, n.bits, row[n.bits & kFeatureMask], cats);
  }
  return nodes[i].value;
}

template <bool kCat>
float flat_margin(const Impl& m, const float* row, float acc) {
  // Tree order, one float addition per tree: XGBoost's accumulation exactly.
  for (uint32_t root : m.flat_roots) acc += flat_leaf<kCat>(m, row, root);
  return acc;
}

template <bool kCat>
void flat_block(const Impl& m, const float* rows, std::size_t n, std::size_t stride,
                float* acc) {
  for (uint32_t root : m.flat_roots) {
    for (std::size_t r = 0; r < n; ++r) acc[r] += flat_leaf<kCat>(m, rows + r * stride, root);
  }
}

// ---- perfect layout -------------------------------------------------------------------

template <int D, bool kCat>
inline float perfect_leaf(const PerfectNode* nodes, const float* leaves, const uint32_t* cats,
                          const float* row) {
  uint32_t i = 0;
  for (int d = 0; d < D; ++d) {
    const PerfectNode n = nodes[i];
    i = 2 * i + 1 + go_right<kCat>(n.value, n.bits, row[n.bits & kFeatureMask], cats);
  }
  return leaves[i - ((1u << D) - 1)];
}

struct PerfectView {
  const PerfectNode* nodes;
  const float* leaves;
  const uint32_t* cats;
  std::size_t trees;
};

PerfectView perfect_view(const Impl& m) {
  return {m.perfect_nodes.data(), m.perfect_leaves.data(), m.cat_words.data(),
          m.flat_roots.size()};
}

template <int D, bool kCat>
float perfect_margin(const Impl& m, const float* row, float acc) {
  constexpr std::size_t kNodes = (std::size_t{1} << D) - 1;
  constexpr std::size_t kLeaves = std::size_t{1} << D;
  auto [nodes, leaves, cats, trees] = perfect_view(m);
  // kLanes trees descend in lockstep (independent chains for the out-of-order core); their
  // leaves are then added one by one in tree order, as XGBoost does.
  constexpr std::size_t kLanes = 4;
  std::size_t t = 0;
  for (; t + kLanes <= trees; t += kLanes) {
    uint32_t idx[kLanes] = {};
    for (int d = 0; d < D; ++d) {
      for (std::size_t g = 0; g < kLanes; ++g) {
        const PerfectNode n = nodes[g * kNodes + idx[g]];
        idx[g] = 2 * idx[g] + 1 +
                 go_right<kCat>(n.value, n.bits, row[n.bits & kFeatureMask], cats);
      }
    }
    for (std::size_t g = 0; g < kLanes; ++g) acc += leaves[g * kLeaves + idx[g] - kNodes];
    nodes += kLanes * kNodes;
    leaves += kLanes * kLeaves;
  }
  for (; t < trees; ++t) {
    acc += perfect_leaf<D, kCat>(nodes, leaves, cats, row);
    nodes += kNodes;
    leaves += kLeaves;
  }
  return acc;
}

template <int D, bool kCat>
void perfect_block(const Impl& m, const float* rows, std::size_t n, std::size_t stride,
                   float* acc) {
  constexpr std::size_t kNodes = (std::size_t{1} << D) - 1;
  constexpr std::size_t kLeaves = std::size_t{1} << D;
  auto [nodes, leaves, cats, trees] = perfect_view(m);
  constexpr std::size_t kLanes = 8;  // rows descending one tree in lockstep
  for (std::size_t t = 0; t < trees; ++t) {
    std::size_t r = 0;
    for (; r + kLanes <= n; r += kLanes) {
      uint32_t idx[kLanes] = {};
      for (int d = 0; d < D; ++d) {
        for (std::size_t g = 0; g < kLanes; ++g) {
          const PerfectNode nd = nodes[idx[g]];
          idx[g] = 2 * idx[g] + 1 +
                   go_right<kCat>(nd.value, nd.bits,
                                  rows[(r + g) * stride + (nd.bits & kFeatureMask)], cats);
        }
      }
      for (std::size_t g = 0; g < kLanes; ++g) acc[r + g] += leaves[idx[g] - kNodes];
    }
    for (; r < n; ++r) acc[r] += perfect_leaf<D, kCat>(nodes, leaves, cats, rows + r * stride);
    nodes += kNodes;
    leaves += kLeaves;
  }
}

constexpr int kMaxPerfectDepth = 12;

template <int D>
std::pair<MarginFn, BlockFn> perfect_fns(int depth, bool cat) {
  if constexpr (D > kMaxPerfectDepth) {
    return {nullptr, nullptr};
  } else {
    if (depth != D) return perfect_fns<D + 1>(depth, cat);
    if (cat) return {&perfect_margin<D, true>, &perfect_block<D, true>};
    return {&perfect_margin<D, false>, &perfect_block<D, false>};
  }
}

// ---- building -------------------------------------------------------------------------

uint32_t add_category_set(Impl& m, const detail::RawTree& t, int node) {
  const auto offset = static_cast<uint32_t>(m.cat_words.size());
  uint32_t max_cat = 0;
  for (uint32_t j = t.cat_begin[node]; j < t.cat_end[node]; ++j) {
    max_cat = std::max(max_cat, t.categories[j]);
  }
  const uint32_t words = max_cat / 32 + 1;  // >= 1 word, see categorical_right
  m.cat_words.push_back(words);
  m.cat_words.resize(m.cat_words.size() + words, 0);
  for (uint32_t j = t.cat_begin[node]; j < t.cat_end[node]; ++j) {
    const uint32_t c = t.categories[j];
    m.cat_words[offset + 1 + c / 32] |= 1u << (c % 32);
  }
  return offset;
}

// Threshold slot and bits of an internal node (categorical nodes store their set offset).
std::pair<float, uint32_t> split_fields(Impl& m, const detail::RawTree& t, int node) {
  uint32_t bits = t.feature[node];
  if (t.default_left[node]) bits |= kDefaultLeftBit;
  float value = t.value[node];
  // XGBoost sends a non-missing value right when !(v < NaN), i.e. always: same as v >= -inf.
  if (std::isnan(value)) value = -std::numeric_limits<float>::infinity();
  if (t.is_cat[node]) {
    bits |= kCatBit;
    value = std::bit_cast<float>(add_category_set(m, t, node));
    m.has_categorical = true;
  }
  return {value, bits};
}

// XGBoost's FillNodeMeanValues, in float, same operation order.
float fill_mean(Impl& m, uint32_t i) {
  const FlatNode n = m.flat[i];
  float result;
  if (n.bits & kLeafBit) {
    result = n.value;
  } else {
    result = fill_mean(m, n.left) * m.cover[n.left];
    result += fill_mean(m, n.left + 1) * m.cover[n.left + 1];
    result /= m.cover[i];
  }
  m.mean_value[i] = result;
  return result;
}

void build_flat(Impl& m, const detail::RawModel& raw) {
  m.cat_words = {1, 0};  // offset 0: the empty set numeric nodes point at
  for (const auto& t : raw.trees) {
    const auto root = static_cast<uint32_t>(m.flat.size());
    m.flat_roots.push_back(root);
    m.tree_depth.push_back(static_cast<uint8_t>(t.depth));
    m.flat.push_back({});
    m.cover.push_back(t.cover[0]);
    std::deque<std::pair<int, uint32_t>> queue{{0, root}};  // breadth-first
    while (!queue.empty()) {
      auto [node, at] = queue.front();
      queue.pop_front();
      if (t.left[node] < 0) {
        m.flat[at] = FlatNode{t.value[node], 0, kLeafBit};
        continue;
      }
      const auto left = static_cast<uint32_t>(m.flat.size());
      auto [value, bits] = split_fields(m, t, node);
      m.flat[at] = FlatNode{value, left, bits};
      m.flat.resize(m.flat.size() + 2);
      m.cover.push_back(t.cover[t.left[node]]);
      m.cover.push_back(t.cover[t.right[node]]);
      queue.emplace_back(t.left[node], left);
      queue.emplace_back(t.right[node], left + 1);
    }
  }
  for (const auto& t : raw.trees) {
    m.tree_features_begin.push_back(static_cast<uint32_t>(m.tree_features.size()));
    const std::size_t begin = m.tree_features.size();
    for (std::size_t i = 0; i < t.left.size(); ++i) {
      if (t.left[i] >= 0) m.tree_features.push_back(t.feature[i]);
    }
    std::sort(m.tree_features.begin() + begin, m.tree_features.end());
    m.tree_features.erase(std::unique(m.tree_features.begin() + begin, m.tree_features.end()),
                          m.tree_features.end());
  }
  m.tree_features_begin.push_back(static_cast<uint32_t>(m.tree_features.size()));
  m.mean_value.resize(m.flat.size());
  for (uint32_t root : m.flat_roots) fill_mean(m, root);
  build_shap_tables(m);
}

void fill_perfect(Impl& m, const detail::RawTree& t, int node, std::size_t pos, int depth,
                  int max_depth, std::size_t node_base, std::size_t leaf_base) {
  const std::size_t inner = (std::size_t{1} << max_depth) - 1;
  if (depth == max_depth) {
    m.perfect_leaves[leaf_base + pos - inner] = t.value[node];
    return;
  }
  int left = node, right = node;  // a leaf above the bottom is replicated into both halves
  if (t.left[node] >= 0) {
    auto [value, bits] = split_fields(m, t, node);
    m.perfect_nodes[node_base + pos] = PerfectNode{value, bits};
    left = t.left[node];
    right = t.right[node];
  } else {
    m.perfect_nodes[node_base + pos] = PerfectNode{0.0f, 0};  // feature 0, either way
  }
  fill_perfect(m, t, left, 2 * pos + 1, depth + 1, max_depth, node_base, leaf_base);
  fill_perfect(m, t, right, 2 * pos + 2, depth + 1, max_depth, node_base, leaf_base);
}

void build_perfect(Impl& m, const detail::RawModel& raw, int depth) {
  const std::size_t inner = (std::size_t{1} << depth) - 1;
  const std::size_t leaves = std::size_t{1} << depth;
  m.perfect_depth = depth;
  m.perfect_nodes.assign(inner * raw.trees.size(), PerfectNode{0.0f, 0});
  m.perfect_leaves.assign(leaves * raw.trees.size(), 0.0f);
  for (std::size_t i = 0; i < raw.trees.size(); ++i) {
    fill_perfect(m, raw.trees[i], 0, 0, 0, depth, inner * i, leaves * i);
  }
}

struct Dispatch {
  MarginFn margin = nullptr;
  BlockFn block = nullptr;
};

Dispatch dispatch_for(const Impl& m) {
  if (m.perfect_depth >= 0) {
    auto [margin, block] = perfect_fns<0>(m.perfect_depth, m.has_categorical);
    return {margin, block};
  }
  if (m.has_categorical) return {&flat_margin<true>, &flat_block<true>};
  return {&flat_margin<false>, &flat_block<false>};
}

}  // namespace

Forest::Forest() = default;
Forest::~Forest() = default;

ShapBuffer::ShapBuffer(const Forest& forest)
    : phi_(forest.num_features() + 1),
      top_(forest.num_features()),
      tree_phi_(forest.num_features() + 1, 0.0f),
      cold_(forest.impl_->max_tree_nodes) {}

core::Result<std::shared_ptr<const Forest>> Forest::load_json(std::string_view model_json,
                                                              LoadOptions options) {
  LS_ASSIGN_OR_RETURN(detail::RawModel raw, detail::parse_model_json(model_json));
  std::shared_ptr<Forest> f(new Forest());
  f->num_features_ = raw.num_features;
  f->num_trees_ = raw.trees.size();
  f->objective_ = raw.objective;
  f->base_score_ = raw.base_score;
  // XGBoost 1.7 ObjFunction::ProbToMargin, in float.
  f->base_margin_ = raw.objective == Objective::kBinaryLogistic
                        ? -std::log(1.0f / raw.base_score - 1.0f)
                        : raw.base_score;
  f->feature_names_ = std::move(raw.feature_names);
  f->feature_types_ = std::move(raw.feature_types);
  for (const auto& t : raw.trees) f->max_depth_ = std::max(f->max_depth_, t.depth);

  auto impl = std::make_unique<Impl>();
  build_flat(*impl, raw);
  std::size_t real_nodes = impl->flat.size();
  bool perfect = false;
  bool quick = false;
  switch (options.layout) {
    case Layout::kFlat:
      break;
    case Layout::kQuickScorer:
      if (!qs_supported(raw)) {
        return core::make_error("unsupported_model",
                                "QuickScorer layout needs trees of at most 64 leaves and "
                                "categories below 65536");
      }
      quick = true;
      break;
    case Layout::kPerfect:
      if (f->max_depth_ > kMaxPerfectDepth) {
        return core::make_error("unsupported_model",
                                "perfect layout needs trees of depth <= " +
                                    std::to_string(kMaxPerfectDepth));
      }
      perfect = true;
      break;
    case Layout::kAuto: {
      quick = qs_supported(raw);
      if (quick) break;
      // Padding must stay small: at most 4x the real nodes (plus slack for tiny forests).
      const std::size_t padded = (std::size_t{2} << f->max_depth_) * raw.trees.size();
      perfect = f->max_depth_ <= 10 && padded <= 4 * real_nodes + 4096;
      break;
    }
  }
  if (perfect) build_perfect(*impl, raw, f->max_depth_);
  build_shap_paths(*impl, raw);
  if (quick) {
    build_quickscorer(*impl, raw);
    impl->margin_fn = &qs_margin;
    impl->block_fn = &qs_block;
    f->layout_ = Layout::kQuickScorer;
  } else {
    const Dispatch d = dispatch_for(*impl);
    impl->margin_fn = d.margin;
    impl->block_fn = d.block;
    f->layout_ = perfect ? Layout::kPerfect : Layout::kFlat;
  }
  f->impl_ = std::move(impl);
  return std::shared_ptr<const Forest>(std::move(f));
}

core::Result<std::shared_ptr<const Forest>> Forest::load_file(const std::string& path,
                                                              LoadOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error("model_not_found", "cannot open model file " + path, path);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return core::make_error("io_error", "cannot read model file " + path, path);
  return load_json(buf.str(), options);
}

float Forest::predict_margin_unchecked(const float* row) const {
  return impl_->margin_fn(*impl_, row, base_margin_);
}

float Forest::predict_margin(std::span<const float> row) const {
  assert(row.size() >= num_features_);
  return predict_margin_unchecked(row.data());
}

float Forest::predict(std::span<const float> row) const {
  const float margin = predict_margin(row);
  return objective_ == Objective::kBinaryLogistic ? xgb_sigmoid(margin) : margin;
}

void Forest::predict_batch(const float* rows, std::size_t n_rows, std::size_t n_cols,
                           float* out, bool margin, int threads) const {
  assert(n_cols >= num_features_);
  const bool logistic = !margin && objective_ == Objective::kBinaryLogistic;
  auto run = [&](std::size_t begin, std::size_t end) {
    // Blocks of rows go through all trees together: the tree stays in cache.
    constexpr std::size_t kBlock = 64;
    for (std::size_t b = begin; b < end; b += kBlock) {
      const std::size_t n = std::min(kBlock, end - b);
      std::fill(out + b, out + b + n, base_margin_);
      impl_->block_fn(*impl_, rows + b * n_cols, n, n_cols, out + b);
      if (logistic) {
        for (std::size_t r = b; r < b + n; ++r) out[r] = xgb_sigmoid(out[r]);
      }
    }
  };
  std::size_t n_threads = threads > 0 ? static_cast<std::size_t>(threads)
                                      : std::max(1u, std::thread::hardware_concurrency());
  // Below a few thousand rows a thread start costs more than it saves.
  n_threads = std::min(n_threads, std::max<std::size_t>(1, n_rows / 2048));
  if (n_threads <= 1) {
    run(0, n_rows);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(n_threads - 1);
  const std::size_t chunk = (n_rows + n_threads - 1) / n_threads;
  for (std::size_t t = 1; t < n_threads; ++t) {
    const std::size_t begin = std::min(n_rows, t * chunk);
    const std::size_t end = std::min(n_rows, begin + chunk);
    pool.emplace_back(run, begin, end);
  }
  run(0, std::min(n_rows, chunk));
  for (auto& th : pool) th.join();
}

}  // namespace forest
