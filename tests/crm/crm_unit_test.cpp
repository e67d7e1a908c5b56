// Unit tests: signing, retry policy, events, and the SQLite outbox (no network, no processes).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crm/crm.h"
#include "crm/event_log.h"
#include "crm/seq_index.h"
#include "crm/time_format.h"
#include "test_util.h"

using namespace std::chrono_literals;
using crm_test::make_event;

namespace {

// ---- signing --------------------------------------------------------------------------------

TEST(Signing, HmacMatchesRfc4231TestCase2) {
  // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(crm::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signing, SignatureCoversTimestampDotBody) {
  EXPECT_EQ(crm::sign("k", 1700000000, R"({"a":1})"),
            "sha256=" + crm::hmac_sha256_hex("k", R"(1700000000.{"a":1})"));
}

TEST(Signing, VerifyAcceptsGoodAndRejectsTamperedOldFutureMissing) {
  const int64_t now = 1764000000;
  const std::string body = R"({"event_id":"x"})";
  const std::string sig = crm::sign("secret", now, body);
  EXPECT_TRUE(crm::verify_signature("secret", std::to_string(now), body, sig, now + 10, 300));
  auto code = [&](std::string_view ts, std::string_view b, std::string_view s, int64_t at) {
    auto st = crm::verify_signature("secret", ts, b, s, at, 300);
    return st ? std::string("ok") : st.error().code;
  };
  EXPECT_EQ(code(std::to_string(now), R"({"event_id":"y"})", sig, now), "invalid_signature");
  EXPECT_EQ(code(std::to_string(now), body, crm::sign("other", now, body), now), "invalid_signature");
  EXPECT_EQ(code(std::to_string(now), body, sig, now + 301), "timestamp_out_of_range");
  EXPECT_EQ(code(std::to_string(now), body, sig, now - 301), "timestamp_out_of_range");
  EXPECT_EQ(code("", body, sig, now), "missing_signature");
  EXPECT_EQ(code(std::to_string(now), body, "", now), "missing_signature");
  EXPECT_EQ(code("17x", body, sig, now), "invalid_timestamp");
  EXPECT_EQ(code(std::to_string(now), body, sig.substr(0, sig.size() - 1), now), "invalid_signature");
}

// ---- retry policy -----------------------------------------------------------------------------

TEST(Retry, BackoffStaysWithinFullJitterBoundsAndCap) {
  crm::RetryPolicy p;
  p.base = 100ms;
  p.cap = 5000ms;
  for (int attempt = 1; attempt <= 40; ++attempt) {
    const double ceiling = std::min(5000.0, 100.0 * std::pow(2.0, attempt - 1));
    EXPECT_EQ(crm::backoff_delay(p, attempt, 0.0).count(), 0);
    for (double u : {0.1, 0.5, 0.9, 0.999999}) {
      const auto d = crm::backoff_delay(p, attempt, u).count();
      EXPECT_LE(d, static_cast<int64_t>(ceiling)) << attempt;
      EXPECT_EQ(d, static_cast<int64_t>(std::floor(u * ceiling))) << attempt << " u=" << u;
    }
  }
  // Uniform draws spread across [0, ceiling): the jitter is "full", not a band around it.
  auto rng = crm::default_random();
  int64_t lo = 1 << 30, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto d = crm::backoff_delay(p, 4, rng()).count();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 80);
  EXPECT_GT(hi, 720);
  EXPECT_LT(hi, 800);
}

TEST(Retry, ParsesRetryAfterSecondsAndHttpDate) {
  EXPECT_EQ(crm::parse_retry_after("120", 0), std::optional(std::chrono::milliseconds(120000)));
  EXPECT_EQ(crm::parse_retry_after(" 0 ", 0), std::optional(std::chrono::milliseconds(0)));
  std::tm tm{};
  tm.tm_year = 94;
  tm.tm_mon = 10;
  tm.tm_mday = 6;
  tm.tm_hour = 8;
  tm.tm_min = 49;
  tm.tm_sec = 37;
  const int64_t at_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  EXPECT_EQ(crm::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at_ms - 30000),
            std::optional(std::chrono::milliseconds(30000)));
  EXPECT_EQ(crm::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at_ms + 5000),
            std::optional(std::chrono::milliseconds(0)));
  EXPECT_FALSE(crm::parse_retry_after("soon", 0));
  EXPECT_FALSE(crm::parse_retry_after("12abc", 0));
  EXPECT_FALSE(crm::parse_retry_after("", 0));
}

TEST(Retry, ClassifiesStatuses) {
  using O = crm::AttemptOutcome;
  EXPECT_EQ(crm::classify(200, false), O::kDelivered);
  EXPECT_EQ(crm::classify(204, false), O::kDelivered);
  EXPECT_EQ(crm::classify(0, true), O::kRetry);
  for (int s : {408, 429, 500, 502, 503, 504}) EXPECT_EQ(crm::classify(s, false), O::kRetry) << s;
  for (int s : {301, 400, 401, 403, 404, 409, 410, 413, 422}) {
    EXPECT_EQ(crm::classify(s, false), O::kDeadLetter) << s;
  }
}

// ---- events -----------------------------------------------------------------------------------

TEST(Event, IdsAreUniqueTimeOrderedCrockford) {
  std::set<std::string> ids;
  std::string prev;
  for (int i = 0; i < 2000; ++i) {
    auto id = crm::new_event_id();
    ASSERT_EQ(id.size(), 26u);
    EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
    EXPECT_GE(id.substr(0, 10), prev.substr(0, std::min<size_t>(10, prev.size())));
    prev = id;
    ids.insert(std::move(id));
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(Event, JsonHasExactlyTheDocumentedFields) {
  auto e = make_event("L-1", 83);
  std::string json;
  crm::write_event_json(e, json);
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  ASSERT_FALSE(parser.parse(json).get(obj)) << json;
  std::set<std::string> keys;
  for (auto [k, v] : obj) keys.insert(std::string(k));
  EXPECT_EQ(keys, (std::set<std::string>{"event_id", "type", "lead_id", "model_version",
                                         "intent_score", "score", "grade", "reasons",
                                         "scored_at"}));
  EXPECT_EQ(std::string_view(obj["event_id"]), e.event_id);
  EXPECT_EQ(std::string_view(obj["type"]), "lead.scored");
  EXPECT_EQ(int64_t(obj["score"]), 83);
  EXPECT_DOUBLE_EQ(double(obj["intent_score"]), 0.83);
  EXPECT_EQ(std::string_view(obj["scored_at"]), "2025-11-24T16:00:00.083Z");
  simdjson::dom::array reasons = obj["reasons"];
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(std::string_view(reasons.at(0)["feature"]), "site_visit_scheduled");
  EXPECT_EQ(std::string_view(reasons.at(0)["value"]), "yes");
  EXPECT_DOUBLE_EQ(double(reasons.at(0)["impact"]), 1.25);
}

// The event timestamp formatter (no gmtime_r on the hot path) against gmtime_r + strftime.
TEST(Event, Iso8601MatchesGmtimeAcrossYearsAndLeapDays) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> samples = {0, 999, 1000, 86'399'999, 86'400'000, 951'782'400'000,
                                  951'868'799'999, 1'709'164'800'000, 4'102'444'799'999};
  std::uniform_int_distribution<int64_t> any(0, 4'102'444'799'999);  // 1970 .. 2099
  for (int i = 0; i < 20000; ++i) samples.push_back(any(rng));
  for (int64_t ms : samples) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char want[40];
    const size_t n = std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(want + n, sizeof want - n, ".%03dZ", static_cast<int>(ms % 1000));
    ASSERT_EQ(crm::format_iso8601_ms(ms), want) << ms;
  }
}

TEST(Event, ValidationRefusesContactDataAndBadRanges) {
  auto code = [](const crm::Event& e) {
    auto st = crm::validate_event(e);
    return st ? std::string("ok") : st.error().code + "@" + st.error().field;
  };
  EXPECT_EQ(code(make_event("L", 1)), "ok");
  for (const char* v : {"+91 98765 43210", "98765-43210", "priya.canary@example.com",
                        "(022) 2345-678901"}) {
    auto e = make_event("L", 1);
    e.reasons[1].value = v;
    EXPECT_EQ(code(e), "pii_in_event@reasons[1]") << v;
  }
  auto e = make_event("L", 1);
  e.intent_score = 1.5;
  EXPECT_EQ(code(e), "invalid_event@intent_score");
  e = make_event("", 1);
  EXPECT_EQ(code(e), "invalid_event@lead_id");
  e = make_event("L", 1);
  e.score = 101;
  EXPECT_EQ(code(e), "invalid_event@score");
  e = make_event("L", 1);
  e.reasons[0].value = "budget 1.2 cr";  // words and short numbers are fine
  EXPECT_EQ(code(e), "ok");
}

// ---- outbox -----------------------------------------------------------------------------------

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = crm_test::temp_dir("outbox"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<crm::Outbox> open(crm::Clock clock = crm::system_clock_ms) {
    auto o = crm::Outbox::open({.path = db_path(), .clock = std::move(clock)});
    EXPECT_TRUE(o) << (o ? "" : o.error().message);
    return o ? *std::move(o) : nullptr;
  }
  std::string db_path() const { return (dir_ / "outbox.sqlite").string(); }
  // Every file of the outbox: the SQLite database, its WAL and shm, the event log's segments.
  std::vector<std::string> outbox_files() const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().filename().string().rfind("outbox.sqlite", 0) == 0) {
        out.push_back(entry.path().string());
      }
    }
    return out;
  }
  std::filesystem::path dir_;
};

