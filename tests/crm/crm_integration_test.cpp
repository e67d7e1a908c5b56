// Integration tests: real receiver (in-process Beast server or the leadscore binary), real
// libcurl deliverer, real child processes killed with SIGKILL.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>

#include "crm/crm.h"
#include "test_util.h"

using namespace std::chrono_literals;
using crm_test::id_of;
using crm_test::make_event;
using crm_test::wait_for;

namespace {

constexpr const char* kSecret = "test-secret-4f1c";

struct HttpResult {
  long status = 0;
  std::string body;
};

size_t collect(char* p, size_t s, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, s * n);
  return s * n;
}

HttpResult post(const std::string& url, const std::string& body,
                const std::vector<std::string>& headers) {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_slist* h = nullptr;
  for (const auto& x : headers) h = curl_slist_append(h, x.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r;
}

std::vector<std::string> signed_headers(const std::string& body, int64_t ts,
                                        const std::string& key) {
  return {"Content-Type: application/json", "Idempotency-Key: " + key,
          "X-Leadscore-Timestamp: " + std::to_string(ts),
          "X-Leadscore-Signature: " + crm::sign(kSecret, ts, body)};
}

std::string url_of(const crm::Receiver& r) {
  return "http://127.0.0.1:" + std::to_string(r.port()) + "/hooks/leadscore";
}

// A port nothing listens on: bind an ephemeral one, then close it.
std::string dead_url() {
  crm::Receiver r({.secret = kSecret});
  EXPECT_TRUE(r.start());
  const std::string url = url_of(r);
  r.stop();
  return url;
}

class CrmIntegration : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = crm_test::temp_dir("integ"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string db() const { return (dir_ / "outbox.sqlite").string(); }
  std::unique_ptr<crm::Outbox> open(crm::Clock clock = crm::system_clock_ms) {
    auto o = crm::Outbox::open({.path = db(), .clock = std::move(clock)});
    EXPECT_TRUE(o) << (o ? "" : o.error().message);
    return o ? *std::move(o) : nullptr;
  }
  static crm::RetryPolicy fast_retry() {
    crm::RetryPolicy p;
    p.base = 10ms;
    p.cap = 100ms;
    return p;
  }
  std::filesystem::path dir_;
};

// ---- receiver --------------------------------------------------------------------------------

TEST_F(CrmIntegration, ReceiverVerifiesSignaturesAndTimestamps) {
  crm::Receiver receiver({.secret = kSecret});
  ASSERT_TRUE(receiver.start());
  std::string body;
  auto e = make_event("L-sig", 70);
  crm::write_event_json(e, body);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const auto url = url_of(receiver);

  auto tampered = body;
  tampered.replace(tampered.find("\"score\":70"), 10, "\"score\":99");
  auto r = post(url, tampered, signed_headers(body, now, e.event_id));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("\"code\":\"invalid_signature\""), std::string::npos) << r.body;

  r = post(url, body, signed_headers(body, now - 301, e.event_id));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("\"code\":\"timestamp_out_of_range\""), std::string::npos) << r.body;
  r = post(url, body, signed_headers(body, now + 3600, e.event_id));
  EXPECT_EQ(r.status, 401);

  r = post(url, body, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("missing_signature"), std::string::npos);
  EXPECT_EQ(receiver.events().size(), 0u);

  r = post(url, body, signed_headers(body, now, e.event_id));
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(receiver.events().size(), 1u);
  EXPECT_EQ(receiver.events()[0].event_id, e.event_id);
  EXPECT_EQ(receiver.events()[0].score, 70);
  EXPECT_EQ(receiver.rejected(), 4u);
}

