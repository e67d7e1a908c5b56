// Calibration of XGBoost margins into probabilities: Platt scaling and isotonic regression,
// chosen by cross-validated log-loss on the validation split.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <simdjson.h>

#include "model/model.h"

namespace model {
namespace {

constexpr double kIsoEps = 1e-4;

// log(1 + e^z) without overflow.
double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

double platt_objective(std::span<const double> f, std::span<const double> t, double a, double b) {
  double s = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const double z = a * f[i] + b;
    s += softplus(z) - t[i] * z;
  }
  return s;
}

double logloss_of(const Calibration& c, std::span<const double> m, std::span<const float> y,
                  std::span<const uint32_t> idx) {
  double s = 0;
  for (uint32_t i : idx) {
    const double p = std::clamp(c.apply(m[i]), 1e-15, 1 - 1e-15);
    s -= y[i] == 1.0f ? std::log(p) : std::log(1 - p);
  }
  return idx.empty() ? 0 : s / static_cast<double>(idx.size());
}

}  // namespace

double sigmoid(double margin) { return 1.0 / (1.0 + std::exp(-margin)); }

double Calibration::apply(double margin) const {
  switch (method) {
    case Method::kIdentity:
      return sigmoid(margin);
    case Method::kPlatt:
      return sigmoid(platt_a * margin + platt_b);
    case Method::kIsotonic: {
      if (iso_x.empty()) return sigmoid(margin);
      if (!(margin > iso_x.front())) return iso_y.front();  // also NaN
      if (margin >= iso_x.back()) return iso_y.back();
      const size_t hi = static_cast<size_t>(
          std::upper_bound(iso_x.begin(), iso_x.end(), margin) - iso_x.begin());
      const size_t lo = hi - 1;
      const double w = (margin - iso_x[lo]) / (iso_x[hi] - iso_x[lo]);
      return iso_y[lo] + w * (iso_y[hi] - iso_y[lo]);
    }
  }
  return sigmoid(margin);
}

std::string_view Calibration::method_name() const {
  switch (method) {
    case Method::kIdentity: return "identity";
    case Method::kPlatt: return "platt";
    case Method::kIsotonic: return "isotonic";
  }
  return "identity";
}

void Calibration::write_json(core::JsonWriter& w) const {
  w.begin_object();
  w.field("method", method_name());
  if (method == Method::kPlatt) {
    w.field("a", platt_a).field("b", platt_b);
  } else if (method == Method::kIsotonic) {
    w.key("x").begin_array();
    for (double v : iso_x) w.value(v);
    w.end_array();
    w.key("y").begin_array();
    for (double v : iso_y) w.value(v);
    w.end_array();
  }
  w.end_object();
}

core::Result<Calibration> calibration_from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc)) {
    return core::make_error("invalid_manifest", "calibration is not valid JSON", "calibration");
  }
  std::string_view method;
  if (doc["method"].get(method)) {
    return core::make_error("invalid_manifest", "calibration has no method", "calibration");
  }
  Calibration c;
  if (method == "identity") {
    c.method = Calibration::Method::kIdentity;
  } else if (method == "platt") {
    c.method = Calibration::Method::kPlatt;
    if (doc["a"].get(c.platt_a) || doc["b"].get(c.platt_b)) {
      return core::make_error("invalid_manifest", "platt calibration needs numbers a and b",
                              "calibration");
    }
  } else if (method == "isotonic") {
    c.method = Calibration::Method::kIsotonic;
    simdjson::dom::array xs, ys;
    if (doc["x"].get(xs) || doc["y"].get(ys) || xs.size() != ys.size() || xs.size() == 0) {
      return core::make_error("invalid_manifest",
                              "isotonic calibration needs equal, non-empty arrays x and y",
                              "calibration");
    }
    for (auto v : xs) {
      double d;
      if (v.get(d)) return core::make_error("invalid_manifest", "isotonic x not a number", "calibration");
      c.iso_x.push_back(d);
    }
    for (auto v : ys) {
      double d;
      if (v.get(d)) return core::make_error("invalid_manifest", "isotonic y not a number", "calibration");
      c.iso_y.push_back(d);
    }
    for (size_t i = 1; i < c.iso_x.size(); ++i) {
      if (!(c.iso_x[i] > c.iso_x[i - 1]) || c.iso_y[i] < c.iso_y[i - 1]) {
        return core::make_error("invalid_manifest", "isotonic points are not increasing",
                                "calibration");
      }
    }
  } else {
    return core::make_error("invalid_manifest",
                            "unknown calibration method '" + std::string(method) + "'",
                            "calibration");
  }
  return c;
}

