#include "http/http.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace http {

void Gauge::add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double v) {
  const size_t i = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += bucket(i);
  return n;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> kBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                               0.0025,  0.005,  0.01,    0.025,  0.05,
                                               0.1,     0.25,   0.5,     1,      2.5,
                                               5,       10};
  return kBuckets;
}

namespace {

void append_escaped_label(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
}

// `{a="1",b="2"}` (or "" without labels); `extra` is appended last (histogram `le`).
std::string label_text(const Labels& labels, std::string_view extra_key = {},
                       std::string_view extra_value = {}) {
  if (labels.empty() && extra_key.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out += k;
    out += "=\"";
    append_escaped_label(out, v);
    out.push_back('"');
  }
  if (!extra_key.empty()) {
    if (!first) out.push_back(',');
    out += extra_key;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

}  // namespace

struct MetricsRegistry::Family {
  std::string name, help, type;
  struct Sample {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> fn;
    std::function<HistogramCounts()> histogram_fn;
    std::vector<double> histogram_bounds;  // for histogram_fn
  };
  std::map<std::string, Sample> samples;  // by label text
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help,
                                                 std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = std::string(type);
    it = families_.emplace(std::string(name), std::move(f)).first;
  }
  return *it->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& s = family(name, help, "counter").samples[label_text(labels)];
  if (!s.counter) {
    s.labels = labels;
    s.counter = std::make_unique<Counter>();
  }
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help,
                              const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& s = family(name, help, "gauge").samples[label_text(labels)];
  if (!s.gauge) {
    s.labels = labels;
    s.gauge = std::make_unique<Gauge>();
  }
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& s = family(name, help, "histogram").samples[label_text(labels)];
  if (!s.histogram) {
    s.labels = labels;
    s.histogram = std::make_unique<Histogram>(bounds);
  }
  return *s.histogram;
}

void MetricsRegistry::callback(std::string_view name, std::string_view help,
                               std::string_view type, const Labels& labels,
                               std::function<double()> fn) {
  std::lock_guard lock(mu_);
  auto& s = family(name, help, type).samples[label_text(labels)];
  s.labels = labels;
  s.fn = std::move(fn);
}

void MetricsRegistry::histogram_callback(std::string_view name, std::string_view help,
                                         std::vector<double> bounds, const Labels& labels,
                                         std::function<HistogramCounts()> fn) {
  std::lock_guard lock(mu_);
  auto& s = family(name, help, "histogram").samples[label_text(labels)];
  s.labels = labels;
  s.histogram_bounds = std::move(bounds);
  s.histogram_fn = std::move(fn);
}

void MetricsRegistry::clear_family(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    // Keep counters/gauges handed out earlier alive: only callbacks and fresh samples go.
    auto& samples = it->second->samples;
    for (auto s = samples.begin(); s != samples.end();) {
      if (s->second.fn || s->second.histogram_fn) s = samples.erase(s);
      else ++s;
    }
  }
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(8192);
  for (const auto& [name, f] : families_) {
    if (f->samples.empty()) continue;
    out += "# HELP " + f->name + " " + f->help + "\n";
    out += "# TYPE " + f->name + " " + f->type + "\n";
    for (const auto& [lt, s] : f->samples) {
      if (s.histogram || s.histogram_fn) {
        HistogramCounts counts;
        const auto& bounds = s.histogram ? s.histogram->bounds() : s.histogram_bounds;
        if (s.histogram) {
          uint64_t cum = 0;
          for (size_t i = 0; i <= bounds.size(); ++i) {
            counts.cumulative.push_back(cum += s.histogram->bucket(i));
          }
          counts.sum = s.histogram->sum();
        } else {
          counts = s.histogram_fn();
          counts.cumulative.resize(bounds.size() + 1, counts.cumulative.empty()
                                                          ? 0 : counts.cumulative.back());
        }
        for (size_t i = 0; i <= bounds.size(); ++i) {
          const std::string le = i < bounds.size() ? format_number(bounds[i]) : "+Inf";
          out += f->name + "_bucket" + label_text(s.labels, "le", le) + " " +
                 std::to_string(counts.cumulative[i]) + "\n";
        }
        out += f->name + "_sum" + lt + " " + format_number(counts.sum) + "\n";
        out += f->name + "_count" + lt + " " + std::to_string(counts.cumulative.back()) + "\n";
      } else {
        double v = 0;
        if (s.counter) v = static_cast<double>(s.counter->value());
        else if (s.gauge) v = s.gauge->value();
        else if (s.fn) v = s.fn();
        out += f->name + lt + " " + format_number(v) + "\n";
      }
    }
  }
  return out;
}

}  // namespace http
