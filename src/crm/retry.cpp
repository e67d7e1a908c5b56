// Retry policy: full-jitter exponential backoff, Retry-After, outcome classification.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

#include "crm/crm.h"

namespace crm {

std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int attempt, double u) {
  // base · 2^(attempt-1) without overflow: stop doubling once past the cap.
  double ceiling = static_cast<double>(p.base.count());
  const double cap = static_cast<double>(p.cap.count());
  for (int i = 1; i < attempt && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  u = std::clamp(u, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::floor(u * ceiling)));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v, int64_t now_ms) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (v.front() >= '0' && v.front() <= '9') {
    int64_t secs = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return std::chrono::milliseconds(std::min<int64_t>(secs, int64_t{1} << 40) * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string s(v);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const int64_t at_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  return std::chrono::milliseconds(std::max<int64_t>(0, at_ms - now_ms));
}

AttemptOutcome classify(int http_status, bool network_error) {
  if (network_error || http_status == 0) return AttemptOutcome::kRetry;
  if (http_status >= 200 && http_status < 300) return AttemptOutcome::kDelivered;
  if (http_status == 408 || http_status == 429 || http_status >= 500) {
    return AttemptOutcome::kRetry;
  }
  return AttemptOutcome::kDeadLetter;
}

}  // namespace crm