TEST_F(CrmIntegration, ReceiverStoresADuplicateOnlyOnceAcrossRestarts) {
  const auto store = dir_ / "received.jsonl";
  std::string body;
  auto e = make_event("L-dup", 10);
  crm::write_event_json(e, body);
  {
    crm::Receiver receiver({.secret = kSecret, .store_path = store.string()});
    ASSERT_TRUE(receiver.start());
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    EXPECT_EQ(post(url_of(receiver), body, signed_headers(body, now, e.event_id)).status, 200);
    auto again = post(url_of(receiver), body, signed_headers(body, now, e.event_id));
    EXPECT_EQ(again.status, 200);
    EXPECT_NE(again.body.find("\"duplicates\":1"), std::string::npos) << again.body;
    EXPECT_EQ(receiver.events().size(), 1u);
    EXPECT_EQ(receiver.duplicates(), 1u);
  }
  crm::Receiver restarted({.secret = kSecret, .store_path = store.string()});
  ASSERT_TRUE(restarted.start());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_EQ(post(url_of(restarted), body, signed_headers(body, now, e.event_id)).status, 200);
  EXPECT_EQ(restarted.events().size(), 0u);
  EXPECT_EQ(restarted.duplicates(), 1u);
  restarted.stop();
  const auto stored = crm_test::read_bytes(store);
  EXPECT_EQ(std::count(stored.begin(), stored.end(), '\n'), 1);
  EXPECT_EQ(stored, body + "\n");
}

// ---- deliverer --------------------------------------------------------------------------------

TEST_F(CrmIntegration, DeliversSignedEventsToTheReceiver) {
  crm::Receiver receiver({.secret = kSecret});
  ASSERT_TRUE(receiver.start());
  auto outbox = open();
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret, .concurrency = 4});
  ASSERT_TRUE(deliverer.start());
  std::map<std::string, std::string> sent;  // event_id -> body
  for (int i = 0; i < 60; ++i) {
    auto e = make_event(id_of("lead-", i % 12), i);
    crm::write_event_json(e, sent[e.event_id]);
    ASSERT_TRUE(outbox->append(std::move(e)).get());
  }
  ASSERT_TRUE(wait_for([&] { return receiver.events().size() == 60 && outbox->depth() == 0; }));
  for (const auto& ev : receiver.events()) EXPECT_EQ(ev.body, sent.at(ev.event_id));
  EXPECT_EQ(receiver.rejected(), 0u);
  EXPECT_EQ(receiver.duplicates(), 0u);
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().delivered == 60; }));
  // The deliverer thread counts an ack's events as delivered, then observes their latencies
  // one by one: poll for the histogram too.
  EXPECT_TRUE(wait_for([&] { return deliverer.stats().latency_le.back() == 60u; }))
      << deliverer.stats().latency_le.back();
  EXPECT_FALSE(deliverer.stuck(1s));
  auto rec = outbox->record_for_lead("lead-3");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->delivered.size(), 5u);
  EXPECT_EQ(rec->delivered[0].recipient, url_of(receiver));
}

TEST_F(CrmIntegration, BatchedDeliverySendsJsonArrays) {
  crm::Receiver receiver({.secret = kSecret});
  ASSERT_TRUE(receiver.start());
  auto outbox = open();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(outbox->append(make_event(id_of("b-", i), i)).get());
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret,
                                     .concurrency = 2, .batch_size = 10});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(wait_for([&] { return receiver.events().size() == 40; }));
  EXPECT_LE(receiver.requests(), 8u);  // arrays of up to 10, not 40 single requests
  ASSERT_TRUE(wait_for([&] { return outbox->depth() == 0; }));
}

TEST_F(CrmIntegration, HonoursRetryAfter) {
  crm::Receiver receiver({.secret = kSecret, .fail_first = 1, .retry_after_seconds = 7});
  ASSERT_TRUE(receiver.start());
  crm::ManualClock clock(1'800'000'000'000);
  auto outbox = open(clock.as_clock());
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret,
                                     .clock = clock.as_clock(), .random = [] { return 0.5; },
                                     .idle_poll = 10ms});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(outbox->append(make_event("ra", 1)).get());
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().retried == 1; }));
  auto pending = outbox->list(crm::EventState::kPending, 10);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].next_attempt_at_ms, clock.now() + 7000);  // not the 250 ms backoff
  EXPECT_EQ((*pending)[0].last_error, "http_503");
  clock.advance(6999ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(receiver.requests(), 1u);
  clock.advance(1ms);
  ASSERT_TRUE(wait_for([&] { return receiver.events().size() == 1; }));
}

