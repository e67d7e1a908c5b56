// Unit tests of cache/: keys, lead tags, the packed score value, URL parsing, LocalLru and the
// factory. No servers: Redis behaviour is in redis_test.cpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cache/cache.h"

namespace cache {
namespace {

using namespace std::chrono_literals;

// A clock the test moves by hand.
struct ManualClock {
  std::shared_ptr<std::atomic<TimePoint::rep>> now =
      std::make_shared<std::atomic<TimePoint::rep>>(1'000'000'000);
  ClockFn fn() const {
    return [n = now] { return TimePoint(TimePoint::duration(n->load())); };
  }
  void advance(Ttl d) {
    now->fetch_add(std::chrono::duration_cast<TimePoint::duration>(d).count());
  }
};

// True if s is `prefix` followed by exactly 32 lowercase hex digits (no std::regex: GCC 12
// reports false maybe-uninitialized warnings in <regex> under ASan).
bool is_prefix_and_hex(std::string_view s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix || s.size() != prefix.size() + 32) return false;
  for (char c : s.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::vector<float> row(float a, float b = 2.0f) { return {a, b, 3.5f, -1.0f}; }

TEST(CacheKey, SameVersionAndRowGiveTheSameKey) {
  const auto r = row(1.0f);
  EXPECT_EQ(make_key("v1", r), make_key("v1", r));
  EXPECT_EQ(make_key("v1", r).str(), make_key("v1", r).str());
}

TEST(CacheKey, ModelVersionAndRowChangeTheKey) {
  EXPECT_NE(make_key("v1", row(1.0f)), make_key("v2", row(1.0f)));
  EXPECT_NE(make_key("v1", row(1.0f)), make_key("v1", row(1.5f)));
  EXPECT_NE(make_key("v1", row(1.0f)).str(), make_key("v2", row(1.0f)).str());
}

TEST(CacheKey, NanPayloadsAndNegativeZeroShareAKey) {
  const float nan1 = std::numeric_limits<float>::quiet_NaN();
  const float nan2 = -std::numeric_limits<float>::signaling_NaN();
  EXPECT_EQ(make_key("v", row(nan1)), make_key("v", row(nan2)));
  EXPECT_EQ(make_key("v", row(0.0f)), make_key("v", row(-0.0f)));
  EXPECT_NE(make_key("v", row(nan1)), make_key("v", row(0.0f)));
}

TEST(CacheKey, RenderingIsCompactPrefixedAndSanitised) {
  const Key k = make_key("rf-2026.11", row(1.0f));
  EXPECT_TRUE(is_prefix_and_hex(k.str(), "ls:v1:score:rf-2026.11:")) << k.str();
  // Separators and control bytes in a version cannot shape the Redis key name.
  const Key odd = make_key("a:b\r\n c", row(1.0f));
  EXPECT_TRUE(is_prefix_and_hex(odd.str(), "ls:v1:score:a_b___c:")) << odd.str();
  const Key long_version = make_key(std::string(500, 'x'), row(1.0f));
  EXPECT_LE(long_version.str().size(), Key::kMaxText);
  // Identity covers the whole version, not just the rendered prefix.
  EXPECT_NE(make_key(std::string(500, 'x'), row(1.0f)),
            make_key(std::string(499, 'x') + "y", row(1.0f)));
}

TEST(CacheKey, GenericKeysAreSeparatedFromScoreKeys) {
  const Key e = make_key("emb:minilm-l6", std::string_view("2 bhk near metro"));
  EXPECT_TRUE(is_prefix_and_hex(e.str(), "ls:v1:emb:minilm-l6:")) << e.str();
  EXPECT_NE(e, make_key("emb:other-model", std::string_view("2 bhk near metro")));
  const float f[] = {1.0f};
  const auto bytes = std::as_bytes(std::span<const float>(f));
  EXPECT_NE(make_key("v", std::span<const float>(f)), make_key("v", bytes));
}

TEST(CacheLeadTagger, RejectsShortSecrets) {
  auto t = LeadTagger::create("short");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, "cache_secret_too_short");
}

TEST(CacheLeadTagger, TagIsHmacSha256OfTheLeadId) {
  // OpenSSL's HMAC() is the oracle, for a short and a long (> 64 bytes, hashed) secret.
  for (const std::string& secret : {std::string("0123456789abcdef-secret"), std::string(100, 'k')}) {
    const std::string id = "lead-42";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(id.data()), id.size(), md, &len);
    const LeadTag t = LeadTagger::create(secret)->tag(id);
    EXPECT_TRUE(std::equal(t.digest().begin(), t.digest().end(), md)) << secret.size();
  }
}

TEST(CacheLeadTagger, EmbeddingTagIsAnHmacInItsOwnDomain) {
  // HMAC-SHA256(secret, 0xFF "emb" id): keyed like tag(), never equal to any id's tag().
  const std::string secret = "0123456789abcdef-secret";
  const std::string msg = std::string("\xff" "emb") + "lead-42";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
  auto tagger = LeadTagger::create(secret);
  ASSERT_TRUE(tagger);
  const LeadTag e = tagger->embedding_tag("lead-42");
  EXPECT_TRUE(std::equal(e.digest().begin(), e.digest().end(), md));
  EXPECT_TRUE(is_prefix_and_hex(e.str(), "ls:v1:lead:"));
  EXPECT_NE(e, tagger->tag("lead-42"));
  EXPECT_EQ(e, tagger->embedding_tag("lead-42"));
  EXPECT_NE(e, tagger->embedding_tag("lead-43"));
  EXPECT_NE(e, LeadTagger::create("0123456789abcdef-other")->embedding_tag("lead-42"));
}

TEST(CacheLeadTagger, SharedModesRequireASecret) {
  EXPECT_TRUE(make_lead_tagger(Mode::local, ""));
  EXPECT_TRUE(make_lead_tagger(Mode::none, ""));
  EXPECT_EQ(make_lead_tagger(Mode::two_level, "").error().code, "cache_secret_required");
  EXPECT_EQ(make_lead_tagger(Mode::redis, "").error().code, "cache_secret_required");
  EXPECT_EQ(make_lead_tagger(Mode::redis, "short").error().code, "cache_secret_too_short");
  auto a = make_lead_tagger(Mode::redis, "replica-shared-secret-123");
  auto b = make_lead_tagger(Mode::two_level, "replica-shared-secret-123");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->tag("lead-1"), b->tag("lead-1"));  // same secret: same tag on every replica
}

TEST(CacheLeadTagger, TagsAreKeyedAndNeverContainTheId) {
  auto a = LeadTagger::create("0123456789abcdef-secret-a");
  auto b = LeadTagger::create("0123456789abcdef-secret-b");
  ASSERT_TRUE(a && b);
  const LeadTag t1 = a->tag("+91 98765 43210");
  EXPECT_EQ(t1, a->tag("+91 98765 43210"));
  EXPECT_NE(t1, a->tag("+91 98765 43211"));
  EXPECT_NE(t1, b->tag("+91 98765 43210"));
  EXPECT_FALSE(t1.empty());
  EXPECT_TRUE(LeadTag().empty());
  EXPECT_TRUE(is_prefix_and_hex(t1.str(), "ls:v1:lead:"));
  EXPECT_EQ(t1.str().find("98765"), std::string_view::npos);
  EXPECT_NE(LeadTagger::random().tag("x"), LeadTagger::random().tag("x"));
}

ScoreValue sample_value() {
  ScoreValue v;
  v.intent_score = 0.8125f;
  v.score = 81;
  v.grade = 'A';
  v.percentile = 97.5f;
  v.n_reasons = 2;
  v.reasons[0] = {3, 1.0f, 0.42f};
  v.reasons[1] = {7, std::numeric_limits<float>::quiet_NaN(), -0.125f};
  return v;
}

TEST(CacheScoreValue, RoundTrips) {
  const ScoreValue v = sample_value();
  const std::string bytes = pack_score(v);
  ASSERT_EQ(bytes.size(), kScoreValueSize);
  auto back = unpack_score(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->intent_score, v.intent_score);
  EXPECT_EQ(back->score, v.score);
  EXPECT_EQ(back->grade, v.grade);
  EXPECT_EQ(back->percentile, v.percentile);
  ASSERT_EQ(back->n_reasons, 2);
  EXPECT_EQ(back->reasons[0].feature, 3);
  EXPECT_EQ(back->reasons[0].impact, 0.42f);
  EXPECT_TRUE(std::isnan(back->reasons[1].value));
  EXPECT_EQ(back->reasons[2].feature, 0);
}

TEST(CacheScoreValue, LayoutIsLittleEndianWithAVersionByte) {
  ScoreValue v;
  v.intent_score = 1.0f;  // 0x3f800000
  v.score = 100;
  v.grade = 'B';
  const std::string b = pack_score(v);
  EXPECT_EQ(static_cast<unsigned char>(b[0]), kScoreValueVersion);
  EXPECT_EQ(static_cast<unsigned char>(b[1]), 0x00);
  EXPECT_EQ(static_cast<unsigned char>(b[3]), 0x80);
  EXPECT_EQ(static_cast<unsigned char>(b[4]), 0x3f);
  EXPECT_EQ(static_cast<unsigned char>(b[5]), 100);
  EXPECT_EQ(b[6], 'B');
}

TEST(CacheScoreValue, RejectsWrongSizeVersionOrReasonCount) {
  std::string b = pack_score(sample_value());
  EXPECT_EQ(unpack_score(b.substr(1)).error().code, "cache_value_invalid");
  std::string wrong_version = b;
  wrong_version[0] = 9;
  EXPECT_FALSE(unpack_score(wrong_version));
  std::string too_many = b;
  too_many[11] = 4;  // n_reasons
  EXPECT_FALSE(unpack_score(too_many));
}

TEST(CacheRedisUrl, ParsesHostPortDbAndCredentials) {
  auto u = parse_redis_url("redis://localhost");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0);
  EXPECT_TRUE(u->user.empty() && u->password.empty());

