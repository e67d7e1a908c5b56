// RedisCache: blocking hiredis connections with socket timeouts, one per calling thread (a
// fixed pool indexed by a thread-local slot), and a circuit breaker shared by the pool.
// Nothing here throws or returns an error from get/put: failures are counted and become misses.
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include <hiredis.h>
#include <openssl/evp.h>

#include "cache/cache.h"
#include "cache/key_name.h"

namespace cache {
namespace {

// Stores the value and indexes the key under its lead tag; the tag set lives at least as long
// as its longest-lived entry (PTTL is -1 on a fresh set). Atomic: no window where an entry
// exists but erase_lead cannot find it.
constexpr std::string_view kPutTaggedScript =
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('SADD', KEYS[2], KEYS[1])\n"
    "if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then\n"
    "  redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
    "end\n"
    "return 1\n";

// Deletes every key indexed under the tag and the tag set itself; returns the number of
// entries deleted and the indexed key names. Atomic against concurrent tagged puts.
constexpr std::string_view kEraseScript =
    "local m = redis.call('SMEMBERS', KEYS[1])\n"
    "local n = 0\n"
    "for i = 1, #m, 500 do\n"
    "  n = n + redis.call('DEL', unpack(m, i, math.min(i + 499, #m)))\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return {n, m}\n";

// Every live entry under a lead tag as a flat array: name, value, remaining ms, ...
constexpr std::string_view kLeadEntriesScript =
    "local m = redis.call('SMEMBERS', KEYS[1])\n"
    "local out = {}\n"
    "for i = 1, #m do\n"
    "  local v = redis.call('GET', m[i])\n"
    "  if v then\n"
    "    out[#out + 1] = m[i]\n"
    "    out[#out + 1] = v\n"
    "    out[#out + 1] = redis.call('PTTL', m[i])\n"
    "  end\n"
    "end\n"
    "return out\n";

// Values and remaining lifetimes of KEYS as a flat array: value (nil on a miss), PTTL in ms
// (-1: no expiry; -2 on a miss), ... Read in one step, so a hit's PTTL is its own.
constexpr std::string_view kGetWithTtlScript =
    "local out = {}\n"
    "for i = 1, #KEYS do\n"
    "  local v = redis.call('GET', KEYS[i])\n"
    "  out[2 * i - 1] = v\n"
    "  out[2 * i] = v and redis.call('PTTL', KEYS[i]) or -2\n"
    "end\n"
    "return out\n";

std::string sha1_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

timeval to_timeval(Ttl t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t).count();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return tv;
}

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

ReplyPtr command_argv(redisContext* c, std::span<const std::string_view> args) {
  const char* argv[8];
  std::size_t lens[8];
  const std::size_t n = std::min<std::size_t>(args.size(), 8);
  for (std::size_t i = 0; i < n; ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  return ReplyPtr(
      static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(n), argv, lens)));
}

bool reply_ok(const redisReply* r) {
  return r != nullptr && r->type != REDIS_REPLY_ERROR;
}

// EOF, reset or broken pipe, as opposed to a timeout (EAGAIN from SO_RCVTIMEO/SO_SNDTIMEO).
bool closed_by_peer(const redisContext* c) {
  if (c->err == REDIS_ERR_EOF) return true;
  return c->err == REDIS_ERR_IO && std::strcmp(c->errstr, std::strerror(EAGAIN)) != 0;
}