std::vector<std::string> ids(const std::vector<crm::ClaimedEvent>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.event_id);
  return out;
}

TEST_F(OutboxTest, AppendClaimAckMovesEventsToDelivered) {
  auto outbox = open();
  std::vector<crm::Event> events = {make_event("A", 1), make_event("B", 2), make_event("C", 3)};
  for (auto e : events) ASSERT_TRUE(outbox->append(std::move(e)).get());
  EXPECT_EQ(outbox->depth(), 3);
  auto claimed = outbox->claim(10, 60s);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 3u);
  EXPECT_EQ(ids(*claimed), (std::vector<std::string>{events[0].event_id, events[1].event_id,
                                                     events[2].event_id}));
  std::string body;
  crm::write_event_json(events[1], body);
  EXPECT_EQ((*claimed)[1].body, body);
  EXPECT_EQ((*claimed)[1].attempts, 0);
  ASSERT_TRUE(outbox->ack({(*claimed)[0].seq, (*claimed)[1].seq},
                          "https://user:pw@crm.example.com/hook?token=SECRET#x"));
  EXPECT_EQ(outbox->depth(), 1);
  auto counts = outbox->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending, 1);
  EXPECT_EQ(counts->delivered, 2);
  auto rec = outbox->record_for_lead("A");
  ASSERT_TRUE(rec);
  ASSERT_EQ(rec->delivered.size(), 1u);
  EXPECT_EQ(rec->delivered[0].recipient, "https://crm.example.com/hook");  // no token, no user
  EXPECT_EQ(rec->delivered[0].attempts, 1);
  EXPECT_TRUE(rec->pending.empty());
}

// Lead ids and scores: every outbox file is owner-only (0600), SQLite's -wal and -shm too (they
// take the main file's mode), whatever the umask; files left 0644 by older versions are
// tightened at open.
TEST_F(OutboxTest, EveryFileIsOwnerOnly) {
  const mode_t old_umask = ::umask(022);
  const auto modes = [this] {
    std::map<std::string, unsigned> out;
    for (const auto& f : outbox_files()) {
      struct stat st {};
      EXPECT_EQ(::stat(f.c_str(), &st), 0) << f;
      out[std::filesystem::path(f).filename().string()] = st.st_mode & 0777;
    }
    return out;
  };
  const auto expect_owner_only = [&](const char* when) {
    const auto m = modes();
    for (const char* name : {"outbox.sqlite", "outbox.sqlite-wal", "outbox.sqlite-shm"}) {
      EXPECT_TRUE(m.count(name)) << when << ": no " << name;
    }
    for (const auto& [name, mode] : m) EXPECT_EQ(mode, 0600u) << when << ": " << name;
  };
  {
    auto outbox = open();
    ASSERT_TRUE(outbox);
    ASSERT_TRUE(outbox->append(make_event("M-1", 1)).get());
    auto c = outbox->claim(1, std::chrono::seconds(60));
    ASSERT_TRUE(c && c->size() == 1);
    ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm.example/hook"));  // writes the WAL
    expect_owner_only("new outbox");
  }
  for (const char* suffix : {"", "-wal", "-shm"}) ::chmod((db_path() + suffix).c_str(), 0644);
  {
    auto outbox = open();
    ASSERT_TRUE(outbox);
    ASSERT_TRUE(outbox->append(make_event("M-2", 2)).get());
    expect_owner_only("reopened 0644 outbox");
  }
  ::umask(old_umask);
}

TEST_F(OutboxTest, ClaimsOnlyTheOldestPendingEventOfEachLead) {
  crm::ManualClock clock(1'000'000);
  auto outbox = open(clock.as_clock());
  std::vector<crm::Event> a = {make_event("A", 1), make_event("A", 2), make_event("A", 3)};
  auto b = make_event("B", 4);
  ASSERT_TRUE(outbox->append(a[0]).get());
  ASSERT_TRUE(outbox->append(b).get());
  ASSERT_TRUE(outbox->append(a[1]).get());
  ASSERT_TRUE(outbox->append(a[2]).get());
  auto c1 = outbox->claim(10, 5s);
  ASSERT_TRUE(c1);
  EXPECT_EQ(ids(*c1), (std::vector<std::string>{a[0].event_id, b.event_id}));
  auto c2 = outbox->claim(10, 5s);  // leased: nothing else is due
  ASSERT_TRUE(c2);
  EXPECT_TRUE(c2->empty());
  ASSERT_TRUE(outbox->ack({(*c1)[0].seq, (*c1)[1].seq}, "http://crm/"));
  auto c3 = outbox->claim(10, 5s);
  ASSERT_TRUE(c3);
  EXPECT_EQ(ids(*c3), (std::vector<std::string>{a[1].event_id}));
  // A failed head blocks its lead until it is due again.
  ASSERT_TRUE(outbox->reschedule((*c3)[0].seq, 1, clock.now() + 10000, "http_503", 503));
  clock.advance(9999ms);
  EXPECT_TRUE(outbox->claim(10, 5s)->empty());
  clock.advance(1ms);
  auto c4 = outbox->claim(10, 5s);
  ASSERT_TRUE(c4);
  ASSERT_EQ(ids(*c4), (std::vector<std::string>{a[1].event_id}));
  EXPECT_EQ((*c4)[0].attempts, 1);
}

// Outboxes written before the `head` column (claim used to scan every pending row) are
// migrated at open: the oldest pending event of each lead becomes its head.
TEST_F(OutboxTest, OpensAnOutboxFromBeforeTheHeadColumn) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    const char* old_schema = R"sql(
      PRAGMA journal_mode=WAL;
      CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,
        lead_id TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
        last_error TEXT NOT NULL DEFAULT '', last_status INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX outbox_lead ON outbox(lead_id, seq);
      INSERT INTO outbox(event_id, lead_id, body, created_at, next_attempt_at) VALUES
        ('a1', 'A', '{}', 1, 1), ('b1', 'B', '{}', 2, 2), ('a2', 'A', '{}', 3, 3);)sql";
    ASSERT_EQ(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto outbox = open();
  EXPECT_EQ(outbox->depth(), 3);
  auto c1 = outbox->claim(10, 60s);
  ASSERT_TRUE(c1);
  EXPECT_EQ(ids(*c1), (std::vector<std::string>{"a1", "b1"}));
  ASSERT_TRUE(outbox->ack({(*c1)[0].seq}, "http://crm/"));
  auto c2 = outbox->claim(10, 60s);
  ASSERT_TRUE(c2);
  EXPECT_EQ(ids(*c2), (std::vector<std::string>{"a2"}));
  // New events queue behind the lead's pending one, or lead their own lead.
  auto a3 = make_event("A", 4), c = make_event("C", 5);
  ASSERT_TRUE(outbox->append(a3).get());
  ASSERT_TRUE(outbox->append(c).get());
  auto c3 = outbox->claim(10, 60s);
  ASSERT_TRUE(c3);
  EXPECT_EQ(ids(*c3), (std::vector<std::string>{c.event_id}));
}