TEST_F(CrmIntegration, BackoffFollowsFullJitterScheduleThenDeadLetters) {
  crm::Receiver receiver({.secret = kSecret, .fail_first = 1000});
  ASSERT_TRUE(receiver.start());
  crm::ManualClock clock(1'800'000'000'000);
  auto outbox = open(clock.as_clock());
  crm::RetryPolicy policy;
  policy.base = 1000ms;
  policy.cap = 8000ms;
  policy.max_attempts = 6;
  // A scripted RNG: the jitter factor of each failure.
  const std::vector<double> draws = {0.5, 0.25, 0.9, 0.999, 0.1};
  std::atomic<size_t> next_draw{0};
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret, .retry = policy,
                                     .clock = clock.as_clock(),
                                     .random = [&] { return draws[next_draw++ % draws.size()]; },
                                     .idle_poll = 10ms});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(outbox->append(make_event("bo", 1)).get());
  for (int attempt = 1; attempt <= 5; ++attempt) {
    ASSERT_TRUE(wait_for([&] { return deliverer.stats().retried == static_cast<uint64_t>(attempt); }))
        << attempt;
    auto pending = outbox->list(crm::EventState::kPending, 10);
    ASSERT_EQ(pending->size(), 1u);
    const int64_t ceiling = std::min<int64_t>(8000, 1000LL << (attempt - 1));
    const int64_t delay = (*pending)[0].next_attempt_at_ms - clock.now();
    EXPECT_EQ(delay, static_cast<int64_t>(draws[static_cast<size_t>(attempt - 1)] * ceiling))
        << attempt;
    EXPECT_LE(delay, ceiling);
    EXPECT_EQ((*pending)[0].attempts, attempt);
    clock.advance(std::chrono::milliseconds(delay));
  }
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().dead_lettered == 1; }));
  auto dead = outbox->list(crm::EventState::kDeadLetter, 10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].attempts, 6);
  EXPECT_EQ((*dead)[0].last_status, 503);
  EXPECT_EQ(receiver.requests(), 6u);
  EXPECT_EQ(outbox->depth(), 0);
}

TEST_F(CrmIntegration, DeadLettersAnEventOlderThanMaxAgeAtItsNextFailure) {
  crm::Receiver receiver({.secret = kSecret, .fail_first = 1000});  // 503 every time
  ASSERT_TRUE(receiver.start());
  crm::ManualClock clock(1'800'000'000'000);
  auto outbox = open(clock.as_clock());
  crm::RetryPolicy policy;
  policy.base = 1000ms;
  policy.max_attempts = 100;  // far away: only the age can end it
  policy.max_age = 60s;
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret, .retry = policy,
                                     .clock = clock.as_clock(), .random = [] { return 0.5; },
                                     .idle_poll = 10ms});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(outbox->append(make_event("old", 1)).get());
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().retried == 1; }));
  clock.advance(30s);  // due again, not yet too old: retried
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().retried == 2; }));
  EXPECT_EQ(deliverer.stats().dead_lettered, 0u);
  clock.advance(31s);  // 61 s after the append: this failure is its last
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().dead_lettered == 1; }));
  EXPECT_EQ(deliverer.stats().retried, 2u);
  auto dead = outbox->list(crm::EventState::kDeadLetter, 10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].attempts, 3);
  EXPECT_EQ((*dead)[0].last_status, 503);
  EXPECT_EQ(outbox->depth(), 0);
}