  u = parse_redis_url("redis://:s3cret@10.0.0.5:6380/2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "10.0.0.5");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_TRUE(u->user.empty());

  u = parse_redis_url("redis://scorer:p%40ss%3Aw@redis.internal:7000/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user, "scorer");
  EXPECT_EQ(u->password, "p@ss:w");
  EXPECT_EQ(u->db, 0);

  u = parse_redis_url("redis://[::1]:6390/1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 6390);
  EXPECT_EQ(u->db, 1);
}

TEST(CacheRedisUrl, RejectsBadUrlsWithoutEchoingThePassword) {
  for (const char* bad :
       {"http://localhost:6379", "redis://", "redis://:6379", "redis://host:0",
        "redis://host:65536", "redis://host:port", "redis://host:/1", "redis://host/db",
        "redis://host:6379/1?timeout=5", "redis://hunter2-secret@host", "redis://[::1",
        "redis://u:%zzhunter2-secret@host", "redis://u:@host", "localhost:6379"}) {
    auto u = parse_redis_url(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().code, "invalid_redis_url") << bad;
    EXPECT_EQ(u.error().message.find("hunter2"), std::string::npos) << u.error().message;
  }
}

LocalLru make_lru(ManualClock& clock, std::size_t entries = 1000, std::size_t shards = 16,
                  std::size_t bytes = 1u << 20) {
  return LocalLru(LocalLruOptions{entries, bytes, shards, Ttl::max(), clock.fn()});
}

TEST(CacheLocalLru, HitAndMiss) {
  ManualClock clock;
  LocalLru lru = make_lru(clock);
  const Key k = make_key("v1", row(1.0f));
  EXPECT_FALSE(lru.get(k));
  lru.put(k, "value-1", 1h);
  EXPECT_EQ(lru.get(k), "value-1");
  lru.put(k, "value-2", 1h);
  EXPECT_EQ(lru.get(k), "value-2");
  EXPECT_FALSE(lru.get(make_key("v1", row(2.0f))));
  const CacheStats st = lru.stats();
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.local_hits, 2u);
  EXPECT_EQ(st.misses, 2u);
  EXPECT_EQ(st.entries, 1u);
  EXPECT_EQ(lru.health(), Health::ok);
}

TEST(CacheLocalLru, EntriesExpireAfterTheirTtl) {
  ManualClock clock;
  LocalLru lru = make_lru(clock);
  const Key a = make_key("v1", row(1.0f)), b = make_key("v1", row(2.0f));
  lru.put(a, "a", 10s);
  lru.put(b, "b", 60s);
  clock.advance(9999ms);
  EXPECT_EQ(lru.get(a), "a");
  clock.advance(1ms);
  EXPECT_FALSE(lru.get(a));
  EXPECT_EQ(lru.get(b), "b");
  clock.advance(50s);
  EXPECT_FALSE(lru.get(b));
  EXPECT_EQ(lru.stats().expirations, 2u);
  EXPECT_EQ(lru.stats().entries, 0u);
}

TEST(CacheLocalLru, NonPositiveTtlIsNotStoredAndMaxTtlCaps) {
  ManualClock clock;
  LocalLru lru = make_lru(clock);
  const Key k = make_key("v1", row(1.0f));
  lru.put(k, "x", 0ms);
  lru.put(k, "x", -5ms);
  EXPECT_FALSE(lru.get(k));

  LocalLru capped(LocalLruOptions{100, 1u << 20, 4, 60s, clock.fn()});
  capped.put(k, "x", 1h);
  clock.advance(61s);
  EXPECT_FALSE(capped.get(k));
}

TEST(CacheLocalLru, EvictsLeastRecentlyUsedAtTheEntryBound) {
  ManualClock clock;
  LocalLru lru = make_lru(clock, /*entries=*/3, /*shards=*/1);
  std::vector<Key> k;
  for (int i = 0; i < 5; ++i) k.push_back(make_key("v1", row(static_cast<float>(i))));
  lru.put(k[0], "0", 1h);
  lru.put(k[1], "1", 1h);
  lru.put(k[2], "2", 1h);
  ASSERT_TRUE(lru.get(k[0]));  // 0 becomes most recent; 1 is now least recent
  lru.put(k[3], "3", 1h);
  EXPECT_FALSE(lru.get(k[1]));
  EXPECT_TRUE(lru.get(k[0]));
  EXPECT_TRUE(lru.get(k[2]));
  EXPECT_TRUE(lru.get(k[3]));
  EXPECT_EQ(lru.stats().entries, 3u);
  EXPECT_EQ(lru.stats().evictions, 1u);
}

TEST(CacheLocalLru, StaysWithinEntryAndByteBoundsAcrossShards) {
  ManualClock clock;
  LocalLru lru = make_lru(clock, /*entries=*/64, /*shards=*/16, /*bytes=*/64u << 10);
  for (int i = 0; i < 1000; ++i) lru.put(make_key("v1", row(static_cast<float>(i))), "x", 1h);
  EXPECT_LE(lru.stats().entries, 64u);
  EXPECT_GT(lru.stats().entries, 0u);

  LocalLru by_bytes = make_lru(clock, /*entries=*/100000, /*shards=*/4, /*bytes=*/40000);
  const std::string big(1000, 'v');
  for (int i = 0; i < 200; ++i) by_bytes.put(make_key("v1", row(static_cast<float>(i))), big, 1h);
  EXPECT_LE(by_bytes.stats().bytes, 40000u);
  EXPECT_GT(by_bytes.stats().evictions, 0u);
  // A value larger than a whole shard is simply not cached.
  const Key huge = make_key("v1", row(-1.0f));
  by_bytes.put(huge, std::string(20000, 'h'), 1h);
  EXPECT_FALSE(by_bytes.get(huge));
}

TEST(CacheLocalLru, BatchMixesHitsAndMisses) {
  ManualClock clock;
  LocalLru lru = make_lru(clock);
  std::vector<Key> keys;
  std::vector<PutItem> items;
  std::vector<std::string> values;
  for (int i = 0; i < 10; ++i) {
    keys.push_back(make_key("v1", row(static_cast<float>(i))));
    values.push_back("value-" + std::to_string(i));
  }
  for (int i = 0; i < 10; i += 2) items.push_back(PutItem{keys[i], values[i], 1h, {}});
  lru.put_many(items);
  const auto got = lru.get_many(keys);
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(got[i], values[i]);
    } else {
      EXPECT_FALSE(got[i]);
    }
  }
}

