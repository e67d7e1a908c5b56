#include <gtest/gtest.h>

#include <thread>

#include "http/http.h"

namespace {

TEST(Metrics, CounterRendersWithLabelsAndHelp) {
  http::MetricsRegistry reg;
  reg.counter("x_total", "Things", {{"route", "/a"}, {"status", "200"}}).inc(3);
  const std::string out = reg.render();
  EXPECT_NE(out.find("# HELP x_total Things\n# TYPE x_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("x_total{route=\"/a\",status=\"200\"} 3\n"), std::string::npos);
}

TEST(Metrics, SameNameAndLabelsIsSameMetric) {
  http::MetricsRegistry reg;
  auto& a = reg.counter("c", "h", {{"k", "v"}});
  auto& b = reg.counter("c", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &reg.counter("c", "h", {{"k", "w"}}));
}

TEST(Metrics, LabelValuesAreEscaped) {
  http::MetricsRegistry reg;
  reg.gauge("g", "h", {{"v", "a\"b\\c\nd"}}).set(1.5);
  EXPECT_NE(reg.render().find("g{v=\"a\\\"b\\\\c\\nd\"} 1.5\n"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  http::MetricsRegistry reg;
  auto& h = reg.histogram("lat", "h", {0.1, 1.0});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  const std::string out = reg.render();
  EXPECT_NE(out.find("lat_bucket{le=\"0.1\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_bucket{le=\"1\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_count 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_sum 7.65\n"), std::string::npos) << out;
}

TEST(Metrics, CallbackIsReadAtScrape) {
  http::MetricsRegistry reg;
  double depth = 4;
  reg.callback("outbox_depth", "h", "gauge", {}, [&] { return depth; });
  EXPECT_NE(reg.render().find("outbox_depth 4\n"), std::string::npos);
  depth = 9;
  EXPECT_NE(reg.render().find("outbox_depth 9\n"), std::string::npos);
  reg.clear_family("outbox_depth");
  EXPECT_EQ(reg.render().find("outbox_depth"), std::string::npos);
}

TEST(Metrics, HistogramCallbackRendersTheOwnersCountsAtScrape) {
  http::MetricsRegistry reg;
  http::MetricsRegistry::HistogramCounts counts{{1, 3, 4}, 2.5};
  reg.histogram_callback("delivery_seconds", "Latency", {0.01, 0.1}, {{"crm", "a"}},
                         [&] { return counts; });
  std::string out = reg.render();
  EXPECT_NE(out.find("# HELP delivery_seconds Latency\n# TYPE delivery_seconds histogram\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("delivery_seconds_bucket{crm=\"a\",le=\"0.01\"} 1\n"
                     "delivery_seconds_bucket{crm=\"a\",le=\"0.1\"} 3\n"
                     "delivery_seconds_bucket{crm=\"a\",le=\"+Inf\"} 4\n"
                     "delivery_seconds_sum{crm=\"a\"} 2.5\n"
                     "delivery_seconds_count{crm=\"a\"} 4\n"),
            std::string::npos) << out;
  counts = {{0, 0, 7}, 9};  // read again at the next scrape
  out = reg.render();
  EXPECT_NE(out.find("delivery_seconds_count{crm=\"a\"} 7\n"), std::string::npos) << out;
  counts = {{}, 0};  // an owner that returns too few counts: padded, never read out of range
  out = reg.render();
  EXPECT_NE(out.find("delivery_seconds_bucket{crm=\"a\",le=\"+Inf\"} 0\n"), std::string::npos);
  reg.clear_family("delivery_seconds");
  EXPECT_EQ(reg.render().find("delivery_seconds"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreCounted) {
  http::MetricsRegistry reg;
  auto& c = reg.counter("n", "h");
  auto& h = reg.histogram("d", "h", {1.0});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.5);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_DOUBLE_EQ(h.sum(), 20000.0);
}

}  // namespace