bool is_hex_digest(std::string_view s) {
  return s.size() == 2 * kDigestSize &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// An integer in [0, max]; false on anything else.
bool parse_uint(std::string_view s, long max, long& out) {
  if (s.empty() || s.size() > 9) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    auto hexval = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

auto url_error(std::string_view why) {
  // Never echo the URL: it may carry a password.
  return core::make_error("invalid_redis_url", "invalid Redis URL: " + std::string(why),
                          "redis_url");
}

}  // namespace

core::Result<RedisUrl> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return url_error("expected redis://[[user]:password@]host[:port][/db]");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return url_error("query parameters are not supported");
  }
  RedisUrl out;
  const std::size_t at = rest.rfind('@');
  std::string_view authority_and_path = rest;
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    authority_and_path = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return url_error("credentials must be user:password or :password");
    }
    if (!percent_decode(userinfo.substr(0, colon), out.user) ||
        !percent_decode(userinfo.substr(colon + 1), out.password)) {
      return url_error("bad percent-encoding in credentials");
    }
    if (out.password.empty()) return url_error("empty password");
  }
  const std::size_t slash = authority_and_path.find('/');
  std::string_view hostport = authority_and_path.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view db = authority_and_path.substr(slash + 1);
    long v = 0;
    if (!db.empty()) {
      if (!parse_uint(db, 1'000'000, v)) return url_error("database must be a number");
      out.db = static_cast<int>(v);
    }
  }
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return url_error("unterminated [ipv6] host");
    out.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return url_error("junk after ]");
      port = after.substr(1);
      if (port.empty()) return url_error("empty port");
    }
  } else {
    const std::size_t colon = hostport.rfind(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return url_error("empty port");
    }
  }
  if (out.host.empty()) return url_error("missing host");
  if (!port.empty()) {
    long v = 0;
    if (!parse_uint(port, 65535, v) || v == 0) return url_error("port must be 1..65535");
    out.port = static_cast<int>(v);
  }
  return out;
}

namespace {

enum : int { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

// Closed: everything goes to Redis. After `threshold` consecutive failures: open, every call is
// skipped until `cooldown` has passed; then one caller probes (half-open) and its outcome
// closes or re-opens the breaker.
class Breaker {
 public:
  Breaker(int threshold, Ttl cooldown, ClockFn clock)
      : threshold_(std::max(1, threshold)), cooldown_(cooldown), clock_(std::move(clock)) {}

  bool allow() {
    int s = state_.load(std::memory_order_acquire);
    if (s == kClosed) return true;
    if (s == kHalfOpen) return false;  // a probe is in flight
    const auto now = clock_().time_since_epoch().count();
    if (now - opened_at_.load(std::memory_order_acquire) < to_ticks(cooldown_)) return false;
    return state_.compare_exchange_strong(s, kHalfOpen);  // only one winner probes
  }

  // Open and the cool-down has passed: the next allow() would let a probe through.
  bool probe_due() const {
    if (state_.load(std::memory_order_acquire) != kOpen) return false;
    const auto now = clock_().time_since_epoch().count();
    return now - opened_at_.load(std::memory_order_acquire) >= to_ticks(cooldown_);
  }

  // True when this call closed an open breaker (Redis is back).
  bool success() {
    // Read before writing: the common case touches no shared cache line for writing.
    if (failures_.load(std::memory_order_relaxed) != 0) {
      failures_.store(0, std::memory_order_relaxed);
    }
    if (state_.load(std::memory_order_relaxed) == kClosed) return false;
    return state_.exchange(kClosed, std::memory_order_acq_rel) != kClosed;
  }

  // True when this call opened a closed breaker (Redis just became unavailable; a failed
  // half-open probe re-opens it without reporting again).
  bool failure() {
    int s = state_.load(std::memory_order_acquire);
    if (s == kHalfOpen) {
      open();
      return false;
    }
    if (failures_.fetch_add(1, std::memory_order_relaxed) + 1 >= threshold_ && s == kClosed &&
        state_.compare_exchange_strong(s, kOpen)) {
      opened_at_.store(clock_().time_since_epoch().count(), std::memory_order_release);
      opens_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    return false;
  }

  void open() {
    opened_at_.store(clock_().time_since_epoch().count(), std::memory_order_release);
    state_.store(kOpen, std::memory_order_release);
    opens_.fetch_add(1, std::memory_order_relaxed);
  }

  BreakerState state() const {
    switch (state_.load(std::memory_order_acquire)) {
      case kOpen: return BreakerState::open;
      case kHalfOpen: return BreakerState::half_open;
      default: return BreakerState::closed;
    }
  }
  std::uint64_t opens() const { return opens_.load(std::memory_order_relaxed); }

 private:
  static TimePoint::rep to_ticks(Ttl t) {
    return std::chrono::duration_cast<TimePoint::duration>(t).count();
  }
  const int threshold_;
  const Ttl cooldown_;
  const ClockFn clock_;
  std::atomic<int> state_{kClosed};
  std::atomic<int> failures_{0};
  std::atomic<TimePoint::rep> opened_at_{0};
  std::atomic<std::uint64_t> opens_{0};
};

struct Conn {
  std::mutex mu;
  redisContext* ctx = nullptr;
  std::uint64_t epoch = 0;  // breaker opens when connected: older connections are suspect
  ~Conn() {
    if (ctx) redisFree(ctx);
  }
  void drop() {
    if (ctx) redisFree(ctx);
    ctx = nullptr;
  }
};

std::atomic<unsigned> g_next_slot{0};

unsigned thread_slot() {
  thread_local const unsigned slot = g_next_slot.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

}  // namespace

struct RedisCache::Impl {
  RedisOptions opt;
  Breaker breaker;
  std::unique_ptr<Conn[]> pool;
  std::size_t pool_size;
  std::string put_sha = sha1_hex(kPutTaggedScript);
  std::string erase_sha = sha1_hex(kEraseScript);
  std::string entries_sha = sha1_hex(kLeadEntriesScript);
  std::string get_ttl_sha = sha1_hex(kGetWithTtlScript);
  std::atomic<std::uint64_t> hits{0}, misses{0}, puts{0}, errors{0}, skipped{0};

