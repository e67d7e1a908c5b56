// make_cache: CacheConfig -> a Cache.
#include "cache/cache.h"

namespace cache {
namespace {

auto config_error(std::string message, std::string field) {
  return core::make_error("invalid_cache_config", std::move(message), std::move(field));
}

}  // namespace

core::Result<Mode> parse_mode(std::string_view s) {
  if (s == "none") return Mode::none;
  if (s == "local") return Mode::local;
  if (s == "redis") return Mode::redis;
  if (s == "two-level") return Mode::two_level;
  return core::make_error("invalid_cache_mode",
                          "cache mode must be none, local, redis or two-level", "cache");
}

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::none: return "none";
    case Mode::local: return "local";
    case Mode::redis: return "redis";
    case Mode::two_level: return "two-level";
  }
  return "none";
}

core::Result<std::unique_ptr<Cache>> make_cache(const CacheConfig& c) {
  if (c.mode == Mode::none) return std::unique_ptr<Cache>(std::make_unique<NullCache>());
  if (c.ttl <= Ttl::zero()) return config_error("cache TTL must be positive", "cache_ttl");
  const bool local = c.mode == Mode::local || c.mode == Mode::two_level;
  if (local && (c.max_entries == 0 || c.max_bytes == 0 || c.shards == 0)) {
    return config_error("cache sizes and shard count must be positive", "cache_max_entries");
  }
  LocalLruOptions lo{c.max_entries, c.max_bytes, c.shards, Ttl::max(), c.clock};
  if (c.mode == Mode::local) return std::unique_ptr<Cache>(std::make_unique<LocalLru>(lo));

  if (c.redis_url.empty()) return config_error("this cache mode needs a Redis URL", "redis");
  if (c.connect_timeout <= Ttl::zero() || c.command_timeout <= Ttl::zero()) {
    return config_error("Redis timeouts must be positive", "redis_timeout");
  }
  if (c.breaker_failures < 1 || c.breaker_cooldown <= Ttl::zero()) {
    return config_error("breaker threshold and cool-down must be positive", "redis_breaker");
  }
  LS_ASSIGN_OR_RETURN(RedisUrl url, parse_redis_url(c.redis_url));
  RedisOptions ro{std::move(url), c.connect_timeout, c.command_timeout, c.pool_size,
                  c.breaker_failures, c.breaker_cooldown, c.clock, c.on_availability};
  auto redis = std::make_unique<RedisCache>(std::move(ro));
  if (!local) return std::unique_ptr<Cache>(std::move(redis));
  if (c.local_ttl <= Ttl::zero()) return config_error("local TTL must be positive", "local_ttl");
  lo.max_ttl = c.local_ttl;
  return std::unique_ptr<Cache>(
      std::make_unique<TwoLevelCache>(std::make_unique<LocalLru>(lo), std::move(redis)));
}

core::Result<LeadTagger> make_lead_tagger(Mode mode, std::string_view secret) {
  if (!secret.empty()) return LeadTagger::create(secret);
  if (mode == Mode::redis || mode == Mode::two_level) {
    return core::make_error("cache_secret_required",
                            "a shared Redis cache needs a lead tag secret shared by all replicas",
                            "cache_secret");
  }
  return LeadTagger::random();
}

}  // namespace cache
