// Integration tests of RedisCache and TwoLevelCache against a real redis-server started per test
// on an ephemeral port (tests/cache/redis_server.h).
#include <atomic>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "cache/cache.h"
#include "redis_server.h"

namespace cache {
namespace {

using namespace std::chrono_literals;
using cache_test::Reply;
using cache_test::RedisServer;
using Clock = std::chrono::steady_clock;

// Generous timeouts for behaviour tests: the CI machine is shared and loaded; the short
// timeouts are exercised by the silent-listener test.
RedisOptions options_for(const std::string& url) {
  RedisOptions o;
  auto u = parse_redis_url(url);
  if (!u) throw std::runtime_error(u.error().message);
  o.url = *u;
  o.connect_timeout = 1000ms;
  o.command_timeout = 1000ms;
  o.pool_size = 4;
  o.breaker_failures = 3;
  o.breaker_cooldown = 100ms;
  return o;
}

CacheConfig two_level_config(const std::string& url) {
  CacheConfig cfg;
  cfg.mode = Mode::two_level;
  cfg.redis_url = url;
  cfg.command_timeout = 1000ms;
  cfg.connect_timeout = 1000ms;
  return cfg;
}

Key key_of(int i, std::string_view version = "v1") {
  const float r[] = {static_cast<float>(i), 1.0f, 2.0f};
  return make_key(version, std::span<const float>(r));
}

std::string value_of(int i) { return "value-" + std::to_string(i); }

// Polls `pred` every few ms until it holds or `limit` passes.
template <typename Pred>
bool eventually(Pred pred, Clock::duration limit = 10s) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

Reply admin_cmd(redisContext* c, const char* fmt, const std::string& arg = {}) {
  return Reply(static_cast<redisReply*>(redisCommand(c, fmt, arg.data(), arg.size())));
}

TEST(CacheRedis, HitMissAndOverwrite) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  EXPECT_EQ(c.health(), Health::ok);
  EXPECT_FALSE(c.get(key_of(1)));
  c.put(key_of(1), value_of(1), 1h);
  EXPECT_EQ(c.get(key_of(1)), value_of(1));
  c.put(key_of(1), "other", 1h);
  EXPECT_EQ(c.get(key_of(1)), "other");
  const std::string binary("\0\x01\xff" "bytes", 8);
  c.put(key_of(2), binary, 1h);
  EXPECT_EQ(c.get(key_of(2)), binary);
  const CacheStats st = c.stats();
  EXPECT_EQ(st.hits, 3u);
  EXPECT_EQ(st.remote_hits, 3u);
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.errors, 0u);
}

TEST(CacheRedis, EntriesExpireAfterTheirTtl) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  c.put(key_of(1), value_of(1), 1000ms);
  c.put(key_of(2), value_of(2), 1h);
  auto admin = server.admin();
  Reply pttl = admin_cmd(admin.get(), "PTTL %b", std::string(key_of(1).str()));
  ASSERT_TRUE(pttl);
  EXPECT_GT(pttl->integer, 0);
  EXPECT_LE(pttl->integer, 1000);
  EXPECT_EQ(c.get(key_of(1)), value_of(1));
  EXPECT_TRUE(eventually([&] { return !c.get(key_of(1)); }));
  EXPECT_EQ(c.get(key_of(2)), value_of(2));
}

TEST(CacheRedis, NewModelVersionNeverServesOldEntries) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  c.put(key_of(7, "model-2026-01"), "old", 1h);
  EXPECT_FALSE(c.get(key_of(7, "model-2026-02")));
  EXPECT_EQ(c.get(key_of(7, "model-2026-01")), "old");
}

TEST(CacheRedis, BatchMixesHitsAndMisses) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  std::vector<Key> keys;
  std::vector<std::string> values;
  for (int i = 0; i < 100; ++i) {
    keys.push_back(key_of(i));
    values.push_back(value_of(i));
  }
  std::vector<PutItem> items;
  const LeadTag tag = LeadTagger::random().tag("batch-lead");
  for (int i = 0; i < 100; i += 3) items.push_back({keys[i], values[i], 1h, i % 2 ? tag : LeadTag()});
  c.put_many(items);
  const auto got = c.get_many(keys);
  ASSERT_EQ(got.size(), keys.size());
  for (int i = 0; i < 100; ++i) {
    if (i % 3 == 0) {
      EXPECT_EQ(got[i], values[i]) << i;
    } else {
      EXPECT_FALSE(got[i]) << i;
    }
  }
  EXPECT_EQ(c.stats().hits, 34u);
  EXPECT_EQ(c.stats().misses, 66u);
  EXPECT_TRUE(c.get_many({}).empty());
}

