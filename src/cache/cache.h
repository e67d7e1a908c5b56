#pragma once
// cache: a Cache interface for scored results and embeddings, with three back ends:
//   LocalLru       in-process, sharded, size-bounded LRU with per-entry TTL (the default);
//   RedisCache     hiredis, pooled connections, pipelined batches, timeouts, circuit breaker;
//   TwoLevelCache  a LocalLru in front of a RedisCache (hot leads served locally).
// make_cache(CacheConfig) builds one from configuration.
//
// Privacy (DPDP, docs/CACHE.md): keys are SHA-256 digests of (model version, encoded feature
// row) or of (namespace, already-scrubbed bytes); lead tags are keyed HMACs of lead ids. No raw
// JSON, no lead id, no personal data ever reaches a key or an index.
//
// Failure policy: get/put never fail to the caller. A back end that is down or slow turns gets
// into misses and drops puts, counts it in stats(), and reports Health::degraded. Only
// erase_lead and lead_entries return errors, because an erasure or access request that did not
// happen must be retried or reported (DPDP).
//
// Thread safety: every Cache method may be called concurrently from any thread.
//
// Typical use (docs/CACHE.md):
//   auto cache = *make_cache(config);                       // once, at startup
//   auto tagger = *make_lead_tagger(config.mode, secret);   // once, at startup
//   const Key key = make_key(model_version, feature_row);   // per lead
//   if (cache->get_into(key, buf)) { auto v = unpack_score(buf); ... cached: true }
//   else { ...score...; cache->put(key, pack_score(v), config.ttl, tagger.tag(lead_id)); }
//   erase: cache->erase_lead(tagger.tag(lead_id));   record: cache->lead_entries(...)

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cache {

using Ttl = std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;
// Injectable clock for TTLs and the breaker cool-down (tests advance it instead of sleeping).
using ClockFn = std::function<TimePoint()>;

inline constexpr std::size_t kDigestSize = 16;  // 128 bits of SHA-256 / HMAC-SHA256
using Digest = std::array<std::uint8_t, kDigestSize>;

class Key;
namespace detail {
// domain separates score keys from generic keys inside the hash.
Key make_key_impl(char domain, std::string_view ns, std::span<const std::byte> bytes);
}  // namespace detail

// A cache key: a 128-bit digest plus its Redis rendering, stored inline (no allocation).
// Rendering: "ls:v1:score:<model version>:<32 hex>" or "ls:v1:<namespace>:<32 hex>".
// The version/namespace in the text is for operators (SCAN, MEMORY USAGE); identity is the
// digest, which covers the full, unsanitised version/namespace.
class Key {
 public:
  static constexpr std::size_t kMaxText = 96;

  Key() = default;
  const Digest& digest() const { return digest_; }
  std::string_view str() const { return {text_.data(), len_}; }
  friend bool operator==(const Key& a, const Key& b) { return a.digest_ == b.digest_; }

 private:
  friend Key detail::make_key_impl(char domain, std::string_view ns,
                                   std::span<const std::byte> bytes);
  Digest digest_{};
  std::array<char, kMaxText> text_{};
  std::uint8_t len_ = 0;
};

// Key of a scored lead: SHA-256 over (model version, the feature row's float32 bytes,
// little-endian, NaN and -0.0 canonicalised so equivalent rows share a key). A new model
// version never maps to an old entry.
Key make_key(std::string_view model_version, std::span<const float> row);

// Key of anything else, e.g. an embedding: namespace = "emb:<model id>", bytes = the
// *scrubbed* text (the caller scrubs; the cache only hashes).
Key make_key(std::string_view name_space, std::span<const std::byte> bytes);
Key make_key(std::string_view name_space, std::string_view bytes);

// A lead tag: a keyed hash (HMAC-SHA256, 128 bits) of a lead id, used to find every cache
// entry of a lead for erasure. Rendered as "ls:v1:lead:<32 hex>" (the Redis index set).
// A default-constructed tag is empty: "no lead" (the entry is not indexed).
class LeadTag {
 public:
  LeadTag() = default;
  bool empty() const { return len_ == 0; }
  const Digest& digest() const { return digest_; }
  std::string_view str() const { return {text_.data(), len_}; }
  friend bool operator==(const LeadTag& a, const LeadTag& b) {
    return a.len_ == b.len_ && a.digest_ == b.digest_;
  }

 private:
  friend class LeadTagger;
  Digest digest_{};
  std::array<char, 48> text_{};
  std::uint8_t len_ = 0;
};

// Makes lead tags from lead ids with a secret key. Every replica sharing a Redis must use the
// same secret, and it must survive restarts, or erase_lead will not find older entries.
// The secret makes tags of phone-number-like ids impossible to reverse by brute force.
class LeadTagger {
 public:
  static constexpr std::size_t kMinSecret = 16;
  // Error `cache_secret_too_short` if the secret has fewer than kMinSecret bytes.
  static core::Result<LeadTagger> create(std::string_view secret);
  // A tagger with a random secret: fine for a single process with a local-only cache.
  static LeadTagger random();

  LeadTag tag(std::string_view lead_id) const;
  // The tag of the lead's cached rerank embeddings: HMAC over a 0xFF-prefixed message (0xFF
  // never occurs in UTF-8, so no lead id's tag() can equal another's embedding_tag()). Kept
  // apart from tag() so erasure and access requests report scores and embeddings separately.
  LeadTag embedding_tag(std::string_view lead_id) const;

 private:
  explicit LeadTagger(std::string_view secret);
  LeadTag hmac_tag(std::string_view domain, std::string_view lead_id) const;
  // HMAC-SHA256 key blocks (key XOR ipad / opad), precomputed once.
  std::array<std::uint8_t, 64> ipad_{};
  std::array<std::uint8_t, 64> opad_{};
};

// ---- Compact value for a scored lead ------------------------------------------------------

struct Reason {
  std::uint16_t feature = 0;  // feature index in the model's column order
  float value = 0;            // the encoded feature value
  float impact = 0;           // SHAP contribution
};

struct ScoreValue {
  float intent_score = 0;  // calibrated probability
  std::uint8_t score = 0;  // 0..100
  char grade = 'D';
  float percentile = 0;
  std::uint8_t n_reasons = 0;  // <= 3
  std::array<Reason, 3> reasons{};
  friend bool operator==(const ScoreValue&, const ScoreValue&) = default;
};

// Fixed little-endian layout: version byte (1), intent f32, score u8, grade, percentile f32,
// n_reasons u8, 3 x (feature u16, value f32, impact f32).
inline constexpr std::uint8_t kScoreValueVersion = 1;
inline constexpr std::size_t kScoreValueSize = 1 + 4 + 1 + 1 + 4 + 1 + 3 * (2 + 4 + 4);

void pack_score(const ScoreValue& v, std::span<char, kScoreValueSize> out);
std::string pack_score(const ScoreValue& v);
// Error `cache_value_invalid` for a wrong size, unknown version or n_reasons > 3: treat it
// as a miss.
core::Result<ScoreValue> unpack_score(std::string_view bytes);

// ---- The interface ---------------------------------------------------------------------------

enum class Health { ok, degraded };
enum class BreakerState { closed, open, half_open };
std::string_view to_string(Health h);
std::string_view to_string(BreakerState s);

struct CacheStats {
  std::uint64_t hits = 0;         // gets answered (any tier)
  std::uint64_t misses = 0;       // gets not answered (including failed/skipped remote gets)
  std::uint64_t local_hits = 0;   // hits served by an in-process tier
  std::uint64_t remote_hits = 0;  // hits served by Redis
  std::uint64_t puts = 0;         // entries written (attempted)
  std::uint64_t evictions = 0;    // local entries dropped for the size bound
  std::uint64_t expirations = 0;  // local entries found expired
  std::uint64_t errors = 0;       // remote operations that failed (timeout, I/O, error reply)
  std::uint64_t skipped = 0;      // remote operations skipped because the breaker was open
  std::uint64_t breaker_opens = 0;
  BreakerState breaker = BreakerState::closed;
  std::uint64_t entries = 0;  // local entries now
  std::uint64_t bytes = 0;    // local bytes now (keys + values, approximate)
};

// One entry held for a lead (access requests): the key digest, the stored value (for scores a
// packed ScoreValue) and the time it has left before it expires.
struct LeadEntry {
  Digest key{};
  std::string value;
  Ttl ttl_left{};
};

struct PutItem {
  Key key;
  std::string_view value;  // viewed, not owned: must stay alive during put_many
  Ttl ttl{};
  LeadTag tag;  // empty: not indexed for erasure
};

class Cache {
 public:
  virtual ~Cache() = default;

  // Copies the value of `key` into `out` (reusing its capacity) and returns true on a hit.
  virtual bool get_into(const Key& key, std::string& out) = 0;
  std::optional<std::string> get(const Key& key);

  // One result per key, in order; Redis answers all of them in one MGET round trip.
  virtual std::vector<std::optional<std::string>> get_many(std::span<const Key> keys) = 0;

  // Stores `value` for `ttl` (ttl <= 0: not stored). A non-empty `tag` indexes the entry
  // under its lead for erase_lead.
  virtual void put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag = {}) = 0;
  // Redis sends all items in one pipelined round trip.
  virtual void put_many(std::span<const PutItem> items) = 0;

  // Removes every entry stored under `tag` (here and, for Redis, for every client sharing
  // it); returns how many entries were removed. Error `cache_unavailable` when Redis could
  // not be reached: the erasure must then be retried.
  virtual core::Result<std::size_t> erase_lead(const LeadTag& tag) = 0;

  // Every live entry stored under `tag` (for GET /v1/leads/{id}/record). Error
  // `cache_unavailable` when Redis could not be reached.
  virtual core::Result<std::vector<LeadEntry>> lead_entries(const LeadTag& tag) = 0;

  // Retention: drops entries whose TTL has passed from in-process memory now instead of on
  // their next access; returns how many. Redis expires keys itself (0). Call periodically.
  virtual std::size_t purge_expired() = 0;

  virtual CacheStats stats() const = 0;
  virtual Health health() const = 0;
};