// The deliverer is woken by commits that make an event deliverable (a lead's first pending
// event), not by events queued behind their lead's head.
TEST_F(OutboxTest, CommitListenerFiresOnlyForNewHeads) {
  auto outbox = open();
  std::atomic<int> wakes{0};
  outbox->set_commit_listener([&wakes] { ++wakes; });
  // The listener runs on the writer thread after the commit's callbacks; a blocking call
  // (counts) runs after it there, so it orders the check after the listener.
  auto append = [&](crm::Event e) {
    ASSERT_TRUE(outbox->append(std::move(e)).get());
    ASSERT_TRUE(outbox->counts());
  };
  append(make_event("H", 1));
  EXPECT_EQ(wakes.load(), 1);
  append(make_event("H", 2));
  append(make_event("H", 3));
  EXPECT_EQ(wakes.load(), 1);
  append(make_event("J", 4));
  EXPECT_EQ(wakes.load(), 2);
  outbox->set_commit_listener(nullptr);
}

TEST_F(OutboxTest, ExpiredLeaseMakesAClaimClaimableAgain) {
  crm::ManualClock clock(5'000'000);
  auto outbox = open(clock.as_clock());
  ASSERT_TRUE(outbox->append(make_event("A", 1)).get());
  ASSERT_EQ(outbox->claim(10, 3s)->size(), 1u);
  clock.advance(2999ms);
  EXPECT_TRUE(outbox->claim(10, 3s)->empty());
  clock.advance(1ms);
  EXPECT_EQ(outbox->claim(10, 3s)->size(), 1u);  // the crashed deliverer's claim came back
}

// With sync_full, concurrent appends share one fdatasync.
TEST_F(OutboxTest, GroupCommitBatchesConcurrentAppends) {
  auto opened = crm::Outbox::open({.path = db_path(), .sync_full = true});
  ASSERT_TRUE(opened);
  auto outbox = *std::move(opened);
  constexpr int kThreads = 8, kPerThread = 400;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<core::Status>> futures;
      for (int i = 0; i < kPerThread; ++i) {
        futures.push_back(outbox->append(make_event(crm_test::id_of("lead-", t), i)));
      }
      for (auto& f : futures) (f.get() ? ok : failed)++;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  const auto stats = outbox->stats();
  EXPECT_EQ(stats.appended, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.transactions, stats.appended / 4) << "group commit should batch appends";
  EXPECT_GT(stats.transactions, 0u);
  EXPECT_EQ(outbox->depth(), kThreads * kPerThread);
  auto counts = outbox->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending, kThreads * kPerThread);
}

TEST_F(OutboxTest, CallbackRunsAfterCommitAndEventsSurviveReopen) {
  std::vector<std::string> committed;
  {
    auto outbox = open();
    std::mutex mu;
    std::condition_variable cv;
    for (int i = 0; i < 50; ++i) {
      auto e = make_event(crm_test::id_of("L", i % 5), i);
      const std::string id = e.event_id;
      outbox->append(std::move(e), [&, id](core::Status st) {
        ASSERT_TRUE(st);
        std::lock_guard lock(mu);
        committed.push_back(id);
        cv.notify_all();
      });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return committed.size() == 50; });
  }
  auto outbox = open();
  EXPECT_EQ(outbox->depth(), 50);
  auto pending = outbox->list(crm::EventState::kPending, 100);
  ASSERT_TRUE(pending);
  std::set<std::string> stored;
  for (const auto& e : *pending) stored.insert(e.event_id);
  for (const auto& id : committed) EXPECT_TRUE(stored.count(id)) << id;
}

TEST_F(OutboxTest, RefusesInvalidEventsThroughTheCallback) {
  auto outbox = open();
  auto e = make_event("L", 1);
  e.reasons[0].value = "ravi.canary@example.com";
  auto st = outbox->append(std::move(e)).get();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "pii_in_event");
  EXPECT_EQ(outbox->depth(), 0);
  EXPECT_EQ(outbox->stats().refused, 1u);
}

TEST_F(OutboxTest, CancelLeadDeletesOnlyItsPendingEvents) {
  auto outbox = open();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox->append(make_event("W", i)).get());
  ASSERT_TRUE(outbox->append(make_event("K", 9)).get());
  auto first = outbox->claim(1, 60s);
  ASSERT_TRUE(first);
  ASSERT_TRUE(outbox->ack({(*first)[0].seq}, "http://crm/"));  // W's first event delivered
  auto n = outbox->cancel_lead("W");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(outbox->depth(), 1);
  auto rec = outbox->record_for_lead("W");
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->pending.empty());
  EXPECT_EQ(rec->delivered.size(), 1u);  // history stays until erasure or retention
  std::promise<core::Result<int64_t>> p;
  outbox->cancel_lead("K", [&p](core::Result<int64_t> r) { p.set_value(std::move(r)); });
  auto k = p.get_future().get();
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, 1);
}

TEST_F(OutboxTest, EraseLeadRemovesEveryTraceFromTheFiles) {
  auto outbox = open();
  const std::string lead = "LEAD-ERASE-7f3a9c";
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(outbox->append(make_event(lead, i)).get());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(outbox->append(make_event(crm_test::id_of("other-", i), i)).get());
  auto c = outbox->claim(100, 60s);
  ASSERT_TRUE(c);
  // First event of the lead delivered, second dead-lettered, two pending.
  ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm/"));
  auto c2 = outbox->claim(1, 60s);
  ASSERT_TRUE(c2 && c2->size() == 1 && (*c2)[0].lead_id == lead);
  ASSERT_TRUE(outbox->dead_letter((*c2)[0].seq, 1, "http_400", 400));
  auto erased = outbox->erase_lead(lead);
  ASSERT_TRUE(erased);
  EXPECT_EQ(erased->pending, 2);
  EXPECT_EQ(erased->delivered, 1);
  EXPECT_EQ(erased->dead_letter, 1);
  auto rec = outbox->record_for_lead(lead);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->pending.empty() && rec->delivered.empty() && rec->dead_letter.empty());
  std::string all;
  for (const auto& f : outbox_files()) {
    const auto bytes = crm_test::read_bytes(f);
    EXPECT_EQ(bytes.find(lead), std::string::npos) << "lead id left in " << f;
    all += bytes;
  }
  EXPECT_EQ(outbox->log_files().size(), 2u);  // one segment and the append ring
  EXPECT_NE(all.find("other-3"), std::string::npos);  // other leads' events are still there
}

TEST_F(OutboxTest, RetentionPurgesOnlyOldDeliveredEvents) {
  crm::ManualClock clock(1'700'000'000'000);
  auto outbox = open(clock.as_clock());
  ASSERT_TRUE(outbox->append(make_event("old", 1)).get());
  auto c = outbox->claim(10, 60s);
  ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm/"));
  clock.advance(std::chrono::hours(24 * 20));
  ASSERT_TRUE(outbox->append(make_event("new", 2)).get());
  c = outbox->claim(10, 60s);
  ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm/"));
  clock.advance(std::chrono::hours(24 * 11));  // old: 31 days ago, new: 11 days ago
  auto n = outbox->purge_delivered_older_than(std::chrono::hours(24 * 30));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_TRUE(outbox->record_for_lead("old")->delivered.empty());
  EXPECT_EQ(outbox->record_for_lead("new")->delivered.size(), 1u);
  EXPECT_EQ(crm_test::read_bytes(db_path()).find("\"old\""), std::string::npos);
}

