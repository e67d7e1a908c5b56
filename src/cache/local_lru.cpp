// LocalLru: sharded in-process LRU. Each shard owns its entries, its LRU list and its slice of
// the lead-tag index, so one mutex per shard guards all three and they never disagree.
#include <algorithm>
#include <bit>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>

#include "cache/cache.h"

namespace cache {
namespace {

struct DigestHash {
  std::size_t operator()(const Digest& d) const {
    std::uint64_t h;
    std::memcpy(&h, d.data(), sizeof h);  // already uniformly distributed (SHA-256)
    return static_cast<std::size_t>(h);
  }
};

// Entries carry this overhead on top of the value bytes in the byte bound (list node, map
// node, bookkeeping): keeps max_bytes meaningful for tiny values.
constexpr std::size_t kEntryOverhead = 128;
// Beyond this, a TTL is treated as "ten years" (avoids time_point overflow).
constexpr Ttl kTtlCap = std::chrono::hours(24 * 3650);

}  // namespace

struct LocalLru::Shard {
  struct Entry {
    Digest key;
    std::string value;
    TimePoint expires;
    Digest tag;
    bool tagged = false;
  };
  using List = std::list<Entry>;

  mutable std::mutex mu;
  List lru;  // front: most recently used
  std::unordered_map<Digest, List::iterator, DigestHash> map;
  std::unordered_map<Digest, std::vector<Digest>, DigestHash> by_tag;
  std::size_t bytes = 0;
  std::size_t max_entries = 0;
  std::size_t max_bytes = 0;
  std::uint64_t hits = 0, misses = 0, puts = 0, evictions = 0, expirations = 0;

  static std::size_t cost(const Entry& e) { return e.value.size() + kEntryOverhead; }

  void untag(const Entry& e) {
    if (!e.tagged) return;
    auto it = by_tag.find(e.tag);
    if (it == by_tag.end()) return;
    auto& keys = it->second;
    keys.erase(std::remove(keys.begin(), keys.end(), e.key), keys.end());
    if (keys.empty()) by_tag.erase(it);
  }

  void remove(List::iterator it) {
    untag(*it);
    bytes -= cost(*it);
    map.erase(it->key);
    lru.erase(it);
  }

  void evict_to_bounds() {
    while (!lru.empty() && (map.size() > max_entries || bytes > max_bytes)) {
      remove(std::prev(lru.end()));
      ++evictions;
    }
  }
};

LocalLru::LocalLru(LocalLruOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
  const std::size_t n = std::bit_ceil(std::max<std::size_t>(1, options_.shards));
  shards_ = std::make_unique<Shard[]>(n);
  shard_mask_ = n - 1;
  for (std::size_t i = 0; i < n; ++i) {
    // Bounds are per shard (floor division): the total stays within the configured bound
    // unless it is smaller than the shard count (at least one entry per shard).
    shards_[i].max_entries = std::max<std::size_t>(1, options_.max_entries / n);
    shards_[i].max_bytes = std::max<std::size_t>(kEntryOverhead + 1, options_.max_bytes / n);
  }
}

LocalLru::~LocalLru() = default;

LocalLru::Shard& LocalLru::shard_for(const Digest& d) const {
  // Bytes 8..15 pick the shard; bytes 0..7 hash within it: independent bits.
  std::uint64_t h;
  std::memcpy(&h, d.data() + 8, sizeof h);
  return shards_[h & shard_mask_];
}

bool LocalLru::get_into(const Key& key, std::string& out) {
  Shard& s = shard_for(key.digest());
  const TimePoint now = options_.clock();
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key.digest());
  if (it == s.map.end()) {
    ++s.misses;
    return false;
  }
  if (it->second->expires <= now) {
    s.remove(it->second);
    ++s.expirations;
    ++s.misses;
    return false;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  out.assign(it->second->value);
  ++s.hits;
  return true;
}

std::vector<std::optional<std::string>> LocalLru::get_many(std::span<const Key> keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  std::string buf;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (get_into(keys[i], buf)) out[i] = buf;
  }
  return out;
}