  explicit Impl(RedisOptions o)
      : opt(std::move(o)),
        breaker(opt.breaker_failures, opt.breaker_cooldown,
                opt.clock ? opt.clock : [] { return std::chrono::steady_clock::now(); }) {
    pool_size = opt.pool_size ? opt.pool_size
                              : 2 * std::max(1u, std::thread::hardware_concurrency());
    pool = std::make_unique<Conn[]>(pool_size);
  }

  // Connects, authenticates, selects the db and loads the scripts. False on any failure,
  // with `why` saying which step failed (no password, no value).
  bool connect(Conn& c, std::string& why) {
    c.drop();
    c.epoch = breaker.opens();
    c.ctx = redisConnectWithTimeout(opt.url.host.c_str(), opt.url.port,
                                    to_timeval(opt.connect_timeout));
    if (c.ctx == nullptr || c.ctx->err) {
      why = std::string("connect: ") + (c.ctx ? c.ctx->errstr : "out of memory");
      c.drop();
      return false;
    }
    if (redisSetTimeout(c.ctx, to_timeval(opt.command_timeout)) != REDIS_OK) {
      why = "connect: cannot set the command timeout";
      c.drop();
      return false;
    }
    auto ok_status = [&](std::initializer_list<std::string_view> args) {
      ReplyPtr r = command_argv(c.ctx, std::span(args.begin(), args.size()));
      return reply_ok(r.get());
    };
    // A step that timed out or lost the connection was not refused: say so, or the log of a
    // Redis that hangs would blame the password or the ACL.
    auto step_failed = [&](std::string step, const char* refused) {
      why = c.ctx->err != 0 ? step + ": io: " + c.ctx->errstr : step + " refused" + refused;
      c.drop();
      return false;
    };
    if (!opt.url.password.empty()) {
      const bool authed = opt.url.user.empty()
                              ? ok_status({"AUTH", opt.url.password})
                              : ok_status({"AUTH", opt.url.user, opt.url.password});
      if (!authed) return step_failed("AUTH", " (wrong user or password in the Redis URL?)");
    }
    if (opt.url.db != 0) {
      const std::string db = std::to_string(opt.url.db);
      if (!ok_status({"SELECT", db})) return step_failed("SELECT " + db, "");
    }
    if (!ok_status({"SCRIPT", "LOAD", kPutTaggedScript}) ||
        !ok_status({"SCRIPT", "LOAD", kEraseScript}) ||
        !ok_status({"SCRIPT", "LOAD", kLeadEntriesScript}) ||
        !ok_status({"SCRIPT", "LOAD", kGetWithTtlScript})) {
      return step_failed("SCRIPT LOAD",
                         " (the user needs the script commands: docs/CACHE.md)");
    }
    return true;
  }