TEST_F(CrmIntegration, DeadLettersImmediatelyOnA4xx) {
  crm::Receiver receiver({.secret = "a-different-secret"});  // answers 401 to our signatures
  ASSERT_TRUE(receiver.start());
  auto outbox = open();
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret});
  ASSERT_TRUE(deliverer.start());
  auto e = make_event("four", 1);
  ASSERT_TRUE(outbox->append(e).get());
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().dead_lettered == 1; }));
  auto rec = outbox->record_for_lead("four");
  ASSERT_EQ(rec->dead_letter.size(), 1u);
  EXPECT_EQ(rec->dead_letter[0].attempts, 1);
  EXPECT_EQ(rec->dead_letter[0].last_status, 401);
  EXPECT_EQ(rec->dead_letter[0].last_error, "http_401");
  EXPECT_EQ(deliverer.stats().retried, 0u);
}

TEST_F(CrmIntegration, DeadLettersAfterMaxAttemptsOnNetworkErrors) {
  auto outbox = open();
  crm::RetryPolicy p = fast_retry();
  p.max_attempts = 3;
  crm::Deliverer deliverer(*outbox, {.url = dead_url(), .secret = kSecret, .retry = p,
                                     .idle_poll = 10ms});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(outbox->append(make_event("net", 1)).get());
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().dead_lettered == 1; }));
  auto dead = outbox->list(crm::EventState::kDeadLetter, 10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].attempts, 3);
  EXPECT_EQ((*dead)[0].last_error.rfind("network: ", 0), 0u) << (*dead)[0].last_error;
  EXPECT_EQ(deliverer.stats().retried, 2u);
  EXPECT_TRUE(deliverer.stuck(0ms) == false);  // nothing waiting any more
}

// An unreachable CRM must not cost every event its attempts: after a streak of connection
// failures the deliverer pauses and probes with one request at a time, so an outage longer
// than the retry budget dead-letters nothing, and once the CRM is back everything arrives.
TEST_F(CrmIntegration, AnUnreachableCrmPausesDeliveryInsteadOfDeadLettering) {
  auto outbox = open();
  constexpr size_t kEvents = 200;
  for (size_t i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(outbox->append(make_event(id_of("down-", static_cast<int>(i)), 1)).get());
  }
  crm::Receiver probe({.secret = kSecret});  // a port nothing listens on once it stops
  ASSERT_TRUE(probe.start());
  const uint16_t port = probe.port();
  probe.stop();
  crm::RetryPolicy p = fast_retry();  // retries within 100 ms: 3 attempts each take < 1 s
  p.max_attempts = 3;
  crm::Deliverer deliverer(*outbox, {.url = "http://127.0.0.1:" + std::to_string(port) + "/h",
                                     .secret = kSecret, .concurrency = 4, .retry = p,
                                     .idle_poll = 10ms});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(wait_for([&] { return deliverer.stats().circuit_open; }));
  std::this_thread::sleep_for(2s);
  auto s = deliverer.stats();
  EXPECT_EQ(s.dead_lettered, 0u) << "an outage must not spend the events' attempts";
  EXPECT_TRUE(s.circuit_open);
  EXPECT_GE(s.requests, 8u);  // the streak that opened it
  EXPECT_LE(s.requests, 8u + 4u + 4u) << "the streak, those in flight, a few probes";
  // The CRM comes back on the same port: the next probe closes the breaker.
  crm::Receiver receiver({.port = port, .secret = kSecret});
  ASSERT_TRUE(receiver.start());
  ASSERT_TRUE(wait_for([&] { return receiver.events().size() == kEvents; }, 60s))
      << receiver.events().size();
  EXPECT_FALSE(deliverer.stats().circuit_open);
  EXPECT_EQ(deliverer.stats().dead_lettered, 0u);
}