TEST(CacheLocalLru, EraseLeadRemovesEveryEntryOfThatLeadOnly) {
  ManualClock clock;
  LocalLru lru = make_lru(clock);
  const LeadTagger tagger = LeadTagger::random();
  const LeadTag a = tagger.tag("lead-a"), b = tagger.tag("lead-b");
  for (int i = 0; i < 20; ++i) {
    lru.put(make_key("v1", row(static_cast<float>(i))), "a", 1h, a);
    lru.put(make_key("v2", row(static_cast<float>(i))), "b", 1h, b);
  }
  lru.put(make_key("v1", row(100.0f)), "untagged", 1h);
  auto removed = lru.erase_lead(a);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(lru.get(make_key("v1", row(static_cast<float>(i)))));
    EXPECT_EQ(lru.get(make_key("v2", row(static_cast<float>(i)))), "b");
  }
  EXPECT_EQ(lru.get(make_key("v1", row(100.0f))), "untagged");
  EXPECT_EQ(*lru.erase_lead(a), 0u);
  EXPECT_EQ(*lru.erase_lead(LeadTag()), 0u);
}

TEST(CacheLocalLru, IndexFollowsEvictionExpiryAndOverwrite) {
  ManualClock clock;
  LocalLru lru = make_lru(clock, /*entries=*/4, /*shards=*/1);
  const LeadTagger tagger = LeadTagger::random();
  const LeadTag a = tagger.tag("lead-a"), b = tagger.tag("lead-b");
  for (int i = 0; i < 10; ++i) lru.put(make_key("v1", row(static_cast<float>(i))), "a", 1h, a);
  // Overwritten by another lead: the entry now belongs to b.
  lru.put(make_key("v1", row(9.0f)), "b", 1h, b);
  EXPECT_EQ(*lru.erase_lead(a), 3u);  // only the 3 of a's that survived eviction
  EXPECT_EQ(lru.get(make_key("v1", row(9.0f))), "b");
  lru.put(make_key("v1", row(20.0f)), "b", 1s, b);
  clock.advance(2s);
  EXPECT_FALSE(lru.get(make_key("v1", row(20.0f))));  // expired: gone from the index too
  EXPECT_EQ(*lru.erase_lead(b), 1u);
  EXPECT_EQ(lru.stats().entries, 0u);
}