  // Runs f(ctx) -> bool on this thread's connection under the breaker. f must leave the
  // connection in a consistent state or set ctx->err (then the connection is dropped). On
  // failure, `failure` (if given) says what failed.
  template <typename F>
  bool run(F&& f, bool bypass_breaker = false, std::string* failure = nullptr) {
    if (!bypass_breaker && !breaker.allow()) {
      skipped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    Conn& c = pool[thread_slot() % pool_size];
    std::lock_guard lock(c.mu);
    // A connection made before the breaker last opened most likely points at a Redis that
    // has since died: replace it instead of letting every pooled connection fail once after
    // recovery (which would re-open the breaker).
    const bool reuse = c.ctx != nullptr && c.ctx->err == 0 && c.epoch == breaker.opens();
    std::string why;
    bool ok = reuse || connect(c, why);
    if (ok) ok = f(c.ctx);
    // A reused connection the server closed (restart, idle timeout) fails at once with EOF or
    // a reset: reconnect and retry once. Timeouts are not retried, so the bound holds.
    if (!ok && reuse && c.ctx != nullptr && closed_by_peer(c.ctx) && connect(c, why)) {
      ok = f(c.ctx);
    }
    if (ok) {
      if (breaker.success() && opt.on_availability) opt.on_availability(true, "");
    } else {
      errors.fetch_add(1, std::memory_order_relaxed);
      if (why.empty()) {
        why = c.ctx != nullptr && c.ctx->err != 0 ? std::string("io: ") + c.ctx->errstr
                                                  : std::string("command failed");
      }
      if (failure) *failure = why;
      if (breaker.failure() && opt.on_availability) opt.on_availability(false, why);
      if (c.ctx != nullptr && c.ctx->err != 0) c.drop();
    }
    return ok;
  }

  // Appends one put to the pipeline; `ms` is the TTL in milliseconds as text.
  void append_put(redisContext* ctx, const Key& key, std::string_view value, const LeadTag& tag,
                  const std::string& ms) {
    if (tag.empty()) {
      const char* argv[] = {"SET", key.str().data(), value.data(), "PX", ms.data()};
      const std::size_t lens[] = {3, key.str().size(), value.size(), 2, ms.size()};
      redisAppendCommandArgv(ctx, 5, argv, lens);
    } else {
      const char* argv[] = {"EVALSHA", put_sha.data(), "2",       key.str().data(),
                            tag.str().data(), value.data(), ms.data()};
      const std::size_t lens[] = {7,           put_sha.size(), 1,        key.str().size(),
                                  tag.str().size(), value.size(), ms.size()};
      redisAppendCommandArgv(ctx, 7, argv, lens);
    }
  }

  // One round trip for all keys: MGET, or with ttl_left the GET+PTTL script, which also
  // reports each hit's remaining lifetime (Ttl::max() for a key without expiry).
  std::vector<std::optional<std::string>> fetch(std::span<const Key> keys,
                                                std::vector<Ttl>* ttl_left) {
    std::vector<std::optional<std::string>> out(keys.size());
    if (ttl_left) ttl_left->assign(keys.size(), Ttl::zero());
    if (keys.empty()) return out;
    std::size_t n_hits = 0;
    run([&](redisContext* ctx) {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      argv.reserve(keys.size() + 3);
      lens.reserve(keys.size() + 3);
      const std::string n_keys = std::to_string(keys.size());
      if (ttl_left) {
        argv.insert(argv.end(), {"EVALSHA", get_ttl_sha.data(), n_keys.data()});
        lens.insert(lens.end(), {7, get_ttl_sha.size(), n_keys.size()});
      } else {
        argv.push_back("MGET");
        lens.push_back(4);
      }
      for (const Key& k : keys) {
        argv.push_back(k.str().data());
        lens.push_back(k.str().size());
      }
      ReplyPtr r(static_cast<redisReply*>(
          redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data())));
      const std::size_t per_key = ttl_left ? 2 : 1;
      if (!reply_ok(r.get()) || r->type != REDIS_REPLY_ARRAY ||
          r->elements != per_key * keys.size()) {
        return false;
      }
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const redisReply* e = r->element[per_key * i];
        if (e->type != REDIS_REPLY_STRING) continue;
        out[i].emplace(e->str, e->len);
        ++n_hits;
        if (!ttl_left) continue;
        const redisReply* t = r->element[2 * i + 1];
        const long long ms = t->type == REDIS_REPLY_INTEGER ? t->integer : 0;
        (*ttl_left)[i] = ms == -1 ? Ttl::max() : Ttl(std::max(0LL, ms));
      }
      return true;
    });
    hits.fetch_add(n_hits, std::memory_order_relaxed);
    misses.fetch_add(keys.size() - n_hits, std::memory_order_relaxed);
    return out;
  }

