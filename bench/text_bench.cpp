// MiniLM encoder throughput (sentences/s) and % of the machine's fp32 FMA peak.
// Synthetic weights of the all-MiniLM-L6-v2 shape: speed does not depend on the values.
// Compare with bench/minilm_torch_bench.py (same shapes, same threads): bench/run_text_bench.sh.
#include <immintrin.h>

#include <time.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include "text/math_kernels.h"
#include "text/text.h"

namespace {

constexpr const char* kMiniLmConfig = R"({"hidden_size": 384, "num_hidden_layers": 6,
  "num_attention_heads": 12, "intermediate_size": 1536, "vocab_size": 30522,
  "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"})";

double g_peak_gflops_per_core = 0;  // measured in main()
const char* g_peak_isa = "";

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

text::MiniLmEncoder& encoder(int threads) {
  static std::unique_ptr<text::MiniLmEncoder> enc[3];
  if (!enc[threads]) {
    auto config = *text::BertConfig::parse(kMiniLmConfig);
    uint64_t t = 0;
    text::TensorSource src = [&t](std::string_view name, std::span<const int64_t> shape)
        -> core::Result<std::vector<float>> {
      size_t n = 1;
      for (auto d : shape) n *= static_cast<size_t>(d);
      std::vector<float> v(n);
      const double off = name.ends_with("LayerNorm.weight") ? 1.0 : 0.0;
      for (size_t i = 0; i < n; ++i) {
        v[i] = static_cast<float>(off + 0.0625 * (2.0 * static_cast<double>(splitmix64((t << 32) + i) >> 40) / 16777216.0 - 1.0));
      }
      ++t;
      return v;
    };
    auto weights = *text::load_bert_weights(config, src);
    std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    while (vocab.size() < 30522) vocab.push_back(std::string("w").append(std::to_string(vocab.size())));
    auto tok = *text::WordPieceTokenizer::from_tokens(std::move(vocab), 256);
    enc[threads] = text::MiniLmEncoder::create(config, weights, std::move(tok), "synthetic", {.threads = threads});
  }
  return *enc[threads];
}

// FLOPs of one sequence of n tokens through the encoder (multiply-add = 2).
double flops_per_sentence(double n) {
  const double h = 384, i = 1536, layers = 6;
  return layers * (2 * n * h * 3 * h + 2 * n * h * h + 2 * 2 * n * h * i + 2 * 2 * n * n * h);
}