TEST_F(OutboxTest, DeadLettersCanBeListedRetriedInOrderAndPurged) {
  crm::ManualClock clock(1'700'000'000'000);
  auto outbox = open(clock.as_clock());
  auto e1 = make_event("D", 1), e2 = make_event("D", 2), e3 = make_event("E", 3);
  for (auto* e : {&e1, &e2, &e3}) ASSERT_TRUE(outbox->append(*e).get());
  auto c = outbox->claim(10, 60s);  // e1, e3
  ASSERT_EQ(c->size(), 2u);
  ASSERT_TRUE(outbox->dead_letter((*c)[0].seq, 10, "http_503", 503));
  ASSERT_TRUE(outbox->dead_letter((*c)[1].seq, 1, "http_410", 410));
  auto dead = outbox->list(crm::EventState::kDeadLetter, 10);
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ((*dead)[0].event_id, e1.event_id);
  EXPECT_EQ((*dead)[0].last_error, "http_503");
  EXPECT_EQ((*dead)[0].attempts, 10);
  EXPECT_EQ((*dead)[1].last_status, 410);
  // Retrying e1 puts it back ahead of e2 (original order for lead D), attempts reset.
  auto moved = outbox->retry_dead_letters(e1.event_id);
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, 1);
  clock.advance(61s);
  auto again = outbox->claim(10, 60s);
  ASSERT_TRUE(again);
  EXPECT_EQ(ids(*again), (std::vector<std::string>{e1.event_id}));
  EXPECT_EQ((*again)[0].attempts, 0);
  clock.advance(std::chrono::hours(48));
  auto purged = outbox->purge_dead_letters(std::chrono::hours(24));
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(outbox->counts()->dead_letter, 0);
}

TEST_F(OutboxTest, LeadRecordJsonIsValidAndCarriesTheEvents) {
  auto outbox = open();
  ASSERT_TRUE(outbox->append(make_event("R", 42)).get());
  auto rec = outbox->record_for_lead("R");
  ASSERT_TRUE(rec);
  std::string out;
  core::JsonWriter w(out);
  crm::write_lead_record_json(*rec, w);
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  ASSERT_FALSE(parser.parse(out).get(el)) << out;
  EXPECT_EQ(std::string_view(el["lead_id"]), "R");
  simdjson::dom::array pending = el["pending"];
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(std::string_view(pending.at(0)["state"]), "pending");
  EXPECT_EQ(int64_t(pending.at(0)["event"]["score"]), 42);
}

// PII canaries: a lead as the HTTP layer receives it, with personal data in every field it
// could carry. Only the scored, non-personal fields can become an Event (by type), and a reason
// value smuggling contact data is refused. Then no canary is in any byte of the files.
TEST_F(OutboxTest, PiiCanariesNeverReachTheOutboxFiles) {
  struct IncomingLead {
    std::string lead_id = "L-canary-1";
    std::string name = "Canaryname Zyxwvutsr";
    std::string phone = "+91 98111 22333";
    std::string email = "canary.zyx@example.org";
    std::string notes = "call me on 9811122333 or canary.zyx@example.org";
    std::string pan = "ABCPZ1234Q";
  } lead;
  const std::vector<std::string> canaries = {"Canaryname", "Zyxwvutsr", "98111", "9811122333",
                                             "canary.zyx", "example.org", "ABCPZ1234Q"};
  auto outbox = open();
  for (int i = 0; i < 30; ++i) {
    crm::Event e = make_event(lead.lead_id, i);
    ASSERT_TRUE(outbox->append(e).get());
    e.event_id = crm::new_event_id();
    e.reasons[0] = {"notes", lead.notes.substr(11, 10), 0.1};  // a phone slipped into a reason
    EXPECT_FALSE(outbox->append(e).get());
    e.reasons[0] = {"email", lead.email, 0.1};
    EXPECT_FALSE(outbox->append(e).get());
  }
  auto c = outbox->claim(5, 60s);
  ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm.example/hook"));
  const auto files = outbox_files();
  ASSERT_GE(files.size(), 4u);  // database, WAL, shm, log segment (and its lock)
  for (const auto& f : files) {
    const auto bytes = crm_test::read_bytes(f);
    for (const auto& canary : canaries) {
      EXPECT_EQ(bytes.find(canary), std::string::npos) << canary << " in " << f;
    }
  }
  // Positive controls: the delivered event is in SQLite, the pending ones in the log (the
  // claim drained the append ring into it).
  EXPECT_NE(crm_test::read_bytes(db_path() + "-wal").find(lead.lead_id), std::string::npos);
  ASSERT_EQ(outbox->log_files().size(), 2u);  // one segment, then the ring
  EXPECT_NE(crm_test::read_bytes(outbox->log_files()[0]).find(lead.lead_id), std::string::npos);
}

TEST_F(OutboxTest, OpenCreatesTheDataDirectory) {
  auto o = crm::Outbox::open({.path = (dir_ / "var" / "data" / "outbox.sqlite").string()});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "var" / "data" / "outbox.sqlite"));
  auto bad = crm::Outbox::open({.path = "/proc/no/such/outbox.sqlite"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "outbox_open_failed");
}

TEST_F(OutboxTest, EventsSurviveCloseAndReopen) {
  auto outbox = open();
  ASSERT_TRUE(outbox->append(make_event("X", 1)).get());
  outbox.reset();
  outbox = open();
  EXPECT_EQ(outbox->depth(), 1);
}

// ---- the event log --------------------------------------------------------------------------

// A torn last record (power loss mid-write) is cut at open; every complete event is kept and
// appends continue after it, surviving the next reopen too.
TEST_F(OutboxTest, LogCutsATornTailAndKeepsEveryCompleteEvent) {
  std::vector<std::string> ids;
  std::string segment;
  {
    auto outbox = open();
    for (int i = 0; i < 5; ++i) {
      auto e = make_event(crm_test::id_of("T", i % 2), i);
      ids.push_back(e.event_id);
      ASSERT_TRUE(outbox->append(std::move(e)).get());
    }
    segment = outbox->log_files().at(0);
  }
  const auto size = std::filesystem::file_size(segment);
  {
    // Half of a copy of the last record: a valid header, a short payload.
    const auto bytes = crm_test::read_bytes(segment);
    const auto last = bytes.rfind("LEV1");
    ASSERT_NE(last, std::string::npos);
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    out << bytes.substr(last, (bytes.size() - last) / 2);
  }
  ASSERT_GT(std::filesystem::file_size(segment), size);
  {
    auto outbox = open();
    EXPECT_EQ(std::filesystem::file_size(segment), size);
    EXPECT_EQ(outbox->depth(), 5);
    auto e = make_event("T-after", 9);
    ids.push_back(e.event_id);
    ASSERT_TRUE(outbox->append(std::move(e)).get());
  }
  auto outbox = open();
  auto pending = outbox->list(crm::EventState::kPending, 100);
  ASSERT_TRUE(pending);
  std::vector<std::string> got;
  for (const auto& e : *pending) got.push_back(e.event_id);
  EXPECT_EQ(got, ids);
}

// Finished events leave the log: their records are zeroed at once, and segments with nothing
// undelivered left are deleted. Seqs keep growing across a restart with an empty log.
TEST_F(OutboxTest, FinishedEventsLeaveNoBytesInTheLogAndEmptySegmentsGo) {
  int64_t last_seq = 0;
  {
    auto opened = crm::Outbox::open({.path = db_path(), .segment_bytes = 4096});
    ASSERT_TRUE(opened);
    auto outbox = *std::move(opened);
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) {
      auto e = make_event(crm_test::id_of("F", i), i);
      ids.push_back(e.event_id);
      ASSERT_TRUE(outbox->append(std::move(e)).get());
      ASSERT_TRUE(outbox->counts());  // drains the append ring: one record per log write
    }
    // ~260-byte records: 40 fill three 4 KB segments (plus the ring's file).
    EXPECT_GE(outbox->log_files().size(), 4u) << "4 KB segments should have rotated";
    auto c = outbox->claim(100, 60s);
    ASSERT_TRUE(c);
    ASSERT_EQ(c->size(), 40u);
    std::vector<int64_t> seqs;
    for (const auto& e : *c) seqs.push_back(e.seq);
    last_seq = seqs.back();
    ASSERT_TRUE(outbox->ack(std::vector<int64_t>(seqs.begin(), seqs.begin() + 39), "http://crm/"));
    ASSERT_TRUE(outbox->dead_letter(seqs.back(), 3, "http_400", 400));
    ASSERT_EQ(outbox->log_files().size(), 2u) << "only the segment being appended to is left";
    const auto bytes =
        crm_test::read_bytes(outbox->log_files()[0]) + crm_test::read_bytes(outbox->log_files()[1]);
    for (const auto& id : ids) EXPECT_EQ(bytes.find(id), std::string::npos) << id;
    EXPECT_EQ(bytes.find("\"F"), std::string::npos);
  }
  auto outbox = open();
  EXPECT_EQ(outbox->depth(), 0);
  ASSERT_TRUE(outbox->append(make_event("G", 1)).get());
  auto c = outbox->claim(1, 60s);
  ASSERT_TRUE(c && c->size() == 1);
  EXPECT_GT((*c)[0].seq, last_seq);
}