TEST(CacheRedis, TwoClientsShareEntries) {
  RedisServer server;
  RedisCache a(options_for(server.url()));
  RedisCache b(options_for(server.url()));
  a.put(key_of(1), value_of(1), 1h);
  EXPECT_EQ(b.get(key_of(1)), value_of(1));
  const PutItem items[] = {{key_of(2), "two", 1h, {}}, {key_of(3), "three", 1h, {}}};
  b.put_many(items);
  const Key keys[] = {key_of(2), key_of(3), key_of(4)};
  const auto got = a.get_many(keys);
  EXPECT_EQ(got[0], "two");
  EXPECT_EQ(got[1], "three");
  EXPECT_FALSE(got[2]);
}

TEST(CacheRedis, SelectsTheDatabaseFromTheUrl) {
  RedisServer server;
  RedisCache c(options_for(server.url({}, 3)));
  c.put(key_of(1), value_of(1), 1h);
  EXPECT_EQ(c.get(key_of(1)), value_of(1));
  auto admin = server.admin();
  const std::string k(key_of(1).str());
  EXPECT_EQ(admin_cmd(admin.get(), "EXISTS %b", k)->integer, 0);
  ASSERT_TRUE(admin_cmd(admin.get(), "SELECT 3"));
  EXPECT_EQ(admin_cmd(admin.get(), "EXISTS %b", k)->integer, 1);
}

TEST(CacheRedis, EraseLeadRemovesEveryEntryOfTheLead) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  const LeadTagger tagger = LeadTagger::random();
  const LeadTag a = tagger.tag("lead-a"), b = tagger.tag("lead-b");
  for (int i = 0; i < 10; ++i) {
    c.put(key_of(i, "v1"), "a", 1h, a);
    c.put(key_of(i, "v2"), "b", 1h, b);
  }
  auto removed = c.erase_lead(a);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(c.get(key_of(i, "v1")));
    EXPECT_EQ(c.get(key_of(i, "v2")), "b");
  }
  auto admin = server.admin();
  EXPECT_EQ(admin_cmd(admin.get(), "EXISTS %b", std::string(a.str()))->integer, 0);
  EXPECT_EQ(admin_cmd(admin.get(), "EXISTS %b", std::string(b.str()))->integer, 1);
  EXPECT_EQ(*c.erase_lead(a), 0u);
}

TEST(CacheRedis, LeadEntriesListsWhatIsHeldForALead) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  const LeadTagger tagger = LeadTagger::random();
  const LeadTag a = tagger.tag("lead-a");
  c.put(key_of(1), value_of(1), 60s, a);
  c.put(key_of(2), value_of(2), 60s, a);
  c.put(key_of(3), value_of(3), 60s, tagger.tag("lead-b"));
  auto admin = server.admin();
  admin_cmd(admin.get(), "DEL %b", std::string(key_of(2).str()));  // gone: not listed
  auto entries = c.lead_entries(a);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].key, key_of(1).digest());
  EXPECT_EQ((*entries)[0].value, value_of(1));
  EXPECT_GT((*entries)[0].ttl_left, 0ms);
  EXPECT_LE((*entries)[0].ttl_left, 60s);
  EXPECT_EQ(c.purge_expired(), 0u);
}

TEST(CacheRedis, LeadIndexLivesAsLongAsItsLongestEntry) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  const LeadTag t = LeadTagger::random().tag("lead");
  c.put(key_of(1), "x", 60s, t);
  c.put(key_of(2), "x", 2s, t);  // a shorter TTL must not shorten the index
  auto admin = server.admin();
  Reply pttl = admin_cmd(admin.get(), "PTTL %b", std::string(t.str()));
  ASSERT_TRUE(pttl);
  EXPECT_GT(pttl->integer, 2000);
  EXPECT_LE(pttl->integer, 60000);
}

