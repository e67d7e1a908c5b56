// TwoLevelCache: a LocalLru in front of a RedisCache.
#include <algorithm>

#include "cache/cache.h"
#include "cache/key_name.h"

namespace cache {

TwoLevelCache::TwoLevelCache(std::unique_ptr<LocalLru> local, std::unique_ptr<RedisCache> remote)
    : local_(std::move(local)), remote_(std::move(remote)) {}

TwoLevelCache::~TwoLevelCache() = default;

bool TwoLevelCache::get_into(const Key& key, std::string& out) {
  if (local_->get_into(key, out)) return true;
  Ttl left{};
  if (!remote_->get_into_with_ttl(key, out, left)) return false;
  // Untagged local copy: erase_lead finds it through the Redis index (see erase_lead). It
  // lives no longer than the Redis entry (and the local tier caps it at local_ttl), so no
  // replica answers from a copy of an entry Redis has expired.
  local_->put(key, out, left);
  return true;
}

std::vector<std::optional<std::string>> TwoLevelCache::get_many(std::span<const Key> keys) {
  std::vector<std::optional<std::string>> out = local_->get_many(keys);
  std::vector<Key> missing;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!out[i]) {
      missing.push_back(keys[i]);
      where.push_back(i);
    }
  }
  if (missing.empty()) return out;
  std::vector<Ttl> left;
  std::vector<std::optional<std::string>> remote = remote_->get_many_with_ttl(missing, left);
  for (std::size_t j = 0; j < missing.size(); ++j) {
    if (!remote[j]) continue;
    local_->put(missing[j], *remote[j], left[j]);  // as in get_into
    out[where[j]] = std::move(remote[j]);
  }
  return out;
}

void TwoLevelCache::put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag) {
  local_->put(key, value, ttl, tag);
  remote_->put(key, value, ttl, tag);
}

void TwoLevelCache::put_many(std::span<const PutItem> items) {
  local_->put_many(items);
  remote_->put_many(items);
}

core::Result<std::size_t> TwoLevelCache::erase_lead(const LeadTag& tag) {
  LS_ASSIGN_OR_RETURN(std::size_t local_removed, local_->erase_lead(tag));
  std::vector<std::string> names;
  auto remote_removed = remote_->erase_lead_keys(tag, &names);
  // Local copies filled from Redis carry no tag: remove them by the keys Redis indexed.
  for (const std::string& name : names) {
    if (auto d = digest_from_key_name(name)) local_removed += local_->erase(*d);
  }
  if (!remote_removed) return tl::unexpected<core::Error>(std::move(remote_removed).error());
  return std::max(local_removed, *remote_removed);
}

core::Result<std::vector<LeadEntry>> TwoLevelCache::lead_entries(const LeadTag& tag) {
  LS_ASSIGN_OR_RETURN(std::vector<LeadEntry> out, remote_->lead_entries(tag));
  LS_ASSIGN_OR_RETURN(std::vector<LeadEntry> local, local_->lead_entries(tag));
  // Redis is the shared truth; add local entries it no longer has (e.g. written while it was
  // down).
  for (LeadEntry& e : local) {
    const bool known = std::any_of(out.begin(), out.end(),
                                   [&](const LeadEntry& r) { return r.key == e.key; });
    if (!known) out.push_back(std::move(e));
  }
  return out;
}

std::size_t TwoLevelCache::purge_expired() { return local_->purge_expired(); }

CacheStats TwoLevelCache::stats() const {
  const CacheStats l = local_->stats();
  const CacheStats r = remote_->stats();
  CacheStats st = r;  // misses, errors, skipped, breaker: decided by the remote tier
  st.local_hits = l.hits;
  st.remote_hits = r.hits;
  st.hits = l.hits + r.hits;
  st.puts = l.puts;
  st.evictions = l.evictions;
  st.expirations = l.expirations;
  st.entries = l.entries;
  st.bytes = l.bytes;
  return st;
}

Health TwoLevelCache::health() const { return remote_->health(); }

}  // namespace cache