  // PING under the breaker (a half-open probe when the breaker is due for one).
  bool ping(std::string* failure = nullptr) {
    return run(
        [](redisContext* ctx) {
          ReplyPtr r(static_cast<redisReply*>(redisCommand(ctx, "PING")));
          return reply_ok(r.get());
        },
        false, failure);
  }

  // Reads n pipelined replies; false if any failed. Stops early only on I/O errors.
  static bool read_replies(redisContext* ctx, std::size_t n) {
    bool ok = true;
    for (std::size_t i = 0; i < n; ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx, &raw) != REDIS_OK) return false;
      ReplyPtr r(static_cast<redisReply*>(raw));
      if (!reply_ok(r.get())) ok = false;
    }
    return ok;
  }
};

RedisCache::RedisCache(RedisOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  // hiredis writes with write(2): a peer that died would raise SIGPIPE and kill the process.
  // Ignore it unless the application installed its own handler.
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }
  // Probe once so /readyz reports degraded from the start when Redis is unreachable.
  std::string why;
  if (!impl_->ping(&why)) {
    impl_->breaker.open();
    if (impl_->opt.on_availability) impl_->opt.on_availability(false, why);
  }
}

RedisCache::~RedisCache() = default;

bool RedisCache::get_into(const Key& key, std::string& out) {
  bool hit = false;
  impl_->run([&](redisContext* ctx) {
    const std::string_view args[] = {"GET", key.str()};
    ReplyPtr r = command_argv(ctx, args);
    if (!reply_ok(r.get())) return false;
    if (r->type == REDIS_REPLY_STRING) {
      out.assign(r->str, r->len);
      hit = true;
    }
    return true;
  });
  (hit ? impl_->hits : impl_->misses).fetch_add(1, std::memory_order_relaxed);
  return hit;
}

std::vector<std::optional<std::string>> RedisCache::get_many(std::span<const Key> keys) {
  return impl_->fetch(keys, nullptr);
}

std::vector<std::optional<std::string>> RedisCache::get_many_with_ttl(
    std::span<const Key> keys, std::vector<Ttl>& ttl_left) {
  return impl_->fetch(keys, &ttl_left);
}

bool RedisCache::get_into_with_ttl(const Key& key, std::string& out, Ttl& ttl_left) {
  std::vector<Ttl> left;
  auto got = impl_->fetch(std::span<const Key>(&key, 1), &left);
  if (!got[0]) return false;
  out.assign(*got[0]);
  ttl_left = left[0];
  return true;
}

void RedisCache::put(const Key& key, std::string_view value, Ttl ttl, const LeadTag& tag) {
  if (ttl <= Ttl::zero()) return;
  impl_->puts.fetch_add(1, std::memory_order_relaxed);
  const std::string ms = std::to_string(ttl.count());
  impl_->run([&](redisContext* ctx) {
    impl_->append_put(ctx, key, value, tag, ms);
    return Impl::read_replies(ctx, 1);
  });
}

void RedisCache::put_many(std::span<const PutItem> items) {
  std::size_t n = 0;
  for (const PutItem& it : items) n += it.ttl > Ttl::zero();
  if (n == 0) return;
  impl_->puts.fetch_add(n, std::memory_order_relaxed);
  impl_->run([&](redisContext* ctx) {
    std::string ms;
    for (const PutItem& it : items) {
      if (it.ttl <= Ttl::zero()) continue;
      ms = std::to_string(it.ttl.count());
      impl_->append_put(ctx, it.key, it.value, it.tag, ms);
    }
    return Impl::read_replies(ctx, n);
  });
}