void BM_MiniLmEncode(benchmark::State& state) {
  const auto len = static_cast<size_t>(state.range(0));
  const auto batch = static_cast<size_t>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  auto& enc = encoder(threads);
  text::EncoderOptions o;
  std::vector<std::vector<int32_t>> ids(batch);
  for (size_t b = 0; b < batch; ++b) {
    ids[b].push_back(101);
    for (size_t k = 0; k + 2 < len; ++k) ids[b].push_back(static_cast<int32_t>(1000 + (b * 131 + k * 7919) % 29000));
    ids[b].push_back(102);
  }
  std::vector<float> out(batch * enc.embedding_dim());
  if (!enc.encode_ids(ids, out)) state.SkipWithError("encode failed");
  timespec c0{}, c1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  for (auto _ : state) {
    auto st = enc.encode_ids(ids, out);
    benchmark::DoNotOptimize(out.data());
    if (!st) state.SkipWithError("encode failed");
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  const double cpu = static_cast<double>(c1.tv_sec - c0.tv_sec) + static_cast<double>(c1.tv_nsec - c0.tv_nsec) * 1e-9;
  const double sentences = static_cast<double>(state.iterations()) * static_cast<double>(batch);
  state.counters["sent/s"] = benchmark::Counter(sentences, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(sentences * flops_per_sentence(static_cast<double>(len)) / 1e9,
                                                 benchmark::Counter::kIsRate);
  // Per CPU-second figures (process CPU time, all threads): robust when the machine is shared.
  // %peak = achieved FLOP per CPU-second / one core's measured fp32 FMA peak. The FLOP are the
  // fp32 model's (fp32-equivalent on the AMX path, which computes each product from 6 bf16 ones).
  state.counters["sent/cpu-s"] = sentences / cpu;
  state.counters["GFLOP/cpu-s"] = sentences * flops_per_sentence(static_cast<double>(len)) / 1e9 / cpu;
  if (g_peak_gflops_per_core > 0) {
    state.counters["%peak"] = sentences * flops_per_sentence(static_cast<double>(len)) / 1e9 / cpu * 100.0 /
                              g_peak_gflops_per_core;
  }
  (void)threads;
}
BENCHMARK(BM_MiniLmEncode)
    ->ArgNames({"tokens", "batch", "threads"})
    ->ArgsProduct({{16, 64, 200}, {1, 32}, {1, 2}})
    ->Args({8, 1, 1})  // a rerank intent: what a warm /v1/rerank encodes
    ->Args({8, 1, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One dense layer y = x W^T of the encoder's shapes, single thread: where the FLOPs go.
// impl 0: our packed AVX-512 fp32 kernel; 1: OpenBLAS sgemm (what PyTorch's nn.Linear calls);
// 2 / 3: the AMX-BF16 kernel with 3 bf16 pieces per operand (bf16x6, the encoder's default) / 2
// pieces (bf16x3), including the per-call split of the activations. GFLOP are fp32-equivalent
// (2 rows n k per product, whatever the number of bf16 piece products behind it).
void BM_DenseGemm(benchmark::State& state) {
  const auto rows = static_cast<size_t>(state.range(0));
  const auto n = static_cast<size_t>(state.range(1));
  const auto k = static_cast<size_t>(state.range(2));
  const auto impl = state.range(3);
  const bool blas = impl == 1, amx = impl >= 2;
  if (!blas && !text::have_avx512()) {
    state.SkipWithError("no AVX-512");
    return;
  }
  if (amx && !text::have_amx()) {
    state.SkipWithError("no AMX");
    return;
  }
  openblas_set_num_threads(1);
  std::vector<float> x(rows * k), w(n * k), y(rows * n), bias(n, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(splitmix64(i) >> 40) / 16777216.0f - 0.5f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(splitmix64(i + 7) >> 40) / 16777216.0f - 0.5f;
  const text::PackedWeights packed = impl == 0 ? text::pack_weights(w.data(), n, k) : text::PackedWeights{};
  const int pieces = impl == 3 ? 2 : 3;
  const text::AmxWeights amxw = amx ? text::pack_weights_amx(w.data(), n, k, pieces) : text::AmxWeights{};
  text::AmxBuffer split(amx ? text::amx_split_elems(rows, k, pieces) : 0);
  auto no_epilogue = [](float*, size_t, size_t, size_t, const float*) {};
  timespec c0{}, c1{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  for (auto _ : state) {
    if (blas) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(n),
                  static_cast<int>(k), 1.0f, x.data(), static_cast<int>(k), w.data(), static_cast<int>(k), 0.0f,
                  y.data(), static_cast<int>(n));
    } else if (amx) {
      text::split_activations_amx(x.data(), rows, k, pieces, 0, (rows + 15) / 16, split.data());
      text::gemm_amx(split.data(), rows, amxw, 0, amxw.panels, y.data(), bias.data(), no_epilogue);
    } else {
      text::gemm_packed(x.data(), rows, packed, 0, packed.panels, y.data(), bias.data(), no_epilogue);
    }
    benchmark::DoNotOptimize(y.data());
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  const double cpu = static_cast<double>(c1.tv_sec - c0.tv_sec) + static_cast<double>(c1.tv_nsec - c0.tv_nsec) * 1e-9;
  const double gflop = 2.0 * static_cast<double>(rows * n * k) * static_cast<double>(state.iterations()) / 1e9;
  state.counters["GFLOP/cpu-s"] = gflop / cpu;
  if (g_peak_gflops_per_core > 0) state.counters["%peak"] = gflop / cpu * 100.0 / g_peak_gflops_per_core;
}
BENCHMARK(BM_DenseGemm)
    ->ArgNames({"rows", "n", "k", "impl"})
    ->ArgsProduct({{16, 200, 6400}, {1152}, {384}, {0, 1, 2, 3}})
    ->ArgsProduct({{16, 200, 6400}, {384}, {1536}, {0, 1, 2, 3}})
    ->ArgsProduct({{16, 200, 6400}, {1536}, {384}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMicrosecond);

// Thread CPU seconds: the peak loop must not count time the (shared) machine gave to others.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Peak: independent FMA chains, enough accumulators to cover latency x ports.
__attribute__((target("avx512f"))) double fma_peak_avx512(size_t iters) {
  __m512 acc[16];
  for (int k = 0; k < 16; ++k) acc[k] = _mm512_set1_ps(static_cast<float>(k) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  const double t0 = thread_cpu_seconds();
  for (size_t i = 0; i < iters; ++i) {
    for (int k = 0; k < 16; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
  }
  const double t1 = thread_cpu_seconds();
  __m512 s = acc[0];
  for (int k = 1; k < 16; ++k) s = _mm512_add_ps(s, acc[k]);
  float lanes[16];
  _mm512_storeu_ps(lanes, s);
  volatile float sink = lanes[0];
  (void)sink;
  const double secs = t1 - t0;
  return static_cast<double>(iters) * 16 * 16 * 2 / secs / 1e9;
}

double fma_peak_avx2(size_t iters) {
  __m256 acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = _mm256_set1_ps(static_cast<float>(k) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  const double t0 = thread_cpu_seconds();
  for (size_t i = 0; i < iters; ++i) {
    for (int k = 0; k < 12; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
  }
  const double t1 = thread_cpu_seconds();
  __m256 s = acc[0];
  for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, acc[k]);
  float tmp[8];
  _mm256_storeu_ps(tmp, s);
  volatile float sink = tmp[0];
  (void)sink;
  const double secs = t1 - t0;
  return static_cast<double>(iters) * 12 * 8 * 2 / secs / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  // Best of a few short runs (the machine is shared).
  double avx2 = 0, avx512 = 0;
  for (int r = 0; r < 5; ++r) avx2 = std::max(avx2, fma_peak_avx2(20'000'000));
  const bool has512 = __builtin_cpu_supports("avx512f");
  if (has512) {
    for (int r = 0; r < 5; ++r) avx512 = std::max(avx512, fma_peak_avx512(10'000'000));
  }
  g_peak_gflops_per_core = std::max(avx2, avx512);
  g_peak_isa = avx512 > avx2 ? "AVX-512" : "AVX2";
  std::fprintf(stderr, "fp32 FMA peak per core: AVX2 %.1f GFLOP/s, AVX-512 %.1f GFLOP/s (%%peak uses %s)\n", avx2, avx512,
              g_peak_isa);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