TEST_F(CrmIntegration, DeliversInOrderPerLeadDespiteFailures) {
  // Every third request fails at first, with many requests in flight.
  crm::Receiver receiver({.secret = kSecret, .fail_first = 25});
  ASSERT_TRUE(receiver.start());
  auto outbox = open();
  std::map<std::string, std::vector<std::string>> expected;  // lead -> event ids in order
  for (int i = 0; i < 200; ++i) {
    auto e = make_event(id_of("ord-", i % 7), i);
    expected[e.lead_id].push_back(e.event_id);
    ASSERT_TRUE(outbox->append(std::move(e)).get());
  }
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret,
                                     .concurrency = 8, .retry = fast_retry(), .idle_poll = 10ms});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(wait_for([&] { return receiver.events().size() == 200; }, 60s));
  std::map<std::string, std::vector<std::string>> got;
  for (const auto& ev : receiver.events()) got[ev.lead_id].push_back(ev.event_id);
  EXPECT_EQ(got, expected);
  EXPECT_GE(deliverer.stats().retried, 25u);
}

TEST_F(CrmIntegration, SlowReceiverDoesNotBlockAppends) {
  crm::Receiver receiver({.secret = kSecret, .delay = 2000ms});
  ASSERT_TRUE(receiver.start());
  auto outbox = open();
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret, .concurrency = 2});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(outbox->append(make_event("slow", 0)).get());
  ASSERT_TRUE(wait_for([&] { return receiver.requests() >= 1; }));
  // While the CRM sits on a request, appends still commit promptly.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE(outbox->append(make_event(id_of("slow-", i), i)).get());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1900ms);
  EXPECT_LE(receiver.requests(), 2u);  // both connections are still waiting for answers
}

// ---- processes: durability and crash safety ---------------------------------------------------

TEST_F(CrmIntegration, AcknowledgedAppendsSurviveSigkill) {
  crm_test::Child child({CRM_CHILD_BIN, "append", db(), "100000"});
  std::vector<std::string> acked;
  while (acked.size() < 1500) {
    auto line = child.read_line();
    ASSERT_TRUE(line) << "child stopped early";
    acked.push_back(*line);
  }
  child.signal(SIGKILL);
  // Lines already in the pipe were acknowledged before the kill.
  while (auto line = child.read_line(2s)) {
    if (*line != "done") acked.push_back(*line);
  }
  child.wait();
  auto outbox = open();
  auto pending = outbox->list(crm::EventState::kPending, 1'000'000);
  ASSERT_TRUE(pending);
  std::set<std::string> stored;
  for (const auto& e : *pending) stored.insert(e.event_id);
  size_t missing = 0;
  for (const auto& id : acked) missing += stored.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged events";
  EXPECT_GE(stored.size(), acked.size());
}

// Append 10,000 events while the CRM is down (the appender also retries against the dead
// port), SIGKILL it midway; bring the receiver up, run a deliverer process and SIGKILL it while
// requests are in flight; finish with a fresh deliverer. Every acknowledged event must reach the
// receiver exactly once after its de-duplication.
TEST_F(CrmIntegration, CrashSafetyEndToEnd) {
  std::vector<std::string> acked;
  {
    crm_test::Child appender({CRM_CHILD_BIN, "append", db(), "10000", dead_url()});
    while (acked.size() < 5000) {
      auto line = appender.read_line();
      ASSERT_TRUE(line) << "appender stopped early";
      ASSERT_NE(*line, "done") << "appender finished before it was killed";
      acked.push_back(*line);
    }
    appender.signal(SIGKILL);
    while (auto line = appender.read_line(2s)) {
      if (*line != "done") acked.push_back(*line);
    }
    appender.wait();
  }
  const auto store = dir_ / "received.jsonl";
  crm::Receiver receiver({.secret = kSecret, .store_path = store.string()});
  ASSERT_TRUE(receiver.start());
  {
    crm_test::Child deliverer({CRM_CHILD_BIN, "deliver", db(), url_of(receiver), kSecret});
    ASSERT_TRUE(wait_for([&] { return receiver.events().size() >= acked.size() / 3; }, 60s));
    deliverer.signal(SIGKILL);
    deliverer.wait();
  }
  const size_t before_restart = receiver.events().size();
  auto outbox = open();
  crm::Deliverer deliverer(*outbox, {.url = url_of(receiver), .secret = kSecret, .concurrency = 8,
                                     .timeout = 2000ms, .retry = fast_retry(), .idle_poll = 50ms});
  ASSERT_TRUE(deliverer.start());
  ASSERT_TRUE(wait_for([&] { return outbox->depth() == 0; }, 120s)) << outbox->depth();
  deliverer.stop();
  receiver.stop();

  std::map<std::string, int> stored;
  std::ifstream in(store);
  std::string line;
  simdjson::dom::parser parser;
  while (std::getline(in, line)) {
    std::string_view id;
    ASSERT_FALSE(parser.parse(line)["event_id"].get_string().get(id)) << line;
    ++stored[std::string(id)];
  }
  size_t missing = 0, twice = 0;
  for (const auto& id : acked) missing += stored.count(id) == 0;
  for (const auto& [id, n] : stored) twice += n > 1;
  EXPECT_EQ(missing, 0u) << "acknowledged events never delivered";
  EXPECT_EQ(twice, 0u) << "events stored more than once";
  EXPECT_GE(stored.size(), acked.size());
  std::printf("crash test: %zu acknowledged, %zu delivered (%zu before the deliverer restart), "
              "%llu duplicate deliveries absorbed by the receiver\n",
              acked.size(), stored.size(), before_restart,
              static_cast<unsigned long long>(receiver.duplicates()));
}