// A failed attempt's state is written into the event's record: attempts, next attempt and the
// error survive a restart (so dead-lettering after N attempts still happens).
TEST_F(OutboxTest, FailedAttemptStateSurvivesRestart) {
  crm::ManualClock clock(2'000'000);
  {
    auto outbox = open(clock.as_clock());
    ASSERT_TRUE(outbox->append(make_event("S", 1)).get());
    auto c = outbox->claim(1, 60s);
    ASSERT_TRUE(c && c->size() == 1);
    ASSERT_TRUE(outbox->reschedule((*c)[0].seq, 3, clock.now() + 5000, "http_503", 503));
  }
  auto outbox = open(clock.as_clock());
  auto pending = outbox->list(crm::EventState::kPending, 10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].attempts, 3);
  EXPECT_EQ((*pending)[0].next_attempt_at_ms, clock.now() + 5000);
  EXPECT_EQ((*pending)[0].last_error, "http_503");
  EXPECT_EQ((*pending)[0].last_status, 503);
  EXPECT_TRUE(outbox->claim(1, 60s)->empty());
  clock.advance(5s);
  auto c = outbox->claim(1, 60s);
  ASSERT_TRUE(c && c->size() == 1);
  EXPECT_EQ((*c)[0].attempts, 3);
}

// A crash between committing a delivery to SQLite and zeroing the log record must not send
// the event again: recovery finds it finished and drops the record.
TEST_F(OutboxTest, RecoverySkipsEventsSqliteAlreadyFinished) {
  int64_t seq = 0;
  std::string body;
  {
    auto outbox = open();
    ASSERT_TRUE(outbox->append(make_event("K", 1)).get());
    ASSERT_TRUE(outbox->append(make_event("K2", 2)).get());
    auto c = outbox->claim(1, 60s);
    ASSERT_TRUE(c && c->size() == 1);
    seq = (*c)[0].seq;
    body = (*c)[0].body;
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    const std::string sql =
        "INSERT INTO delivered(seq, event_id, lead_id, body, created_at, attempts, delivered_at, "
        "recipient) VALUES(" + std::to_string(seq) + ", 'x', 'K', '{}', 1, 1, 1, 'http://crm/')";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto outbox = open();
  EXPECT_EQ(outbox->depth(), 1);
  auto c = outbox->claim(10, 60s);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].lead_id, "K2");
  EXPECT_EQ(crm_test::read_bytes(outbox->log_files().at(0)).find(body), std::string::npos);
}

// One process owns an outbox. A second one (the CLI while the server runs) opens it as a
// reader: it lists what is pending and replays dead letters, which the owner picks up.
TEST_F(OutboxTest, SecondProcessIsAReaderAndItsReplayReachesTheOwner) {
  auto owner = crm::Outbox::open({.path = db_path(), .inbox_poll = 20ms});
  ASSERT_TRUE(owner);
  auto& o = **owner;
  auto busy = crm::Outbox::open({.path = db_path()});
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, "outbox_busy");

  auto dead = make_event("R1", 1);
  ASSERT_TRUE(o.append(dead).get());
  ASSERT_TRUE(o.append(make_event("R2", 2)).get());
  auto c = o.claim(1, 60s);
  ASSERT_TRUE(c && c->size() == 1);
  ASSERT_TRUE(o.dead_letter((*c)[0].seq, 10, "http_503", 503));

  auto reader = crm::Outbox::open({.path = db_path(), .allow_reader = true});
  ASSERT_TRUE(reader) << reader.error().message;
  auto& r = **reader;
  auto counts = r.counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending, 1);
  EXPECT_EQ(counts->dead_letter, 1);
  auto pending = r.list(crm::EventState::kPending, 10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].lead_id, "R2");
  EXPECT_NE((*pending)[0].body.find("\"lead_id\":\"R2\""), std::string::npos);
  for (auto st : {r.append(make_event("R3", 3)).get(), core::Status(r.cancel_lead("R2").map([](int64_t) {})),
                  core::Status(r.erase_lead("R2").map([](crm::EraseCounts) {}))}) {
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "outbox_busy");
  }
  auto moved = r.retry_dead_letters();
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, 1);
  // The owner moves the replayed event from the inbox into its log at its next poll.
  bool claimed = false;
  for (int i = 0; i < 500 && !claimed; ++i) {
    auto again = o.claim(10, 60s);
    ASSERT_TRUE(again);
    for (const auto& e : *again) claimed |= e.event_id == dead.event_id;
    if (!claimed) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(claimed);
  EXPECT_EQ(o.depth(), 2);
}

// One lead with many queued events (its queue is compacted as the head advances): they are
// claimed strictly one at a time and in order, and a replayed dead letter goes back in front.
TEST_F(OutboxTest, ALongLeadQueueDeliversInOrderOneAtATime) {
  crm::ManualClock clock(3'000'000);
  auto outbox = open(clock.as_clock());
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    auto e = make_event("ONE", i);
    ids.push_back(e.event_id);
    ASSERT_TRUE(outbox->append(std::move(e)).get());
  }
  std::vector<std::string> got;
  for (int i = 0; i < 60; ++i) {
    auto c = outbox->claim(10, 60s);
    ASSERT_TRUE(c);
    ASSERT_EQ(c->size(), 1u) << "only the lead's head may be in flight";
    got.push_back((*c)[0].event_id);
    if (i == 30) {
      ASSERT_TRUE(outbox->dead_letter((*c)[0].seq, 1, "http_400", 400));
      auto moved = outbox->retry_dead_letters((*c)[0].event_id);
      ASSERT_TRUE(moved && *moved == 1);
      auto again = outbox->claim(10, 60s);
      ASSERT_TRUE(again && again->size() == 1);
      EXPECT_EQ((*again)[0].event_id, ids[30]) << "the replayed event is the lead's head again";
      ASSERT_TRUE(outbox->ack({(*again)[0].seq}, "http://crm/"));
      continue;
    }
    ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm/"));
  }
  EXPECT_EQ(got, ids);
  EXPECT_EQ(outbox->depth(), 0);
  EXPECT_TRUE(outbox->claim(10, 60s)->empty());
}

TEST_F(OutboxTest, RefusesAppendsBeyondMaxQueued) {
  auto opened = crm::Outbox::open({.path = db_path(), .max_queued = 3});
  ASSERT_TRUE(opened);
  auto outbox = *std::move(opened);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox->append(make_event("Q", i)).get());
  auto st = outbox->append(make_event("Q", 4)).get();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "outbox_overloaded");
  auto c = outbox->claim(1, 60s);
  ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm/"));
  EXPECT_TRUE(outbox->append(make_event("Q", 5)).get());
}