// Every get misses, put does nothing. mode=none.
class NullCache final : public Cache {
 public:
  bool get_into(const Key& key, std::string& out) override;
  std::vector<std::optional<std::string>> get_many(std::span<const Key> keys) override;
  void put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag = {}) override;
  void put_many(std::span<const PutItem> items) override;
  core::Result<std::size_t> erase_lead(const LeadTag& tag) override;
  core::Result<std::vector<LeadEntry>> lead_entries(const LeadTag& tag) override;
  std::size_t purge_expired() override;
  CacheStats stats() const override;
  Health health() const override { return Health::ok; }

 private:
  mutable std::atomic<std::uint64_t> misses_{0};
};

// ---- In-process LRU ----------------------------------------------------------------------------

struct LocalLruOptions {
  std::size_t max_entries = 100'000;     // across all shards
  std::size_t max_bytes = 64u << 20;     // across all shards (key + value + overhead)
  std::size_t shards = 16;               // rounded up to a power of two
  Ttl max_ttl = Ttl::max();              // caps every put's TTL (two-level: local tier TTL)
  ClockFn clock;                         // default: steady_clock::now
};

class LocalLru final : public Cache {
 public:
  explicit LocalLru(LocalLruOptions options = {});
  ~LocalLru() override;

  bool get_into(const Key& key, std::string& out) override;
  std::vector<std::optional<std::string>> get_many(std::span<const Key> keys) override;
  void put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag = {}) override;
  void put_many(std::span<const PutItem> items) override;
  core::Result<std::size_t> erase_lead(const LeadTag& tag) override;
  core::Result<std::vector<LeadEntry>> lead_entries(const LeadTag& tag) override;
  std::size_t purge_expired() override;
  CacheStats stats() const override;
  Health health() const override { return Health::ok; }

  // Removes one entry by key digest (two-level erasure of entries filled from Redis).
  // True if it was present.
  bool erase(const Digest& key);

 private:
  struct Shard;
  Shard& shard_for(const Digest& d) const;
  LocalLruOptions options_;
  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_mask_ = 0;
};

