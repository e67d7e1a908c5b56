// Lead id pseudonymiser and the retention policy (docs/PRIVACY.md), with a fake clock.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/core.h"
#include "http/http.h"

namespace {

using namespace std::chrono_literals;
using SysClock = std::chrono::system_clock;

TEST(LeadIdPseudonymiser, RejectsShortSecrets) {
  auto p = http::make_lead_id_pseudonymiser("short");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "id_secret_too_short");
  EXPECT_EQ(p.error().message.find("short"), std::string::npos);  // never echoes the secret
}

TEST(LeadIdPseudonymiser, KeyedStableAndOpaque) {
  auto a = http::make_lead_id_pseudonymiser("secret-number-one-0123");
  auto b = http::make_lead_id_pseudonymiser("secret-number-two-4567");
  ASSERT_TRUE(a && b);
  const std::string id = "+91 98201 55555";
  const std::string pa = (*a)(id);
  EXPECT_EQ(pa, (*a)(id));                 // stable for one secret
  EXPECT_NE(pa, (*b)(id));                 // keyed: another secret, another id
  EXPECT_NE(pa, (*a)("+91 98201 55556"));  // distinct inputs stay distinct
  ASSERT_EQ(pa.size(), 2u + 32u);
  EXPECT_EQ(pa.substr(0, 2), "p_");
  for (char c : pa.substr(2)) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << pa;
  EXPECT_EQ(pa.find("98201"), std::string::npos);
  EXPECT_EQ(pa.find("55555"), std::string::npos);
  // The result is an opaque id that core accepts as a lead id.
  EXPECT_FALSE(core::looks_like_pii(pa));
  EXPECT_TRUE(core::looks_like_pii(id));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ls_retention_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 2026-01-10T00:00:00Z
const SysClock::time_point kNow = SysClock::time_point(std::chrono::seconds(1768003200));

void write_audit(const std::string& path) {
  std::ofstream out(path);
  out << R"({"ts":"2024-12-01T10:00:00.000Z","action":"erase","outcome":"ok"})" << "\n"
      << R"({"ts":"2025-01-09T23:59:59.999Z","action":"auth","outcome":"invalid_key"})" << "\n"
      << R"({"ts":"2025-01-10T00:00:01.000Z","action":"model_reload","outcome":"ok"})" << "\n"
      << R"({"ts":"2026-01-09T12:00:00.000Z","action":"erase","outcome":"ok"})" << "\n";
}

TEST(Retention, AuditLogKeepsLinesWithinTheWindow) {
  TempDir dir;
  const std::string log = dir.path() + "/audit.log";
  write_audit(log);
  http::RetentionOptions opts;
  opts.audit_log_path = log;
  opts.audit_max_age = std::chrono::hours(24 * 365);
  opts.now = [] { return kNow; };
  const auto r = http::run_retention_once(opts);
  EXPECT_EQ(r.errors, 0);
  EXPECT_EQ(r.audit_lines_dropped, 2);
  const std::string rest = slurp(log);
  EXPECT_EQ(rest.find("2024-12-01"), std::string::npos);
  EXPECT_EQ(rest.find("2025-01-09"), std::string::npos);
  EXPECT_EQ(rest.rfind(R"({"ts":"2025-01-10T00:00:01.000Z")", 0), 0u);
  EXPECT_NE(rest.find("2026-01-09"), std::string::npos);

  // Idempotent at the same instant; a year later everything but nothing new goes.
  EXPECT_EQ(http::run_retention_once(opts).audit_lines_dropped, 0);
  opts.now = [] { return kNow + std::chrono::hours(24 * 366); };
  EXPECT_EQ(http::run_retention_once(opts).audit_lines_dropped, 2);
  EXPECT_EQ(slurp(log), "");
}

TEST(Retention, UnreadableOrPartialLinesStopTheTrim) {
  TempDir dir;
  const std::string log = dir.path() + "/audit.log";
  {
    std::ofstream out(log);
    out << R"({"ts":"2020-01-01T00:00:00Z","action":"erase"})" << "\n"
        << "not json\n"
        << R"({"ts":"2020-01-02T00:00:00Z","action":"erase"})" << "\n"
        << R"({"ts":"2020-01-03T00:00:00Z","action":"erase"})";  // partial: no newline
  }
  const auto n = http::trim_jsonl_before(log, kNow);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(slurp(log).rfind("not json\n", 0), 0u);
}

TEST(Retention, MissingAuditLogIsNotAnError) {
  TempDir dir;
  auto n = http::trim_jsonl_before(dir.path() + "/absent.log", kNow);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0);
}

TEST(Retention, CallsEveryConfiguredStoreWithItsAge) {
  http::RetentionOptions opts;
  opts.delivered_max_age = std::chrono::hours(24 * 7);
  std::chrono::milliseconds seen{0};
  int cache_calls = 0;
  opts.purge_cache = [&] { ++cache_calls; return size_t{3}; };
  opts.purge_delivered = [&](std::chrono::milliseconds age) -> core::Result<int64_t> {
    seen = age;
    return int64_t{5};
  };
  opts.dead_letter_max_age = std::chrono::hours(24 * 60);
  std::chrono::milliseconds dead_seen{0};
  opts.purge_dead_letters = [&](std::chrono::milliseconds age) -> core::Result<int64_t> {
    dead_seen = age;
    return int64_t{2};
  };
  auto r = http::run_retention_once(opts);
  EXPECT_EQ(cache_calls, 1);
  EXPECT_EQ(seen, std::chrono::hours(24 * 7));
  EXPECT_EQ(dead_seen, std::chrono::hours(24 * 60));
  EXPECT_EQ(r.cache_purged, 3u);
  EXPECT_EQ(r.delivered_purged, 5);
  EXPECT_EQ(r.dead_letters_purged, 2);
  EXPECT_EQ(r.errors, 0);

  http::set_log_fd(-1);
  opts.purge_delivered = [](std::chrono::milliseconds) -> core::Result<int64_t> {
    return core::make_error("outbox_io", "disk full");
  };
  r = http::run_retention_once(opts);
  http::set_log_fd(2);
  EXPECT_EQ(r.errors, 1);
  EXPECT_EQ(r.cache_purged, 3u);  // one failing store does not stop the others
}

TEST(Retention, JobRunsPeriodicallyAndStopsOnDestruction) {
  http::ServerConfig cfg;
  cfg.auth = false;
  http::Server server(cfg);
  std::atomic<int> rounds{0};
  http::RetentionOptions opts;
  opts.interval = 10ms;
  opts.purge_cache = [&] { ++rounds; return size_t{1}; };
  http::set_log_fd(-1);
  {
    auto job = http::start_retention(server, opts);
    for (int i = 0; i < 500 && rounds.load() < 3; ++i) std::this_thread::sleep_for(10ms);
  }
  http::set_log_fd(2);
  const int after = rounds.load();
  EXPECT_GE(after, 3);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rounds.load(), after);  // stopped
  EXPECT_NE(server.metrics().render().find(
                "leadscore_retention_purged_total{store=\"cache\"} " + std::to_string(after)),
            std::string::npos);
}

}  // namespace