TEST(CacheRedis, TwoLevelFillsLocalAndErasesCopiesFilledFromRedis) {
  RedisServer server;
  const CacheConfig cfg = two_level_config(server.url());
  auto a = make_cache(cfg);
  auto b = make_cache(cfg);
  ASSERT_TRUE(a && b);
  const LeadTag t = LeadTagger::random().tag("hot-lead");
  (*a)->put(key_of(1), value_of(1), 1h, t);
  (*a)->put(key_of(2), value_of(2), 1h, t);
  EXPECT_EQ((*b)->get(key_of(1)), value_of(1));  // from Redis, fills b's local tier
  EXPECT_EQ((*b)->get(key_of(1)), value_of(1));  // local
  const Key keys[] = {key_of(1), key_of(2), key_of(3)};
  const auto got = (*b)->get_many(keys);
  EXPECT_EQ(got[0], value_of(1));
  EXPECT_EQ(got[1], value_of(2));
  EXPECT_FALSE(got[2]);
  const CacheStats st = (*b)->stats();
  EXPECT_EQ(st.local_hits, 2u);
  EXPECT_EQ(st.remote_hits, 2u);
  EXPECT_EQ(st.hits, 4u);
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.entries, 2u);

  auto held = (*b)->lead_entries(t);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->size(), 2u);

  auto removed = (*b)->erase_lead(t);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 2u);
  EXPECT_TRUE((*b)->lead_entries(t)->empty());
  EXPECT_FALSE((*b)->get(key_of(1)));
  EXPECT_FALSE((*b)->get(key_of(2)));
  EXPECT_EQ((*b)->stats().entries, 0u);
  auto admin = server.admin();
  EXPECT_EQ(admin_cmd(admin.get(), "DBSIZE")->integer, 0);
}

TEST(CacheRedis, TwoLevelLocalCopiesLiveNoLongerThanTheirRedisEntry) {
  RedisServer server;
  auto now = std::make_shared<TimePoint>(Clock::now());
  CacheConfig cfg = two_level_config(server.url());
  cfg.local_ttl = 60s;
  cfg.clock = [now] { return *now; };  // the local tier's clock
  auto b = make_cache(cfg);
  ASSERT_TRUE(b);
  RedisCache a(options_for(server.url()));  // another replica, --cache-ttl 2
  a.put(key_of(1), value_of(1), 2s);
  a.put(key_of(2), value_of(2), 2s);
  auto admin = server.admin();
  const std::string forever = std::string(key_of(3).str());
  Reply set(static_cast<redisReply*>(
      redisCommand(admin.get(), "SET %b %s", forever.data(), forever.size(), "no-ttl")));
  ASSERT_TRUE(set);

  EXPECT_EQ((*b)->get(key_of(1)), value_of(1));  // from Redis: fills b's local tier
  const Key keys[] = {key_of(2), key_of(3)};
  auto got = (*b)->get_many(keys);  // likewise, in one round trip
  EXPECT_EQ(got[0], value_of(2));
  EXPECT_EQ(got[1], "no-ttl");
  EXPECT_EQ((*b)->stats().entries, 3u);

  // 2 s later Redis has expired keys 1 and 2 (deleted here rather than waited for): b's local
  // copies must have gone with them, not live on for local_ttl.
  *now += 2s;
  for (int i : {1, 2}) {
    const std::string k(key_of(i).str());
    Reply del(static_cast<redisReply*>(redisCommand(admin.get(), "DEL %b", k.data(), k.size())));
    ASSERT_TRUE(del);
  }
  EXPECT_FALSE((*b)->get(key_of(1)));
  got = (*b)->get_many(keys);
  EXPECT_FALSE(got[0]);
  EXPECT_EQ(got[1], "no-ttl");  // no expiry in Redis: local for local_ttl
  EXPECT_EQ((*b)->stats().local_hits, 1u);

  // local_ttl still caps a copy of an entry that Redis keeps longer.
  *now += 59s;
  Reply del(static_cast<redisReply*>(
      redisCommand(admin.get(), "DEL %b", forever.data(), forever.size())));
  ASSERT_TRUE(del);
  EXPECT_FALSE((*b)->get(key_of(3)));
}