// Records hold the event in binary; what the CRM gets, listings show and SQLite keeps is
// exactly write_event_json's webhook JSON, whatever the fields hold.
TEST_F(OutboxTest, StoredEventsRenderTheWebhookJsonExactly) {
  std::vector<crm::Event> events;
  events.push_back(make_event("J-1", 1));
  events.back().reasons.clear();
  events.push_back(make_event("J-2", 99));
  events.back().reasons[0].value = "Andheri \"West\" \\ 2BHK\t\xE2\x82\xB9" "1.2 cr";
  events.back().intent_score = 0.123456789012345;
  events.back().reasons[1].impact = -1e-300;
  events.push_back(make_event("J-3", 50));
  events.back().model_version = std::string(128, 'm');
  events.back().grade = "B+";
  events.back().reasons.clear();
  for (int i = 0; i < 32; ++i) {
    events.back().reasons.push_back({std::string(64, 'f'), std::string(64, 'v'), i * 0.25});
  }
  std::map<std::string, std::string> want;  // event id -> JSON
  auto outbox = open();
  for (const auto& e : events) {
    crm::write_event_json(e, want[e.event_id]);
    ASSERT_TRUE(outbox->append(e).get());
  }
  auto c = outbox->claim(10, 60s);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), events.size());
  for (const auto& e : *c) EXPECT_EQ(e.body, want[e.event_id]);
  auto pending = outbox->list(crm::EventState::kPending, 10);
  ASSERT_TRUE(pending);
  for (const auto& e : *pending) EXPECT_EQ(e.body, want[e.event_id]);
  // Finished events keep the JSON in SQLite; a replayed dead letter goes back into the log
  // with that JSON as its body and comes out the same.
  ASSERT_TRUE(outbox->ack({(*c)[0].seq}, "http://crm/"));
  ASSERT_TRUE(outbox->dead_letter((*c)[1].seq, 1, "http_400", 400));
  auto delivered = outbox->list(crm::EventState::kDelivered, 10);
  ASSERT_TRUE(delivered && delivered->size() == 1);
  EXPECT_EQ((*delivered)[0].body, want[(*c)[0].event_id]);
  auto dead = outbox->list(crm::EventState::kDeadLetter, 10);
  ASSERT_TRUE(dead && dead->size() == 1);
  EXPECT_EQ((*dead)[0].body, want[(*c)[1].event_id]);
  ASSERT_TRUE(outbox->retry_dead_letters());
  auto again = outbox->claim(10, 60s);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].body, want[(*c)[1].event_id]);
}

TEST(EventBody, ADamagedBinaryBodyIsRefusedAndJsonPassesThrough) {
  const auto e = make_event("D-1", 7);
  std::string body;
  crm::detail::write_event_body(e, body);
  EXPECT_LT(body.size(), 120u) << "binary, not JSON";
  std::string whole = body;
  ASSERT_TRUE(crm::detail::render_event_body(whole, e.event_id, e.lead_id));
  std::string json;
  crm::write_event_json(e, json);
  EXPECT_EQ(whole, json);
  for (size_t cut = 1; cut < body.size(); ++cut) {
    std::string part = body.substr(0, cut);
    EXPECT_FALSE(crm::detail::render_event_body(part, e.event_id, e.lead_id)) << cut;
  }
  std::string longer = body + "x";
  EXPECT_FALSE(crm::detail::render_event_body(longer, e.event_id, e.lead_id));
  std::string old_json = R"({"event_id":"E","type":"lead.scored"})";
  ASSERT_TRUE(crm::detail::render_event_body(old_json, "E", "L"));
  EXPECT_EQ(old_json, R"({"event_id":"E","type":"lead.scored"})");
}

// ---- the append ring: what every append without sync_full goes through ----------------------

// Collects appends' outcomes; wait() fails the test instead of hanging.
struct Outcomes {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> ok_ids;  // in callback order
  std::vector<std::string> errors;
  crm::Outbox::Callback track(const std::string& id) {
    return [this, id](core::Status st) {
      std::lock_guard lock(mu);
      if (st) {
        ok_ids.push_back(id);
      } else {
        errors.push_back(st.error().code);
      }
      cv.notify_all();
    };
  }
  size_t done() {
    std::lock_guard lock(mu);
    return ok_ids.size() + errors.size();
  }
  bool wait(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 30s, [&] { return ok_ids.size() + errors.size() >= n; });
  }
};

// A drainer that never ticks on its own: events stay in the ring until something drains it
// (a claim, a listing, privacy, a full ring, shutdown, the next open).
constexpr auto kNoTick = std::chrono::milliseconds(24 * 3600 * 1000);

class RingTest : public OutboxTest {
 protected:
  std::unique_ptr<crm::Outbox> open_ring(uint64_t ring_bytes = 16ull << 20,
                                         std::chrono::milliseconds interval = kNoTick,
                                         size_t max_queued = 1'000'000) {
    auto o = crm::Outbox::open({.path = db_path(),
                                .max_queued = max_queued,
                                .ring_bytes = ring_bytes,
                                .ring_drain_interval = interval});
    EXPECT_TRUE(o) << (o ? "" : o.error().message);
    return o ? *std::move(o) : nullptr;
  }
  std::string ring_path() const { return db_path() + "-log.ring"; }
  std::string segments_bytes() const {
    std::string all;
    for (const auto& f : outbox_files()) {
      if (f != ring_path()) all += crm_test::read_bytes(f);
    }
    return all;
  }
};

TEST_F(RingTest, AppendsAreAcknowledgedAtOnceAndDrainedInOrder) {
  std::vector<std::string> appended;
  {
    auto outbox = open_ring();
    Outcomes out;
    for (int i = 0; i < 6; ++i) {
      auto e = make_event(i % 2 ? "ODD" : "EVEN", i);
      appended.push_back(e.event_id);
      outbox->append(std::move(e), out.track(appended.back()));
      EXPECT_EQ(out.done(), static_cast<size_t>(i + 1)) << "acknowledged before append returns";
    }
    EXPECT_EQ(out.ok_ids, appended);
    EXPECT_EQ(outbox->depth(), 6);
    // In the ring (page cache), not yet in a log segment.
    EXPECT_NE(crm_test::read_bytes(ring_path()).find(appended[0]), std::string::npos);
    EXPECT_EQ(segments_bytes().find(appended[0]), std::string::npos);
    // A claim drains first: per lead, in append order (EVEN's head is event 0, ODD's event 1).
    auto c = outbox->claim(10, 60s);
    ASSERT_TRUE(c);
    EXPECT_EQ(ids(*c), (std::vector<std::string>{appended[0], appended[1]}));
    EXPECT_EQ(outbox->stats().transactions, 1u) << "one log write for the drained batch";
    // Drained events leave no byte in the ring.
    const auto ring = crm_test::read_bytes(ring_path());
    for (const auto& id : appended) EXPECT_EQ(ring.find(id), std::string::npos);
    EXPECT_NE(segments_bytes().find(appended[5]), std::string::npos);
  }
  auto outbox = open_ring();
  auto pending = outbox->list(crm::EventState::kPending, 10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 6u);
  for (size_t i = 0; i < appended.size(); ++i) EXPECT_EQ((*pending)[i].event_id, appended[i]);
}