// ---- Redis -----------------------------------------------------------------------------------

// redis://[[user]:password@]host[:port][/db]; host may be [ipv6]. user/password are
// percent-decoded. Errors: `invalid_redis_url` (with the reason, never the password).
struct RedisUrl {
  std::string host;
  int port = 6379;
  std::string user;      // empty: default user
  std::string password;  // empty: no AUTH
  int db = 0;
};
core::Result<RedisUrl> parse_redis_url(std::string_view url);

// Called when Redis becomes unavailable (the breaker opens; `reason` says what failed, e.g.
// "AUTH refused", never a password or a value) and when it is back (`available`, reason "").
// Runs on the thread whose call changed the state: keep it short (e.g. one log line).
using AvailabilityFn = std::function<void(bool available, std::string_view reason)>;

struct RedisOptions {
  RedisUrl url;
  Ttl connect_timeout{50};
  Ttl command_timeout{5};
  std::size_t pool_size = 0;         // connections; 0: 2 x hardware threads
  int breaker_failures = 5;          // consecutive failures that open the breaker
  Ttl breaker_cooldown{1000};        // open -> half-open (one probe) after this long
  ClockFn clock;                     // default: steady_clock::now
  AvailabilityFn on_availability{};  // see AvailabilityFn
};

class RedisCache final : public Cache {
 public:
  // Never fails: an unreachable Redis is the degraded state, retried by the breaker.
  explicit RedisCache(RedisOptions options);
  ~RedisCache() override;