TEST(CacheLocalLru, PurgeExpiredEnforcesRetentionWithoutAccess) {
  ManualClock clock;
  LocalLru lru = make_lru(clock);
  const LeadTag t = LeadTagger::random().tag("lead");
  for (int i = 0; i < 50; ++i) lru.put(make_key("v1", row(static_cast<float>(i))), "x", 10s, t);
  for (int i = 50; i < 60; ++i) lru.put(make_key("v1", row(static_cast<float>(i))), "y", 1h);
  EXPECT_EQ(lru.purge_expired(), 0u);
  clock.advance(10s);
  EXPECT_EQ(lru.purge_expired(), 50u);
  const CacheStats st = lru.stats();
  EXPECT_EQ(st.entries, 10u);
  EXPECT_EQ(st.expirations, 50u);
  EXPECT_EQ(st.hits + st.misses, 0u);  // nothing was read
  EXPECT_EQ(*lru.erase_lead(t), 0u);   // the index went with the entries
}

TEST(CacheLocalLru, LeadEntriesListsLiveEntriesOfTheLead) {
  ManualClock clock;
  LocalLru lru = make_lru(clock);
  const LeadTagger tagger = LeadTagger::random();
  const LeadTag a = tagger.tag("lead-a");
  const Key k1 = make_key("v1", row(1.0f)), k2 = make_key("v1", row(2.0f));
  lru.put(k1, "one", 60s, a);
  lru.put(k2, "two", 5s, a);
  lru.put(make_key("v1", row(3.0f)), "other", 60s, tagger.tag("lead-b"));
  clock.advance(1s);
  auto entries = lru.lead_entries(a);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  std::sort(entries->begin(), entries->end(),
            [](const LeadEntry& x, const LeadEntry& y) { return x.value < y.value; });
  EXPECT_EQ((*entries)[0].value, "one");
  EXPECT_EQ((*entries)[0].key, k1.digest());
  EXPECT_EQ((*entries)[0].ttl_left, 59s);
  EXPECT_EQ((*entries)[1].ttl_left, 4s);
  clock.advance(5s);
  EXPECT_EQ(lru.lead_entries(a)->size(), 1u);
  EXPECT_TRUE(lru.lead_entries(LeadTag())->empty());
}