TEST_F(RingTest, TheDrainerMovesEventsWithoutBeingAsked) {
  auto outbox = open_ring(16ull << 20, std::chrono::milliseconds(5));
  std::atomic<int> woken{0};
  outbox->set_commit_listener([&] { ++woken; });
  // Appends an event and waits (up to 3 s) for it to reach a log segment on its own.
  auto drained_unasked = [&](const std::string& lead) {
    auto e = make_event(lead, 1);
    const std::string id = e.event_id;
    EXPECT_TRUE(outbox->append(std::move(e)).get());
    for (int i = 0; i < 3000 && segments_bytes().find(id) == std::string::npos; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    return segments_bytes().find(id) != std::string::npos;
  };
  EXPECT_TRUE(drained_unasked("TICK")) << "not drained within 3 s";
  EXPECT_GE(woken.load(), 1) << "the deliverer is told the lead has a deliverable event";
  // After ~100 ms idle the drainer sleeps; an append wakes it.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(drained_unasked("TICK2")) << "the sleeping drainer was not woken";
}

TEST_F(RingTest, AppendRefusesABadEventAtOnceAndKeepsTheRest) {
  auto outbox = open_ring();
  Outcomes out;
  auto bad = make_event("L", 1);
  bad.reasons[0].value = "ravi.canary@example.com";
  outbox->append(std::move(bad), out.track("bad"));
  outbox->append(make_event("L", 2), out.track("good"));
  ASSERT_EQ(out.done(), 2u);
  EXPECT_EQ(out.errors, (std::vector<std::string>{"pii_in_event"}));
  EXPECT_EQ(out.ok_ids, (std::vector<std::string>{"good"}));
  EXPECT_EQ(outbox->depth(), 1);
  EXPECT_EQ(crm_test::read_bytes(ring_path()).find("ravi.canary"), std::string::npos);
}

// The scoring path's form: no callback, the outcome is the return value.
TEST_F(RingTest, AppendNowCommitsBeforeItReturnsAndReportsRefusals) {
  {
    auto outbox = open_ring(16ull << 20, kNoTick, /*max_queued=*/2);
    ASSERT_TRUE(outbox->appends_at_once());
    auto first = make_event("N", 1);
    ASSERT_TRUE(outbox->append_now(first));
    EXPECT_EQ(outbox->depth(), 1);
    EXPECT_NE(crm_test::read_bytes(ring_path()).find(first.event_id), std::string::npos)
        << "in the ring when append_now returns";
    auto bad = make_event("N", 2);
    bad.reasons[0].value = "ravi.canary@example.com";
    auto st = outbox->append_now(bad);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "pii_in_event");
    ASSERT_TRUE(outbox->append_now(make_event("N", 3)));
    st = outbox->append_now(make_event("N", 4));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "outbox_overloaded");
    EXPECT_EQ(outbox->depth(), 2);
    EXPECT_EQ(outbox->stats().refused, 2u);
  }
  auto outbox = open_ring();
  auto pending = outbox->list(crm::EventState::kPending, 10);
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->size(), 2u) << "both accepted events survive a reopen";
  // With sync_full an append waits for its fdatasync: only the callback form can say when.
  outbox.reset();
  auto synced = crm::Outbox::open({.path = db_path(), .sync_full = true});
  ASSERT_TRUE(synced);
  EXPECT_FALSE((*synced)->appends_at_once());
  auto sst = (*synced)->append_now(make_event("N", 5));
  ASSERT_FALSE(sst);
  EXPECT_EQ(sst.error().code, "internal");
}

TEST_F(RingTest, AppendsBeyondMaxQueuedAreRefused) {
  auto outbox = open_ring(16ull << 20, kNoTick, /*max_queued=*/4);
  Outcomes out;
  for (int i = 0; i < 6; ++i) outbox->append(make_event("Q", i), out.track("q"));
  EXPECT_EQ(out.ok_ids.size(), 4u);
  EXPECT_EQ(out.errors, std::vector<std::string>(2, "outbox_overloaded"));
  EXPECT_EQ(outbox->depth(), 4);
  auto pending = outbox->list(crm::EventState::kPending, 10);
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->size(), 4u);
}

// A 256 KB ring holds ~1,000 of these events: the appenders drain it themselves, wrapping
// around several times (skip markers at the end of the file), and the order survives.
TEST_F(RingTest, AFullRingIsDrainedByItsAppendersAndWrapsAround) {
  std::vector<std::string> appended;
  {
    auto outbox = open_ring(256 << 10);
    for (int i = 0; i < 5000; ++i) {
      auto e = make_event(crm_test::id_of("lead-", i % 7), i);
      appended.push_back(e.event_id);
      ASSERT_TRUE(outbox->append(std::move(e)).get()) << i;
    }
    EXPECT_EQ(outbox->depth(), 5000);
    EXPECT_GE(outbox->stats().transactions, 3u) << "one drain each time the ring filled";
  }
  auto outbox = open_ring(256 << 10);
  auto pending = outbox->list(crm::EventState::kPending, 6000);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), appended.size());
  for (size_t i = 0; i < appended.size(); ++i) ASSERT_EQ((*pending)[i].event_id, appended[i]);
}

TEST_F(RingTest, WithdrawalErasureAndShutdownTakeRingEventsWithThem) {
  std::string kept_id;
  {
    auto outbox = open_ring();
    ASSERT_TRUE(outbox->append(make_event("WITHDRAWN", 1)).get());
    ASSERT_TRUE(outbox->append(make_event("ERASED-7f3a", 2)).get());
    auto kept = make_event("KEPT", 3);
    kept_id = kept.event_id;
    ASSERT_TRUE(outbox->append(std::move(kept)).get());
    // Nothing drained yet: withdrawal and erasure drain the ring, then remove.
    auto n = outbox->cancel_lead("WITHDRAWN");
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1);
    auto erased = outbox->erase_lead("ERASED-7f3a");
    ASSERT_TRUE(erased);
    EXPECT_EQ(erased->pending, 1);
    EXPECT_EQ(outbox->depth(), 1);
    for (const auto& f : outbox_files()) {
      EXPECT_EQ(crm_test::read_bytes(f).find("ERASED-7f3a"), std::string::npos) << f;
    }
    // Closing the outbox drains what is still in the ring.
    ASSERT_TRUE(outbox->append(make_event("KEPT", 4)).get());
  }
  EXPECT_EQ(crm_test::read_bytes(ring_path()).find("KEPT"), std::string::npos);
  auto outbox = open_ring();
  EXPECT_EQ(outbox->depth(), 2);
  auto rec = outbox->record_for_lead("KEPT");
  ASSERT_TRUE(rec);
  ASSERT_EQ(rec->pending.size(), 2u);
  EXPECT_EQ(rec->pending[0].event_id, kept_id);
}

// kill -9 with acknowledged events still in the ring: the next open moves them into the log.
// A crash after a drain wrote the log but before it zeroed the ring must not duplicate them.
TEST_F(RingTest, AKilledProcessLeavesItsAcknowledgedEventsForTheNextOpen) {
  constexpr int kEvents = 50;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto outbox = open_ring();
    std::string ids_line;
    for (int i = 0; i < kEvents; ++i) {
      auto e = make_event(crm_test::id_of("lead-", i % 5), i);
      const std::string id = e.event_id;
      if (!outbox || !outbox->append(std::move(e)).get()) _exit(3);
      ids_line += id + "\n";
    }
    (void)!write(fds[1], ids_line.data(), ids_line.size());
    close(fds[1]);
    kill(getpid(), SIGKILL);
  }
  close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  std::vector<std::string> acked;
  for (size_t at = 0, nl; (nl = got.find('\n', at)) != std::string::npos; at = nl + 1) {
    acked.push_back(got.substr(at, nl - at));
  }
  ASSERT_EQ(acked.size(), static_cast<size_t>(kEvents));
  const std::string ring_before = crm_test::read_bytes(ring_path());
  for (const auto& id : acked) {
    ASSERT_NE(ring_before.find(id), std::string::npos) << "acknowledged, so in the ring";
    ASSERT_EQ(segments_bytes().find(id), std::string::npos);
  }
  {
    auto outbox = open_ring();
    auto pending = outbox->list(crm::EventState::kPending, 100);
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), acked.size());
    for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ((*pending)[i].event_id, acked[i]);
    EXPECT_EQ(crm_test::read_bytes(ring_path()).find(acked[0]), std::string::npos)
        << "moved, so zeroed in the ring";
  }
  // Put the old ring back: as if the crash had come after the log write, before the zeroing.
  {
    std::ofstream out(ring_path(), std::ios::binary | std::ios::trunc);
    out << ring_before;
  }
  auto outbox = open_ring();
  EXPECT_EQ(outbox->depth(), kEvents) << "no event twice";
  auto counts = outbox->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending, kEvents);
  outbox.reset();

  // The next run uses --crm-sync-full (no ring): it moves what the ring holds into the log,
  // synced, and removes the ring file.
  const std::string other = db_path() + ".sync";
  {
    std::ofstream out(other + "-log.ring", std::ios::binary | std::ios::trunc);
    out << ring_before;
  }
  for (int run = 0; run < 2; ++run) {
    auto synced = crm::Outbox::open({.path = other, .sync_full = true});
    ASSERT_TRUE(synced) << synced.error().message;
    EXPECT_EQ((*synced)->depth(), kEvents) << "run " << run;
    auto listed = (*synced)->list(crm::EventState::kPending, 100);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), acked.size());
    for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ((*listed)[i].event_id, acked[i]);
    EXPECT_FALSE(std::filesystem::exists(other + "-log.ring")) << "no ring with sync_full";
  }
}