TEST(CacheRedis, AuthWithPassword) {
  RedisServer server({}, "pw-Very$ecret");
  RedisCache good(options_for(server.url(":pw-Very%24ecret")));
  good.put(key_of(1), value_of(1), 1h);
  EXPECT_EQ(good.get(key_of(1)), value_of(1));
  EXPECT_EQ(good.health(), Health::ok);

  RedisCache bad(options_for(server.url(":wrong-password")));
  EXPECT_FALSE(bad.get(key_of(1)));
  bad.put(key_of(2), "dropped", 1h);
  EXPECT_EQ(bad.health(), Health::degraded);
  EXPECT_GT(bad.stats().errors + bad.stats().skipped, 0u);
  EXPECT_FALSE(good.get(key_of(2)));
}

TEST(CacheRedis, AuthWithAclUserHoldingOnlyTheCommandsItNeeds) {
  RedisServer server;
  {
    auto admin = server.admin();
    // The minimal grant documented in docs/CACHE.md: ls:* keys, these commands only.
    Reply r(static_cast<redisReply*>(redisCommand(
        admin.get(),
        "ACL SETUSER scorer on >scorer-pass resetkeys ~ls:* -@all +ping +get +mget +set "
        "+sadd +pttl +pexpire +smembers +del +evalsha +script|load")));
    ASSERT_TRUE(r);
    ASSERT_NE(r->type, REDIS_REPLY_ERROR) << r->str;
  }
  RedisCache c(options_for(server.url("scorer:scorer-pass")));
  const LeadTag t = LeadTagger::random().tag("acl-lead");
  c.put(key_of(1), value_of(1), 1h, t);
  c.put(key_of(2), value_of(2), 1h);
  const Key keys[] = {key_of(1), key_of(2)};
  const auto got = c.get_many(keys);
  EXPECT_EQ(got[0], value_of(1));
  EXPECT_EQ(got[1], value_of(2));
  std::vector<Ttl> left;  // two-level reads (GET + PTTL script)
  EXPECT_EQ(c.get_many_with_ttl(keys, left)[1], value_of(2));
  EXPECT_GT(left[1], 0ms);
  ASSERT_TRUE(c.lead_entries(t));
  EXPECT_EQ(c.lead_entries(t)->size(), 1u);
  auto removed = c.erase_lead(t);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(c.stats().errors, 0u);
  EXPECT_EQ(c.health(), Health::ok);

  RedisCache wrong(options_for(server.url("scorer:not-the-pass")));
  EXPECT_FALSE(wrong.get(key_of(2)));
  EXPECT_EQ(wrong.health(), Health::degraded);
}

TEST(CacheRedis, DownAtStartIsDegradedNeverAnError) {
  RedisCache c(options_for("redis://127.0.0.1:" + std::to_string(cache_test::free_port())));
  EXPECT_EQ(c.health(), Health::degraded);
  EXPECT_FALSE(c.get(key_of(1)));
  c.put(key_of(1), "x", 1h);
  EXPECT_EQ(c.get_many(std::vector<Key>{key_of(1), key_of(2)}).size(), 2u);
  auto erased = c.erase_lead(LeadTagger::random().tag("x"));
  ASSERT_FALSE(erased);  // erasure is the one operation that reports failure
  EXPECT_EQ(erased.error().code, "cache_unavailable");
  EXPECT_EQ(c.lead_entries(LeadTagger::random().tag("x")).error().code, "cache_unavailable");
}

TEST(CacheRedis, HealthCheckAloneClosesTheBreakerAfterRedisReturns) {
  RedisServer server;
  auto now = std::make_shared<TimePoint>(Clock::now());
  RedisOptions o = options_for(server.url());
  o.clock = [now] { return *now; };  // the breaker's clock
  RedisCache c(o);
  c.put(key_of(1), value_of(1), 1h);
  server.kill9();
  for (int i = 0; i < 10 && c.stats().breaker == BreakerState::closed; ++i) c.get(key_of(1));
  ASSERT_EQ(c.stats().breaker, BreakerState::open);
  EXPECT_EQ(c.health(), Health::degraded);

  server.start();  // same port, empty
  const CacheStats before = c.stats();
  EXPECT_EQ(c.health(), Health::degraded);  // within the cool-down: no probe, nothing counted
  EXPECT_EQ(c.stats().skipped, before.skipped);
  EXPECT_EQ(c.stats().errors, before.errors);
  *now += o.breaker_cooldown;
  // No get or put in between: the health check itself probes and closes the breaker.
  EXPECT_EQ(c.health(), Health::ok);
  EXPECT_EQ(c.stats().breaker, BreakerState::closed);
  c.put(key_of(2), value_of(2), 1h);
  EXPECT_EQ(c.get(key_of(2)), value_of(2));
}