TEST(CacheLocalLru, ConcurrentUseKeepsValuesConsistent) {
  LocalLru lru(LocalLruOptions{512, 1u << 20, 16, Ttl::max(), {}});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string out;
      for (int i = 0; i < 5000; ++i) {
        const int id = (i * 7 + t) % 1024;
        const Key k = make_key("v1", row(static_cast<float>(id)));
        if (lru.get_into(k, out)) {
          if (out != std::to_string(id)) ++wrong;
        } else {
          lru.put(k, std::to_string(id), 1h);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(lru.stats().entries, 512u);
}

TEST(CacheNull, AlwaysMisses) {
  NullCache c;
  const Key k = make_key("v1", row(1.0f));
  c.put(k, "x", 1h);
  EXPECT_FALSE(c.get(k));
  EXPECT_EQ(c.get_many(std::span(&k, 1)).size(), 1u);
  EXPECT_EQ(c.stats().misses, 2u);
}

TEST(CacheMakeCache, BuildsEachModeAndRejectsBadConfig) {
  EXPECT_EQ(parse_mode("two-level"), Mode::two_level);
  EXPECT_EQ(parse_mode("fast").error().code, "invalid_cache_mode");
  EXPECT_EQ(to_string(Mode::two_level), "two-level");

  CacheConfig c;
  c.mode = Mode::none;
  ASSERT_TRUE(make_cache(c));
  c.mode = Mode::local;
  auto local = make_cache(c);
  ASSERT_TRUE(local);
  const Key k = make_key("v1", row(1.0f));
  (*local)->put(k, "x", c.ttl);
  EXPECT_EQ((*local)->get(k), "x");

  c.max_entries = 0;
  EXPECT_EQ(make_cache(c).error().code, "invalid_cache_config");
  c = CacheConfig{};
  c.mode = Mode::redis;
  EXPECT_EQ(make_cache(c).error().code, "invalid_cache_config");  // no URL
  c.redis_url = "redis://:pw@host:notaport";
  EXPECT_EQ(make_cache(c).error().code, "invalid_redis_url");
  c.redis_url = "redis://127.0.0.1:1";
  c.command_timeout = 0ms;
  EXPECT_EQ(make_cache(c).error().code, "invalid_cache_config");
}

}  // namespace
}  // namespace cache