void LocalLru::put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag) {
  if (ttl <= Ttl::zero()) return;
  ttl = std::min({ttl, options_.max_ttl, kTtlCap});
  Shard& s = shard_for(key.digest());
  const TimePoint expires = options_.clock() + ttl;
  std::lock_guard lock(s.mu);
  ++s.puts;
  auto found = s.map.find(key.digest());
  if (found != s.map.end()) s.remove(found->second);
  if (value.size() + kEntryOverhead > s.max_bytes) return;  // could never fit
  s.lru.push_front(Shard::Entry{key.digest(), std::string(value), expires, tag.digest(),
                                !tag.empty()});
  auto it = s.lru.begin();
  s.map.emplace(key.digest(), it);
  s.bytes += Shard::cost(*it);
  if (it->tagged) s.by_tag[it->tag].push_back(it->key);
  s.evict_to_bounds();
}

void LocalLru::put_many(std::span<const PutItem> items) {
  for (const PutItem& item : items) put(item.key, item.value, item.ttl, item.tag);
}

core::Result<std::size_t> LocalLru::erase_lead(const LeadTag& tag) {
  if (tag.empty()) return std::size_t{0};
  std::size_t removed = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    auto it = s.by_tag.find(tag.digest());
    if (it == s.by_tag.end()) continue;
    const std::vector<Digest> keys = std::move(it->second);
    s.by_tag.erase(it);
    for (const Digest& k : keys) {
      auto e = s.map.find(k);
      if (e == s.map.end()) continue;
      e->second->tagged = false;  // index entry already gone
      s.remove(e->second);
      ++removed;
    }
  }
  return removed;
}

core::Result<std::vector<LeadEntry>> LocalLru::lead_entries(const LeadTag& tag) {
  std::vector<LeadEntry> out;
  if (tag.empty()) return out;
  const TimePoint now = options_.clock();
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    auto it = s.by_tag.find(tag.digest());
    if (it == s.by_tag.end()) continue;
    for (const Digest& k : it->second) {
      auto e = s.map.find(k);
      if (e == s.map.end() || e->second->expires <= now) continue;
      out.push_back(LeadEntry{
          k, e->second->value,
          std::chrono::duration_cast<Ttl>(e->second->expires - now)});
    }
  }
  return out;
}

std::size_t LocalLru::purge_expired() {
  std::size_t purged = 0;
  const TimePoint now = options_.clock();
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      auto next = std::next(it);
      if (it->expires <= now) {
        s.remove(it);
        ++s.expirations;
        ++purged;
      }
      it = next;
    }
  }
  return purged;
}

bool LocalLru::erase(const Digest& key) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return false;
  s.remove(it->second);
  return true;
}

CacheStats LocalLru::stats() const {
  CacheStats st;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    st.hits += s.hits;
    st.misses += s.misses;
    st.puts += s.puts;
    st.evictions += s.evictions;
    st.expirations += s.expirations;
    st.entries += s.map.size();
    st.bytes += s.bytes;
  }
  st.local_hits = st.hits;
  return st;
}

// ---- NullCache ----

bool NullCache::get_into(const Key&, std::string&) {
  misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

std::vector<std::optional<std::string>> NullCache::get_many(std::span<const Key> keys) {
  misses_.fetch_add(keys.size(), std::memory_order_relaxed);
  return std::vector<std::optional<std::string>>(keys.size());
}

void NullCache::put(const Key&, std::string_view, Ttl, const LeadTag&) {}
void NullCache::put_many(std::span<const PutItem>) {}
core::Result<std::size_t> NullCache::erase_lead(const LeadTag&) { return std::size_t{0}; }
core::Result<std::vector<LeadEntry>> NullCache::lead_entries(const LeadTag&) {
  return std::vector<LeadEntry>{};
}
std::size_t NullCache::purge_expired() { return 0; }

CacheStats NullCache::stats() const {
  CacheStats st;
  st.misses = misses_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace cache