// The CLI opens a running server's outbox as a reader: it lists what the server acknowledged
// even before the drainer moved it into the log (here the drainer never ticks).
TEST_F(RingTest, AReaderSeesAcknowledgedEventsStillInTheRing) {
  auto owner = open_ring();
  std::vector<std::string> appended;
  for (int i = 0; i < 3; ++i) {
    auto e = make_event(i < 2 ? "RA" : "RB", i);
    appended.push_back(e.event_id);
    ASSERT_TRUE(owner->append_now(e));
  }
  ASSERT_EQ(segments_bytes().find(appended[0]), std::string::npos) << "still only in the ring";
  auto reader = crm::Outbox::open({.path = db_path(), .allow_reader = true});
  ASSERT_TRUE(reader) << reader.error().message;
  auto& r = **reader;
  auto listed = r.list(crm::EventState::kPending, 10);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), appended.size());
  for (size_t i = 0; i < appended.size(); ++i) EXPECT_EQ((*listed)[i].event_id, appended[i]);
  EXPECT_NE((*listed)[2].body.find("\"lead_id\":\"RB\""), std::string::npos);
  auto counts = r.counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending, 3);
  auto rec = r.record_for_lead("RA");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->pending.size(), 2u);
  // Drained, then one delivered: the reader sees the log's view, once per event.
  auto c = owner->claim(1, 60s);
  ASSERT_TRUE(c && c->size() == 1);
  ASSERT_TRUE(owner->ack({(*c)[0].seq}, "http://crm.test/hook"));
  ASSERT_TRUE(owner->append_now(make_event("RB", 9)));  // and one more in the ring
  listed = r.list(crm::EventState::kPending, 10);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].event_id, appended[1]);
  counts = r.counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending, 3);
  EXPECT_EQ(counts->delivered, 1);
}

// Threads append the way io threads do while another claims (so drains run concurrently with
// appends, and the small ring fills and wraps): every append is answered, none twice, and each
// lead's events stay in its thread's order.
TEST_F(RingTest, ConcurrentAppendersKeepEachLeadsOrder) {
  auto outbox = open_ring(256 << 10, std::chrono::milliseconds(1));
  constexpr int kThreads = 8, kPerThread = 500;
  Outcomes out;
  std::vector<std::vector<std::string>> appended(kThreads);  // per thread = per lead, in order
  std::atomic<bool> done{false};
  std::thread claimer([&] {
    while (!done) {
      ASSERT_TRUE(outbox->claim(5, 60s));
      std::this_thread::sleep_for(200us);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto e = make_event(crm_test::id_of("lead-", t), i);
        appended[t].push_back(e.event_id);
        outbox->append(std::move(e), out.track(appended[t].back()));
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  claimer.join();
  ASSERT_TRUE(out.wait(kThreads * kPerThread))
      << out.done() << " of " << kThreads * kPerThread << " answered";
  EXPECT_TRUE(out.errors.empty());
  EXPECT_EQ(outbox->stats().appended, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(outbox->depth(), kThreads * kPerThread);
  auto pending = outbox->list(crm::EventState::kPending, kThreads * kPerThread);
  ASSERT_TRUE(pending);
  std::map<std::string, std::vector<std::string>> by_lead;
  std::set<int64_t> seqs;
  for (const auto& e : *pending) {
    by_lead[e.lead_id].push_back(e.event_id);
    EXPECT_TRUE(seqs.insert(e.seq).second) << "seq " << e.seq << " twice";
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(by_lead[crm_test::id_of("lead-", t)], appended[t]) << "lead " << t;
  }
}


// ---- the outbox's index of undelivered events by seq -----------------------------------------

using SeqIndex = crm::detail::SeqIndex<int64_t>;

// Everything the index holds, in its iteration order.
std::vector<std::pair<int64_t, int64_t>> contents(const SeqIndex& idx) {
  std::vector<std::pair<int64_t, int64_t>> out;
  idx.for_each([&](int64_t seq, int64_t v) {
    out.emplace_back(seq, v);
    return true;
  });
  return out;
}

TEST(SeqIndex, BehavesLikeAMapUnderAnOutboxsMixOfOperations) {
  // Appends in order, deliveries mostly oldest first, some stuck events, replayed old seqs
  // and jumps: after every step the index and a std::map agree on every lookup and on order.
  std::mt19937_64 rng(7);
  SeqIndex idx;
  std::map<int64_t, int64_t> ref;
  int64_t next = 1;
  for (int step = 0; step < 100000; ++step) {
    const auto dice = rng() % 100;
    if (dice < 55) {  // append
      idx.insert(next, next * 3);
      ref.emplace(next, next * 3);
      ++next;
    } else if (dice < 90 && !ref.empty()) {  // deliver one of the oldest few (some stay stuck)
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng() % std::min<size_t>(ref.size(), 40)));
      if (it->first % 97 != 0) {
        EXPECT_TRUE(idx.erase(it->first));
        ref.erase(it);
      }
    } else if (dice < 93 && next > 10) {  // a replayed dead letter: an old seq comes back
      const int64_t old = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(next - 1));
      if (!ref.count(old)) {
        idx.insert(old, -old);
        ref.emplace(old, -old);
      }
    } else if (dice < 94) {  // seqs jump (events appended and finished elsewhere)
      next += 1 + static_cast<int64_t>(rng() % 100000);
    } else if (!ref.empty()) {  // erase something absent, then something random
      EXPECT_FALSE(idx.erase(next + 5));
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng() % ref.size()));
      EXPECT_TRUE(idx.erase(it->first));
      ref.erase(it);
    }
    ASSERT_EQ(idx.size(), ref.size()) << "step " << step;
    if (step % 997 == 0) {
      const std::vector<std::pair<int64_t, int64_t>> want(ref.begin(), ref.end());
      ASSERT_EQ(contents(idx), want) << "step " << step;
      for (int k = 0; k < 300; ++k) {
        const int64_t probe = static_cast<int64_t>(rng() % static_cast<uint64_t>(next + 3));
        const int64_t* v = idx.find(probe);
        auto it = ref.find(probe);
        ASSERT_EQ(v != nullptr, it != ref.end()) << "seq " << probe;
        if (v) {
          ASSERT_EQ(*v, it->second) << "seq " << probe;
        }
      }
    }
  }
  EXPECT_GT(idx.in_map(), 0u);  // stragglers and replayed seqs went through the map
}

TEST(SeqIndex, OneStuckEventDoesNotPinItsChunk) {
  // A lead whose CRM keeps failing: its one event stays while millions after it are
  // delivered. The chunks must not pile up behind it.
  SeqIndex idx;
  idx.insert(1, 1);
  for (int64_t seq = 2; seq < 2'000'000; ++seq) {
    idx.insert(seq, seq);
    if (seq > 51) idx.erase(seq - 50);  // delivered 50 appends later (not seq 1)
  }
  EXPECT_EQ(idx.size(), 51u);
  EXPECT_LE(idx.chunks(), 6u);
  EXPECT_EQ(idx.in_map(), 1u);
  ASSERT_NE(idx.find(1), nullptr);
  EXPECT_EQ(*idx.find(1), 1);
  EXPECT_EQ(contents(idx).front().first, 1);
  EXPECT_EQ(contents(idx).back().first, 1'999'999);
}

TEST(SeqIndex, AValueKeepsItsAddressWhileNewerOnesArrive) {
  // The outbox holds a reference to an event's state across appends of other events.
  SeqIndex idx;
  int64_t& first = idx.insert(100, 1);
  for (int64_t seq = 101; seq < 100 + 10 * SeqIndex::kChunk; ++seq) idx.insert(seq, seq);
  EXPECT_EQ(&first, idx.find(100));
  first = 42;
  EXPECT_EQ(idx.at(100), 42);
  EXPECT_THROW(idx.at(99), std::out_of_range);
}

}  // namespace