TEST(CacheRedis, SurvivesSigkillAndRestartWithCorrectValues) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  constexpr int kKeys = 200;
  for (int i = 0; i < kKeys; ++i) c.put(key_of(i), value_of(i), 1h);

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<long> calls{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&, t] {
      std::string out;
      for (int n = 0; !stop.load(); ++n) {
        const int i = (n * 13 + t * 71) % kKeys;
        if (n % 10 == 0) {
          const Key ks[] = {key_of(i), key_of((i + 1) % kKeys)};
          const auto got = c.get_many(ks);
          if ((got[0] && *got[0] != value_of(i)) ||
              (got[1] && *got[1] != value_of((i + 1) % kKeys))) {
            ++wrong;
          }
        } else if (c.get_into(key_of(i), out)) {
          if (out != value_of(i)) ++wrong;
        } else {
          c.put(key_of(i), value_of(i), 1h);
        }
        ++calls;
        std::this_thread::sleep_for(200us);
      }
    });
  }
  EXPECT_TRUE(eventually([&] { return calls.load() > 100; }));
  server.kill9();
  EXPECT_TRUE(eventually([&] { return c.stats().breaker_opens > 0; }));
  EXPECT_EQ(c.health(), Health::degraded);
  std::this_thread::sleep_for(300ms);  // an outage spanning several cool-downs
  // Calls while the breaker is open are skipped (polled: a loaded machine may not have run
  // the workers during the sleep).
  EXPECT_TRUE(eventually([&] { return c.stats().skipped > 0; })) << c.stats().skipped;
  server.start();
  // The breaker half-opens, a probe succeeds, it closes; workers repopulate the cache.
  EXPECT_TRUE(eventually([&] {
    return c.health() == Health::ok && c.stats().breaker == BreakerState::closed;
  }));
  const auto hits_before = c.stats().hits;
  EXPECT_TRUE(eventually([&] { return c.stats().hits > hits_before + 50; }));
  stop = true;
  for (auto& w : workers) w.join();

  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(c.stats().errors, 0u);
  for (int i = 0; i < kKeys; ++i) c.put(key_of(i), value_of(i), 1h);
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(c.get(key_of(i)), value_of(i)) << i;
}

TEST(CacheRedis, QuietRestartIsHealedByOneReconnect) {
  RedisServer server;
  RedisCache c(options_for(server.url()));
  c.put(key_of(1), value_of(1), 1h);
  server.kill9();
  server.start();  // nothing was called while it was down
  c.put(key_of(2), value_of(2), 1h);  // stale connection: EOF, reconnect, retry
  EXPECT_EQ(c.get(key_of(2)), value_of(2));
  EXPECT_FALSE(c.get(key_of(1)));  // no persistence: the restart lost it
  EXPECT_EQ(c.stats().errors, 0u);
  EXPECT_EQ(c.stats().breaker_opens, 0u);
}

TEST(CacheRedis, SilentServerCallsReturnWithinTheTimeout) {
  int port = 0;
  const int fd = cache_test::listen_ephemeral(port);  // accepts (kernel backlog), never answers
  RedisOptions o = options_for("redis://127.0.0.1:" + std::to_string(port));
  o.connect_timeout = 5ms;
  o.command_timeout = 5ms;
  // A clock that jumps an hour per reading: every cool-down has passed, so every call
  // really goes to the socket (as a half-open probe) instead of being skipped.
  auto fake_now = std::make_shared<std::atomic<long>>(0);
  o.clock = [fake_now] { return TimePoint(std::chrono::hours(fake_now->fetch_add(1) + 1)); };

  // A hang check with a generous bound, not a speed assertion.
  constexpr auto kBound = 1s;
  auto t0 = Clock::now();
  RedisCache c(o);
  EXPECT_LT(Clock::now() - t0, kBound);
  for (int i = 0; i < 10; ++i) {
    t0 = Clock::now();
    EXPECT_FALSE(c.get(key_of(i)));
    EXPECT_LT(Clock::now() - t0, kBound);
    t0 = Clock::now();
    c.put(key_of(i), "x", 1h);
    EXPECT_LT(Clock::now() - t0, kBound);
    t0 = Clock::now();
    const auto got = c.get_many(std::vector<Key>{key_of(i), key_of(i + 1)});
    EXPECT_FALSE(got[0] || got[1]);
    EXPECT_LT(Clock::now() - t0, kBound);
  }
  EXPECT_GE(c.stats().errors, 30u);

  // With a normal threshold the breaker opens and later calls skip the socket entirely.
  o.clock = nullptr;
  o.breaker_failures = 3;
  o.breaker_cooldown = 10s;
  RedisCache guarded(o);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(guarded.get(key_of(i)));
  EXPECT_EQ(guarded.health(), Health::degraded);
  EXPECT_EQ(guarded.stats().breaker, BreakerState::open);
  EXPECT_GE(guarded.stats().skipped, 7u);
  ::close(fd);
}