Calibration fit_platt(std::span<const double> f, std::span<const float> labels) {
  // Platt's smoothed targets keep the fit finite on separable data.
  double npos = 0;
  for (float y : labels) npos += y == 1.0f;
  const double nneg = static_cast<double>(labels.size()) - npos;
  const double t_pos = (npos + 1) / (npos + 2), t_neg = 1 / (nneg + 2);
  std::vector<double> t(labels.size());
  for (size_t i = 0; i < t.size(); ++i) t[i] = labels[i] == 1.0f ? t_pos : t_neg;

  double a = 1, b = 0;
  double fval = platt_objective(f, t, a, b);
  for (int iter = 0; iter < 100; ++iter) {
    double ga = 0, gb = 0, haa = 1e-12, hab = 0, hbb = 1e-12;
    for (size_t i = 0; i < f.size(); ++i) {
      const double p = sigmoid(a * f[i] + b);
      const double d = p - t[i], w = p * (1 - p);
      ga += d * f[i];
      gb += d;
      haa += w * f[i] * f[i];
      hab += w * f[i];
      hbb += w;
    }
    if (std::abs(ga) < 1e-9 && std::abs(gb) < 1e-9) break;
    const double det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const double da = -(hbb * ga - hab * gb) / det;
    const double db = -(-hab * ga + haa * gb) / det;
    double step = 1;
    bool improved = false;
    while (step >= 1e-10) {
      const double na = a + step * da, nb = b + step * db;
      const double nf = platt_objective(f, t, na, nb);
      if (nf < fval + 1e-4 * step * (ga * da + gb * db)) {
        a = na;
        b = nb;
        fval = nf;
        improved = true;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
  Calibration c;
  c.method = Calibration::Method::kPlatt;
  c.platt_a = a;
  c.platt_b = b;
  return c;
}

Calibration fit_isotonic(std::span<const double> margins, std::span<const float> labels) {
  std::vector<uint32_t> order(margins.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t l, uint32_t r) { return margins[l] < margins[r]; });
  struct Block {
    double sum, weight, xmin, xmax;
  };
  std::vector<Block> blocks;
  for (size_t k = 0; k < order.size();) {
    // Equal margins are one point: isotonic regression cannot separate them.
    Block b{0, 0, margins[order[k]], margins[order[k]]};
    while (k < order.size() && margins[order[k]] == b.xmin) {
      b.sum += labels[order[k]];
      b.weight += 1;
      ++k;
    }
    blocks.push_back(b);
    // Pool adjacent violators (merging equal means too: fewer points, same function).
    while (blocks.size() > 1) {
      Block& cur = blocks.back();
      Block& prev = blocks[blocks.size() - 2];
      if (prev.sum / prev.weight < cur.sum / cur.weight) break;
      prev.sum += cur.sum;
      prev.weight += cur.weight;
      prev.xmax = cur.xmax;
      blocks.pop_back();
    }
  }
  Calibration c;
  c.method = Calibration::Method::kIsotonic;
  for (const Block& b : blocks) {
    const double y = std::clamp(b.sum / b.weight, kIsoEps, 1 - kIsoEps);
    c.iso_x.push_back(b.xmin);
    c.iso_y.push_back(y);
    if (b.xmax > b.xmin) {
      c.iso_x.push_back(b.xmax);
      c.iso_y.push_back(y);
    }
  }
  return c;
}

CalibrationChoice choose_calibration(std::span<const double> margins,
                                     std::span<const float> labels, uint64_t seed) {
  constexpr int kFolds = 5;
  std::vector<uint32_t> idx(margins.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::mt19937_64 rng(seed);
  for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);

  CalibrationChoice out;
  const Calibration identity;
  out.cv_logloss_identity = logloss_of(identity, margins, labels, idx);
  for (int fold = 0; fold < kFolds; ++fold) {
    std::vector<uint32_t> fit_idx, eval_idx;
    for (size_t i = 0; i < idx.size(); ++i) {
      (static_cast<int>(i % kFolds) == fold ? eval_idx : fit_idx).push_back(idx[i]);
    }
    std::vector<double> fm;
    std::vector<float> fy;
    for (uint32_t i : fit_idx) {
      fm.push_back(margins[i]);
      fy.push_back(labels[i]);
    }
    const double w = static_cast<double>(eval_idx.size()) / static_cast<double>(idx.size());
    out.cv_logloss_platt += w * logloss_of(fit_platt(fm, fy), margins, labels, eval_idx);
    out.cv_logloss_isotonic += w * logloss_of(fit_isotonic(fm, fy), margins, labels, eval_idx);
  }
  const double best =
      std::min({out.cv_logloss_identity, out.cv_logloss_platt, out.cv_logloss_isotonic});
  if (best == out.cv_logloss_platt) {
    out.chosen = fit_platt(margins, labels);
  } else if (best == out.cv_logloss_isotonic) {
    out.chosen = fit_isotonic(margins, labels);
  } else {
    out.chosen = identity;
  }
  return out;
}

}  // namespace model
