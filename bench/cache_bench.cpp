// Cache latency: key hashing, local LRU hit, Redis round trip (GET, SET, MGET of 100/1000).
// Starts its own redis-server on an ephemeral loopback port (same helper as the tests).
// Run: build/bench/cache_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "cache/cache.h"
#include "redis_server.h"

namespace {

using namespace std::chrono_literals;

constexpr int kRowWidth = 24;  // about the real-estate schema's feature count
constexpr int kKeys = 10'000;

std::unique_ptr<cache_test::RedisServer> g_redis;

std::vector<cache::Key> make_keys(int n) {
  std::vector<cache::Key> keys;
  std::vector<float> row(kRowWidth, 1.0f);
  for (int i = 0; i < n; ++i) {
    row[0] = static_cast<float>(i);
    keys.push_back(cache::make_key("bench-model-1", row));
  }
  return keys;
}

const std::vector<cache::Key>& keys() {
  static const std::vector<cache::Key> k = make_keys(kKeys);
  return k;
}

std::string value() {
  cache::ScoreValue v;
  v.intent_score = 0.73f;
  v.score = 73;
  v.grade = 'B';
  v.percentile = 88.0f;
  v.n_reasons = 3;
  return cache::pack_score(v);
}

cache::RedisCache& redis() {
  static cache::RedisCache* c = [] {
    cache::RedisOptions o;
    o.url = *cache::parse_redis_url(g_redis->url());
    o.command_timeout = 1000ms;
    auto* r = new cache::RedisCache(o);
    std::vector<cache::PutItem> items;
    const std::string v = value();
    for (const auto& k : keys()) items.push_back({k, v, 1h, {}});
    r->put_many(items);
    return r;
  }();
  return *c;
}

cache::LocalLru& local() {
  static cache::LocalLru* c = [] {
    auto* l = new cache::LocalLru(cache::LocalLruOptions{});
    const std::string v = value();
    for (const auto& k : keys()) l->put(k, v, 1h);
    return l;
  }();
  return *c;
}

void BM_MakeKey(benchmark::State& state) {
  std::vector<float> row(kRowWidth, 2.5f);
  for (auto _ : state) {
    row[1] += 1.0f;
    benchmark::DoNotOptimize(cache::make_key("bench-model-1", row));
  }
}
BENCHMARK(BM_MakeKey);

void BM_LeadTag(benchmark::State& state) {
  const cache::LeadTagger tagger = cache::LeadTagger::random();
  for (auto _ : state) benchmark::DoNotOptimize(tagger.tag("lead-000123456"));
}
BENCHMARK(BM_LeadTag);

void BM_PackUnpackScore(benchmark::State& state) {
  const std::string v = value();
  std::array<char, cache::kScoreValueSize> buf;
  for (auto _ : state) {
    auto s = cache::unpack_score(v);
    cache::pack_score(*s, buf);
    benchmark::DoNotOptimize(buf);
  }
}
BENCHMARK(BM_PackUnpackScore);

void BM_LocalGetHit(benchmark::State& state) {
  auto& c = local();
  std::string out;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.get_into(keys()[i++ % kKeys], out));
  }
}
BENCHMARK(BM_LocalGetHit);
BENCHMARK(BM_LocalGetHit)->Threads(2);

void BM_LocalPut(benchmark::State& state) {
  auto& c = local();
  const std::string v = value();
  std::size_t i = 0;
  for (auto _ : state) c.put(keys()[i++ % kKeys], v, 1h);
}
BENCHMARK(BM_LocalPut);

void BM_LocalGetMany(benchmark::State& state) {
  auto& c = local();
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  std::span<const cache::Key> batch(keys().data(), n);
  for (auto _ : state) benchmark::DoNotOptimize(c.get_many(batch));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_LocalGetMany)->Arg(100)->Arg(1000);

void BM_RedisGetHit(benchmark::State& state) {
  auto& c = redis();
  std::string out;
  std::size_t i = 0;
  for (auto _ : state) {
    if (!c.get_into(keys()[i++ % kKeys], out)) state.SkipWithError("unexpected Redis miss");
  }
}
BENCHMARK(BM_RedisGetHit)->UseRealTime();

void BM_RedisPut(benchmark::State& state) {
  auto& c = redis();
  const std::string v = value();
  std::size_t i = 0;
  for (auto _ : state) c.put(keys()[i++ % kKeys], v, 1h);
}
BENCHMARK(BM_RedisPut)->UseRealTime();

void BM_RedisGetMany(benchmark::State& state) {
  auto& c = redis();
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  std::span<const cache::Key> batch(keys().data(), n);
  for (auto _ : state) benchmark::DoNotOptimize(c.get_many(batch));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_RedisGetMany)->Arg(100)->Arg(1000)->UseRealTime();

void BM_RedisPutMany(benchmark::State& state) {
  auto& c = redis();
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::string v = value();
  const cache::LeadTag tag = cache::LeadTagger::random().tag("bench-lead");
  std::vector<cache::PutItem> items;
  for (std::size_t i = 0; i < n; ++i) {
    items.push_back({keys()[i], v, 1h, state.range(1) ? tag : cache::LeadTag()});
  }
  for (auto _ : state) c.put_many(items);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_RedisPutMany)->Args({100, 0})->Args({100, 1})->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_redis = std::make_unique<cache_test::RedisServer>();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_redis.reset();
  return 0;
}
