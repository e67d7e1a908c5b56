#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "data/data.h"

namespace data {

double roc_auc(std::span<const double> scores, std::span<const int> labels) {
  const size_t n = scores.size();
  if (n != labels.size()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  // NaN scores rank lowest (and tie with each other) so the sort keeps a strict weak order.
  auto key = [&](uint32_t i) {
    const double s = scores[i];
    return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
  // Sum of the (1-based, tie-averaged) ranks of the positives: Mann-Whitney U.
  double rank_sum = 0;
  uint64_t pos = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && key(order[j]) == key(order[i])) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] != 0) {
        rank_sum += avg_rank;
        ++pos;
      }
    }
    i = j;
  }
  const uint64_t neg = n - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  const double p = static_cast<double>(pos);
  return (rank_sum - p * (p + 1) / 2.0) / (p * static_cast<double>(neg));
}

}  // namespace data