// ---- the leadscore binary -------------------------------------------------------------------

TEST_F(CrmIntegration, CliReceiverAndOutboxCommands) {
  const auto store = dir_ / "cli.jsonl";
  crm_test::Child rx({LEADSCORE_BIN, "crm-receiver", "--port", "0", "--secret", kSecret,
                      "--store", store.string()});
  auto first = rx.read_line();
  ASSERT_TRUE(first);
  const auto at = first->rfind(':');
  ASSERT_NE(at, std::string::npos) << *first;
  const std::string url = "http://127.0.0.1:" + std::to_string(std::stoi(first->substr(at + 1)));
  std::vector<std::string> ids;
  {
    auto outbox = open();
    crm::Deliverer deliverer(*outbox, {.url = url, .secret = kSecret});
    ASSERT_TRUE(deliverer.start());
    for (int i = 0; i < 3; ++i) {
      auto e = make_event(id_of("cli-", i), 80 + i);
      ids.push_back(e.event_id);
      ASSERT_TRUE(outbox->append(std::move(e)).get());
    }
    std::string printed;  // three leads: delivered concurrently, in any order
    for (int i = 0; i < 3; ++i) {
      auto line = rx.read_line(10s);
      ASSERT_TRUE(line);
      EXPECT_NE(line->find(" grade=A score=8"), std::string::npos) << *line;
      printed += *line + "\n";
    }
    for (const auto& id : ids) {
      EXPECT_NE(printed.find("accepted event_id=" + id + " lead_id=cli-"), std::string::npos)
          << printed;
    }
    ASSERT_TRUE(wait_for([&] { return outbox->depth() == 0; }));
    deliverer.stop();
    // One dead letter for the retry/purge commands.
    ASSERT_TRUE(outbox->append(make_event("cli-dead", 5)).get());
    auto c = outbox->claim(1, 60s);
    ASSERT_TRUE(c && c->size() == 1);
    ASSERT_TRUE(outbox->dead_letter((*c)[0].seq, 10, "http_503", 503));
  }
  rx.signal(SIGTERM);
  EXPECT_EQ(rx.wait(), 0);
  EXPECT_EQ(std::count_if(ids.begin(), ids.end(),
                          [&](const std::string& id) {
                            return crm_test::read_bytes(store).find(id) != std::string::npos;
                          }),
            3);

  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), LEADSCORE_BIN);
    crm_test::Child c(args);
    std::string out;
    while (auto line = c.read_line(10s)) out += *line + "\n";
    const int status = c.wait();
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
  };
  auto [code, out] = run({"outbox", "list", "--outbox", db()});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("pending 0  delivered 3  dead_letter 1"), std::string::npos) << out;
  EXPECT_NE(out.find("lead=cli-dead grade=D score=5 attempts=10 error=http_503"),
            std::string::npos) << out;
  std::tie(code, out) = run({"outbox", "purge", "--outbox", db(), "--all-dead"});
  EXPECT_EQ(code, 2);  // needs --yes
  std::tie(code, out) = run({"outbox", "retry", "--outbox", db(), "--all"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("moved 1 dead letter(s)"), std::string::npos) << out;
  std::tie(code, out) = run({"outbox", "purge", "--outbox", db(), "--all-delivered", "--yes"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("purged 3 delivered"), std::string::npos) << out;
  std::tie(code, out) = run({"outbox", "list", "--outbox", db(), "--json", "--state", "pending"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("\"lead_id\":\"cli-dead\""), std::string::npos) << out;
}

// ---- docs/CRM.md verification snippets run for real ------------------------------------------

// Extracts the first fenced block of `lang` that follows `marker` in docs/CRM.md.
std::string doc_snippet(const std::string& lang, const std::string& marker) {
  const auto doc = crm_test::read_bytes(std::filesystem::path(LEADSCORE_SOURCE_DIR) / "docs/CRM.md");
  const auto m = doc.find(marker);
  if (m == std::string::npos) return {};
  const auto start = doc.find("```" + lang + "\n", m);
  if (start == std::string::npos) return {};
  const auto body = start + 4 + lang.size();
  return doc.substr(body, doc.find("```", body) - body);
}

class DocSnippets : public CrmIntegration, public ::testing::WithParamInterface<const char*> {};

TEST_P(DocSnippets, VerificationExampleAcceptsGoodAndRejectsBad) {
  const std::string lang = GetParam();
  const bool py = lang == "python";
  const std::string exe = py ? "/usr/bin/python3" : "/usr/bin/node";
  if (!std::filesystem::exists(exe)) GTEST_SKIP() << exe << " not installed";
  const std::string snippet = doc_snippet(lang, "<!-- verify-snippet -->");
  ASSERT_FALSE(snippet.empty()) << "no " << lang << " snippet in docs/CRM.md";
  // Harness: argv = secret, timestamp, signature, body file; prints ok/reject.
  const std::string harness =
      py ? "\nimport sys, time\n"
           "body = open(sys.argv[4], 'rb').read()\n"
           "print('ok' if verify(sys.argv[1], sys.argv[2], sys.argv[3], body) else 'reject')\n"
         : "\nconst fs = require('fs');\n"
           "const body = fs.readFileSync(process.argv[5]);\n"
           "console.log(verify(process.argv[2], process.argv[3], process.argv[4], body) ? 'ok' : "
           "'reject');\n";
  const auto script = dir_ / (py ? "verify.py" : "verify.js");
  std::ofstream(script) << snippet << harness;
  std::string body;
  crm::write_event_json(make_event("doc", 77), body);
  const auto body_file = dir_ / "body.json";
  std::ofstream(body_file, std::ios::binary) << body;
  const auto tampered_file = dir_ / "tampered.json";
  std::ofstream(tampered_file, std::ios::binary) << body.substr(0, body.size() - 1) << " }";
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto run = [&](int64_t ts, const std::string& sig, const std::filesystem::path& file) {
    crm_test::Child c({exe, script.string(), kSecret, std::to_string(ts), sig, file.string()});
    auto line = c.read_line(20s);
    c.wait();
    return line.value_or("<no output>");
  };
  EXPECT_EQ(run(now, crm::sign(kSecret, now, body), body_file), "ok");
  EXPECT_EQ(run(now, crm::sign(kSecret, now, body), tampered_file), "reject");
  EXPECT_EQ(run(now - 600, crm::sign(kSecret, now - 600, body), body_file), "reject");
  EXPECT_EQ(run(now, crm::sign("wrong", now, body), body_file), "reject");
}

INSTANTIATE_TEST_SUITE_P(Docs, DocSnippets, ::testing::Values("python", "js"));

}  // namespace