// Leads whose ids and notes are PII go through every cache path; then every key and value at
// rest in Redis is searched for the canaries.
TEST(CacheRedis, NoPiiAtRest) {
  RedisServer server;
  const CacheConfig cfg = two_level_config(server.url());
  auto c = make_cache(cfg);
  ASSERT_TRUE(c);
  RedisCache plain(options_for(server.url()));
  const std::vector<std::string> canaries = {
      "Priya Canarywala", "+91 98765 43210", "9876543210", "priya.canary@example.com",
      "ABCPC1234Z",       "2345 6789 0123",  "234567890123"};
  const LeadTagger tagger = *LeadTagger::create("test-secret-0123456789abcdef");
  int n = 0;
  for (const std::string& lead_id : canaries) {
    const LeadTag tag = tagger.tag(lead_id);
    ScoreValue v;
    v.intent_score = 0.5f + 0.01f * static_cast<float>(n);
    v.score = static_cast<std::uint8_t>(50 + n);
    v.grade = 'B';
    v.n_reasons = 1;
    v.reasons[0] = {2, 98765.0f, 0.1f};
    const float row[] = {static_cast<float>(n), 3.0f, 120.0f};
    (*c)->put(make_key("model-1", std::span<const float>(row)), pack_score(v), 1h, tag);
    const std::string packed = pack_score(v);  // PutItem holds a view: keep the bytes alive
    const PutItem item{make_key("model-2", std::span<const float>(row)), packed, 1h, tag};
    plain.put_many(std::span(&item, 1));
    // Embeddings are keyed by already-scrubbed text (the scrubber is the text module's job).
    (*c)->put(make_key("emb:minilm-l6", std::string_view("looking for 2 bhk in pune")),
              std::string(64, '\x01'), 1h, tag);
    ++n;
  }

  auto admin = server.admin();
  std::string at_rest;
  std::size_t keys_seen = 0, sets_seen = 0;
  std::string cursor = "0";
  do {
    Reply r = admin_cmd(admin.get(), "SCAN %b COUNT 100", cursor);
    ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY);
    cursor.assign(r->element[0]->str, r->element[0]->len);
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
      const redisReply* k = r->element[1]->element[i];
      const std::string name(k->str, k->len);
      ++keys_seen;
      at_rest += name + "\n";
      Reply type = admin_cmd(admin.get(), "TYPE %b", name);
      if (std::string(type->str) == "string") {
        Reply v = admin_cmd(admin.get(), "GET %b", name);
        at_rest.append(v->str, v->len);
      } else {
        ++sets_seen;
        Reply m = admin_cmd(admin.get(), "SMEMBERS %b", name);
        for (std::size_t j = 0; j < m->elements; ++j) {
          at_rest.append(m->element[j]->str, m->element[j]->len);
        }
      }
      Reply dump = admin_cmd(admin.get(), "DUMP %b", name);
      at_rest.append(dump->str, dump->len);
    }
  } while (cursor != "0");

  EXPECT_EQ(sets_seen, canaries.size());
  EXPECT_EQ(keys_seen, canaries.size() * 3 + 1);  // 2 score keys per lead, 1 embedding, sets
  for (const std::string& canary : canaries) {
    EXPECT_EQ(at_rest.find(canary), std::string::npos) << canary;
  }
  for (const char* fragment : {"Priya", "Canary", "example.com", "98765"}) {
    EXPECT_EQ(at_rest.find(fragment), std::string::npos) << fragment;
  }
}

}  // namespace
}  // namespace cache