core::Result<std::size_t> RedisCache::erase_lead_keys(const LeadTag& tag,
                                                      std::vector<std::string>* keys) {
  std::size_t removed = 0;
  if (tag.empty()) return removed;
  // Erasure is rare and must not be silently skipped: it bypasses an open breaker and
  // reports failure to the caller.
  const bool ok = impl_->run(
      [&](redisContext* ctx) {
        const std::string_view args[] = {"EVALSHA", impl_->erase_sha, "1", tag.str()};
        ReplyPtr r = command_argv(ctx, args);
        if (!reply_ok(r.get()) || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
          return false;
        }
        if (r->element[0]->type == REDIS_REPLY_INTEGER) {
          removed = static_cast<std::size_t>(r->element[0]->integer);
        }
        const redisReply* members = r->element[1];
        for (std::size_t i = 0; keys != nullptr && i < members->elements; ++i) {
          keys->emplace_back(members->element[i]->str, members->element[i]->len);
        }
        return true;
      },
      /*bypass_breaker=*/true);
  if (!ok) {
    return core::make_error("cache_unavailable", "Redis did not confirm the erasure; retry");
  }
  return removed;
}

core::Result<std::size_t> RedisCache::erase_lead(const LeadTag& tag) {
  return erase_lead_keys(tag, nullptr);
}

core::Result<std::vector<LeadEntry>> RedisCache::lead_entries(const LeadTag& tag) {
  std::vector<LeadEntry> out;
  if (tag.empty()) return out;
  const bool ok = impl_->run(
      [&](redisContext* ctx) {
        const std::string_view args[] = {"EVALSHA", impl_->entries_sha, "1", tag.str()};
        ReplyPtr r = command_argv(ctx, args);
        if (!reply_ok(r.get()) || r->type != REDIS_REPLY_ARRAY || r->elements % 3 != 0) {
          return false;
        }
        for (std::size_t i = 0; i + 2 < r->elements; i += 3) {
          const redisReply* name = r->element[i];
          const redisReply* value = r->element[i + 1];
          auto digest = digest_from_key_name(std::string_view(name->str, name->len));
          if (!digest) continue;
          out.push_back(LeadEntry{*digest, std::string(value->str, value->len),
                                  Ttl(std::max<long long>(0, r->element[i + 2]->integer))});
        }
        return true;
      },
      /*bypass_breaker=*/true);
  if (!ok) {
    return core::make_error("cache_unavailable", "Redis did not answer the access request");
  }
  return out;
}

std::size_t RedisCache::purge_expired() { return 0; }

CacheStats RedisCache::stats() const {
  CacheStats st;
  st.hits = impl_->hits.load(std::memory_order_relaxed);
  st.remote_hits = st.hits;
  st.misses = impl_->misses.load(std::memory_order_relaxed);
  st.puts = impl_->puts.load(std::memory_order_relaxed);
  st.errors = impl_->errors.load(std::memory_order_relaxed);
  st.skipped = impl_->skipped.load(std::memory_order_relaxed);
  st.breaker = impl_->breaker.state();
  st.breaker_opens = impl_->breaker.opens();
  return st;
}

Health RedisCache::health() const {
  // Only calls make the breaker's half-open probe, and an idle process makes none: probe here
  // once the cool-down has passed, so /readyz recovers without scoring traffic. Costs one PING
  // (bounded by the timeouts) at most once per cool-down while Redis stays down.
  if (impl_->breaker.probe_due()) impl_->ping();
  return impl_->breaker.state() == BreakerState::closed ? Health::ok : Health::degraded;
}

// Recovers the digest from a rendered key name ("...:<32 hex>").
std::optional<Digest> digest_from_key_name(std::string_view name) {
  if (name.size() < 2 * kDigestSize) return std::nullopt;
  const std::string_view hex = name.substr(name.size() - 2 * kDigestSize);
  if (!is_hex_digest(hex)) return std::nullopt;
  Digest d;
  auto val = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i < kDigestSize; ++i) {
    d[i] = static_cast<std::uint8_t>(val(hex[2 * i]) * 16 + val(hex[2 * i + 1]));
  }
  return d;
}

}  // namespace cache
