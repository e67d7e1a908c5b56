// Evaluation metrics on calibrated probabilities, score quantiles and grades.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "data/data.h"
#include "model/model.h"

namespace model {
namespace {

// Row indices sorted by descending score (stable: ties keep row order, so results are
// deterministic).
std::vector<uint32_t> order_desc(std::span<const double> scores) {
  std::vector<uint32_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t l, uint32_t r) { return scores[l] > scores[r]; });
  return order;
}

}  // namespace

double roc_auc(std::span<const double> scores, std::span<const float> labels) {
  std::vector<int> y(labels.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = labels[i] == 1.0f;
  return data::roc_auc(scores, y);
}

double average_precision(std::span<const double> scores, std::span<const float> labels) {
  const auto order = order_desc(scores);
  double total_pos = 0;
  for (float y : labels) total_pos += y == 1.0f;
  if (total_pos == 0) return NAN;
  double tp = 0, seen = 0, ap = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    double group_pos = 0;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      group_pos += labels[order[j]] == 1.0f;
      ++j;
    }
    tp += group_pos;
    seen += static_cast<double>(j - i);
    ap += (group_pos / total_pos) * (tp / seen);
    i = j;
  }
  return ap;
}

double log_loss(std::span<const double> probs, std::span<const float> labels) {
  double s = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const double p = std::clamp(probs[i], 1e-15, 1 - 1e-15);
    s -= labels[i] == 1.0f ? std::log(p) : std::log(1 - p);
  }
  return probs.empty() ? NAN : s / static_cast<double>(probs.size());
}

double brier_score(std::span<const double> probs, std::span<const float> labels) {
  double s = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const double d = probs[i] - labels[i];
    s += d * d;
  }
  return probs.empty() ? NAN : s / static_cast<double>(probs.size());
}

double expected_calibration_error(std::span<const double> probs, std::span<const float> labels,
                                  int bins) {
  std::vector<double> sum_p(bins), sum_y(bins), n(bins);
  for (size_t i = 0; i < probs.size(); ++i) {
    const int b = std::clamp(static_cast<int>(probs[i] * bins), 0, bins - 1);
    sum_p[b] += probs[i];
    sum_y[b] += labels[i];
    n[b] += 1;
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b) {
    if (n[b] > 0) ece += std::abs(sum_p[b] - sum_y[b]) / static_cast<double>(probs.size());
  }
  return probs.empty() ? NAN : ece;
}

std::vector<double> score_quantiles(std::vector<double> scores) {
  std::vector<double> q;
  if (scores.empty()) return q;
  std::sort(scores.begin(), scores.end());
  const double last = static_cast<double>(scores.size() - 1);
  for (int k = 0; k <= 100; ++k) {
    const double pos = last * k / 100.0;
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, scores.size() - 1);
    q.push_back(scores[lo] + (pos - static_cast<double>(lo)) * (scores[hi] - scores[lo]));
  }
  return q;
}

double percentile_of(std::span<const double> q, double p) {
  if (q.size() < 2 || std::isnan(p)) return 0;
  if (p < q.front()) return 0;
  if (p >= q.back()) return 100;
  // Highest k with q[k] <= p (plateaus of equal scores rank at their top).
  const size_t hi = static_cast<size_t>(std::upper_bound(q.begin(), q.end(), p) - q.begin());
  const size_t k = hi - 1;
  const double span = q[hi] - q[k];
  const double frac = span > 0 ? (p - q[k]) / span : 0;
  return (static_cast<double>(k) + frac) * 100.0 / static_cast<double>(q.size() - 1);
}

GradeThresholds grade_thresholds_from_quantiles(std::span<const double> q) {
  GradeThresholds g;
  if (q.size() != 101) return g;
  g.a = q[static_cast<size_t>(kGradeQuantiles[0] * 100 + 0.5)];
  g.b = q[static_cast<size_t>(kGradeQuantiles[1] * 100 + 0.5)];
  g.c = q[static_cast<size_t>(kGradeQuantiles[2] * 100 + 0.5)];
  return g;
}

