// data benchmarks: generator throughput, CSV streaming read, roc_auc. The reference
// (BM_ReferenceMemchrLines: counting '\n' with memchr over the same bytes) is the floor any
// CSV reader pays; compare BM_CsvRead against it in the same run.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "data/data.h"

namespace {

const std::string& leads_csv() {
  static const std::string csv = [] {
    std::string s;
    data::CsvWriter w(&s);
    data::GenerateOptions opt;
    opt.rows = 100000;
    opt.progress = false;
    (void)data::generate(opt, w);
    return s;
  }();
  return csv;
}

void BM_Generate(benchmark::State& state) {
  const auto profile = static_cast<data::Profile>(state.range(0));
  std::string sink;
  for (auto _ : state) {
    sink.clear();
    data::CsvWriter w(&sink);
    data::GenerateOptions opt;
    opt.rows = 100000;
    opt.profile = profile;
    opt.progress = false;
    auto r = data::generate(opt, w);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 100000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(sink.size()));
  state.SetLabel(std::string(data::profile_name(profile)));
}
BENCHMARK(BM_Generate)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_CsvRead(benchmark::State& state) {
  const std::string& csv = leads_csv();
  uint64_t cells = 0;
  for (auto _ : state) {
    auto r = data::CsvReader::from_string(csv);
    (void)r.read_header();
    for (;;) {
      auto got = r.next();
      if (!got || !*got) break;
      cells += r.record().size();
    }
  }
  benchmark::DoNotOptimize(cells);
  state.SetItemsProcessed(state.iterations() * 100000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(csv.size()));
}
BENCHMARK(BM_CsvRead)->Unit(benchmark::kMillisecond);

void BM_ReferenceMemchrLines(benchmark::State& state) {
  const std::string& csv = leads_csv();
  for (auto _ : state) {
    size_t lines = 0;
    const char* p = csv.data();
    const char* end = p + csv.size();
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p))))) {
      ++lines;
      ++p;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetItemsProcessed(state.iterations() * 100000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(csv.size()));
}
BENCHMARK(BM_ReferenceMemchrLines)->Unit(benchmark::kMillisecond);

void BM_RocAuc(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::mt19937_64 rng(1);
  std::vector<double> s(n);
  std::vector<int> y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = rng() % 7 == 0;
    s[i] = static_cast<double>(rng() % 1000000) / 1e6 + 0.2 * y[i];
  }
  for (auto _ : state) benchmark::DoNotOptimize(data::roc_auc(s, y));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_RocAuc)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