  bool get_into(const Key& key, std::string& out) override;
  std::vector<std::optional<std::string>> get_many(std::span<const Key> keys) override;
  void put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag = {}) override;
  void put_many(std::span<const PutItem> items) override;
  core::Result<std::size_t> erase_lead(const LeadTag& tag) override;
  core::Result<std::vector<LeadEntry>> lead_entries(const LeadTag& tag) override;
  std::size_t purge_expired() override;
  CacheStats stats() const override;
  // degraded while the breaker is not closed. When it is open and its cool-down has passed,
  // health() itself makes the half-open probe (one PING, bounded by the timeouts), so an idle
  // process recovers without traffic.
  Health health() const override;

  // get_many / get_into that also report each hit's remaining lifetime in Redis (PTTL;
  // Ttl::max() for a key without expiry; zero for a miss), still in one round trip (a Lua
  // script: GET and PTTL per key). Two-level mode uses them so a local copy filled from Redis
  // never outlives the Redis entry.
  std::vector<std::optional<std::string>> get_many_with_ttl(std::span<const Key> keys,
                                                            std::vector<Ttl>& ttl_left);
  bool get_into_with_ttl(const Key& key, std::string& out, Ttl& ttl_left);

  // erase_lead that also appends the indexed keys' Redis names to *keys (two-level cleanup of
  // local copies filled from Redis, which carry no tag).
  core::Result<std::size_t> erase_lead_keys(const LeadTag& tag, std::vector<std::string>* keys);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Two-level --------------------------------------------------------------------------------

// Reads local first, then Redis (filling local on a Redis hit); writes through to both.
// Other replicas' local tiers keep an erased lead's entries until local_ttl expires: keep
// local_ttl short (CacheConfig::local_ttl, default 60 s).
class TwoLevelCache final : public Cache {
 public:
  TwoLevelCache(std::unique_ptr<LocalLru> local, std::unique_ptr<RedisCache> remote);
  ~TwoLevelCache() override;

  bool get_into(const Key& key, std::string& out) override;
  std::vector<std::optional<std::string>> get_many(std::span<const Key> keys) override;
  void put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag = {}) override;
  void put_many(std::span<const PutItem> items) override;
  core::Result<std::size_t> erase_lead(const LeadTag& tag) override;
  core::Result<std::vector<LeadEntry>> lead_entries(const LeadTag& tag) override;
  std::size_t purge_expired() override;
  CacheStats stats() const override;
  Health health() const override;

 private:
  std::unique_ptr<LocalLru> local_;
  std::unique_ptr<RedisCache> remote_;
};

// ---- Configuration ----------------------------------------------------------------------------

enum class Mode { none, local, redis, two_level };
// "none" | "local" | "redis" | "two-level"; error `invalid_cache_mode`.
core::Result<Mode> parse_mode(std::string_view s);
std::string_view to_string(Mode m);

struct CacheConfig {
  Mode mode = Mode::local;
  Ttl ttl = std::chrono::hours(1);  // default TTL for puts (callers pass it to put)
  std::size_t max_entries = 100'000;
  std::size_t max_bytes = 64u << 20;
  std::size_t shards = 16;
  Ttl local_ttl = std::chrono::seconds(60);  // two-level: cap on the local tier's TTL
  std::string redis_url;                     // required for redis / two-level
  Ttl connect_timeout{50};
  Ttl command_timeout{5};
  std::size_t pool_size = 0;
  int breaker_failures = 5;
  Ttl breaker_cooldown{1000};
  ClockFn clock;
  AvailabilityFn on_availability;
};

// Errors: `invalid_redis_url`, `invalid_cache_config` (zero sizes, missing url).
core::Result<std::unique_ptr<Cache>> make_cache(const CacheConfig& config);

// The tagger a deployment should use. With a shared Redis (redis / two-level) the secret is
// required (error `cache_secret_required`): every replica, before and after restarts, must tag
// a lead id the same way or erasure misses entries. Local-only modes may leave it empty and get
// a random per-process secret. Errors also as LeadTagger::create.
core::Result<LeadTagger> make_lead_tagger(Mode mode, std::string_view secret);

}  // namespace cache