Metrics compute_metrics(std::span<const double> probs, std::span<const float> labels,
                        const GradeThresholds& grades) {
  Metrics m;
  m.rows = probs.size();
  for (float y : labels) m.positives += y == 1.0f;
  m.base_rate = m.rows ? static_cast<double>(m.positives) / static_cast<double>(m.rows) : NAN;
  m.roc_auc = roc_auc(probs, labels);
  m.pr_auc = average_precision(probs, labels);
  m.log_loss = log_loss(probs, labels);
  m.brier = brier_score(probs, labels);
  m.ece = expected_calibration_error(probs, labels);

  const auto order = order_desc(probs);
  for (int d = 0; d < 10 && m.rows > 0; ++d) {
    const size_t begin = m.rows * static_cast<size_t>(d) / 10;
    const size_t end = m.rows * static_cast<size_t>(d + 1) / 10;
    DecileRow row;
    row.decile = d + 1;
    row.count = end - begin;
    if (row.count == 0) continue;
    double sum = 0;
    row.max_score = probs[order[begin]];
    row.min_score = probs[order[end - 1]];
    for (size_t i = begin; i < end; ++i) {
      sum += probs[order[i]];
      row.positives += labels[order[i]] == 1.0f;
    }
    row.mean_score = sum / static_cast<double>(row.count);
    row.conversion_rate = static_cast<double>(row.positives) / static_cast<double>(row.count);
    row.lift = m.base_rate > 0 ? row.conversion_rate / m.base_rate : NAN;
    m.deciles.push_back(row);
  }

  const double cut[3] = {grades.a, grades.b, grades.c};
  for (int g = 0; g < 3; ++g) {
    m.confusion[g].grade = static_cast<char>('A' + g);
    m.confusion[g].threshold = cut[g];
  }
  for (size_t i = 0; i < m.rows; ++i) {
    const char grade = grades.grade(probs[i]);
    ++m.grade_counts[grade - 'A'];
    const bool pos = labels[i] == 1.0f;
    for (int g = 0; g < 3; ++g) {
      Confusion& c = m.confusion[g];
      const bool predicted = grade <= c.grade;
      (predicted ? (pos ? c.tp : c.fp) : (pos ? c.fn : c.tn)) += 1;
    }
  }
  for (Confusion& c : m.confusion) {
    c.precision = c.tp + c.fp ? static_cast<double>(c.tp) / static_cast<double>(c.tp + c.fp) : NAN;
    c.recall = c.tp + c.fn ? static_cast<double>(c.tp) / static_cast<double>(c.tp + c.fn) : NAN;
  }
  return m;
}

void Metrics::write_json(core::JsonWriter& w) const {
  w.begin_object();
  w.field("rows", static_cast<uint64_t>(rows)).field("positives", static_cast<uint64_t>(positives));
  w.field("base_rate", base_rate).field("roc_auc", roc_auc).field("pr_auc", pr_auc);
  w.field("log_loss", log_loss).field("brier", brier).field("ece", ece);
  w.key("deciles").begin_array();
  for (const DecileRow& d : deciles) {
    w.begin_object()
        .field("decile", d.decile)
        .field("count", static_cast<uint64_t>(d.count))
        .field("positives", static_cast<uint64_t>(d.positives))
        .field("min_score", d.min_score)
        .field("max_score", d.max_score)
        .field("mean_score", d.mean_score)
        .field("conversion_rate", d.conversion_rate)
        .field("lift", d.lift)
        .end_object();
  }
  w.end_array();
  w.key("grade_counts").begin_object();
  for (int g = 0; g < 4; ++g) {
    const char name[2] = {static_cast<char>('A' + g), 0};
    w.field(name, static_cast<uint64_t>(grade_counts[g]));
  }
  w.end_object();
  w.key("confusion").begin_array();
  for (const Confusion& c : confusion) {
    const char name[2] = {c.grade, 0};
    w.begin_object()
        .field("grade_or_better", std::string_view(name))
        .field("threshold", c.threshold)
        .field("tp", static_cast<uint64_t>(c.tp))
        .field("fp", static_cast<uint64_t>(c.fp))
        .field("tn", static_cast<uint64_t>(c.tn))
        .field("fn", static_cast<uint64_t>(c.fn))
        .field("precision", c.precision)
        .field("recall", c.recall)
        .end_object();
  }
  w.end_array();
  w.end_object();
}

std::string format_metrics_table(const Metrics& m) {
  std::string s;
  char buf[256];
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    s += buf;
  };
  line("rows %zu, positives %zu (base rate %.2f%%)\n", m.rows, m.positives, 100 * m.base_rate);
  line("ROC-AUC %.4f  PR-AUC %.4f  log-loss %.4f  Brier %.4f  ECE %.4f\n", m.roc_auc, m.pr_auc,
       m.log_loss, m.brier, m.ece);
  line("\n%-7s %7s %9s %10s %10s %8s\n", "decile", "leads", "converted", "conv.rate", "mean score",
       "lift");
  for (const DecileRow& d : m.deciles) {
    line("%-7d %7zu %9zu %9.1f%% %10.3f %8.2f\n", d.decile, d.count, d.positives,
         100 * d.conversion_rate, d.mean_score, d.lift);
  }
  line("\ngrades: A %zu  B %zu  C %zu  D %zu\n", m.grade_counts[0], m.grade_counts[1],
       m.grade_counts[2], m.grade_counts[3]);
  line("%-16s %9s %6s %6s %6s %6s %9s %7s\n", "predict positive", "threshold", "TP", "FP", "TN",
       "FN", "precision", "recall");
  for (const Confusion& c : m.confusion) {
    line("grade %c or better %8.4f %6zu %6zu %6zu %6zu %8.1f%% %6.1f%%\n", c.grade, c.threshold,
         c.tp, c.fp, c.tn, c.fn, 100 * c.precision, 100 * c.recall);
  }
  return s;
}

}  // namespace model
