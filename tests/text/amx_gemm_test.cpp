// The AMX-BF16 dense kernel (bf16 pieces, fp32 accumulation) against a double-precision
// reference and against the fp32 AVX-512 kernel, on random and awkward shapes: rows not a
// multiple of 16, k not a multiple of 32, column tails, panel sub-ranges (the pool's split).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "text/math_kernels.h"

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1) times 2^e, e in [-6, 6]: full fp32 mantissas over a range of magnitudes.
std::vector<float> random_values(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = splitmix64(seed * 0x100000001ull + i);
    const double u = 2.0 * static_cast<double>(r >> 40) / 16777216.0 - 1.0;
    const int e = static_cast<int>((r >> 8) % 13) - 6;
    v[i] = static_cast<float>(std::ldexp(u, e));
  }
  return v;
}

struct Errors {
  double amx = 0;   // max |y - ref| / sum |x w| over the outputs
  double fp32 = 0;  // the same for the fp32 AVX-512 kernel
};

void no_epilogue(float*, size_t, size_t, size_t, const float*) {}

class AmxGemm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!text::have_amx()) GTEST_SKIP() << "CPU without AMX-BF16 (or LEADSCORE_TEXT_NO_AMX set)";
  }

  // y = x W^T through split + gemm_amx (panels [p0, p1) and [p1, end) as two calls, like two
  // workers), checked against the double reference; returns the scaled errors.
  static Errors run(size_t rows, size_t n, size_t k, int pieces, uint64_t seed) {
    SCOPED_TRACE("rows " + std::to_string(rows) + " n " + std::to_string(n) + " k " + std::to_string(k) +
                 " pieces " + std::to_string(pieces));
    const auto x = random_values(rows * k, seed);
    const auto w = random_values(n * k, seed + 1);
    const auto amx = text::pack_weights_amx(w.data(), n, k, pieces);
    text::AmxBuffer split(text::amx_split_elems(rows, k, pieces));
    text::split_activations_amx(x.data(), rows, k, pieces, 0, (rows + 15) / 16, split.data());
    // y has a guard band after it: tails must not write past rows x n.
    constexpr size_t kGuard = 64;
    const float canary = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> y(rows * n + kGuard, canary), bias(n, 0.0f);
    const size_t mid = amx.panels / 2;
    text::gemm_amx(split.data(), rows, amx, 0, mid, y.data(), bias.data(), no_epilogue);
    text::gemm_amx(split.data(), rows, amx, mid, amx.panels, y.data(), bias.data(), no_epilogue);
    for (size_t i = rows * n; i < y.size(); ++i) EXPECT_TRUE(std::isnan(y[i])) << "wrote past the output at " << i;

    std::vector<float> y32(rows * n);
    const auto packed = text::pack_weights(w.data(), n, k);
    text::gemm_packed(x.data(), rows, packed, 0, packed.panels, y32.data(), bias.data(), no_epilogue);

    Errors e;
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < n; ++c) {
        double ref = 0, mag = 0;
        for (size_t kk = 0; kk < k; ++kk) {
          const double p = static_cast<double>(x[r * k + kk]) * static_cast<double>(w[c * k + kk]);
          ref += p;
          mag += std::abs(p);
        }
        if (mag == 0) continue;
        const double got = y[r * n + c];
        EXPECT_FALSE(std::isnan(got)) << "output " << r << "," << c << " not written";
        e.amx = std::max(e.amx, std::abs(got - ref) / mag);
        e.fp32 = std::max(e.fp32, std::abs(static_cast<double>(y32[r * n + c]) - ref) / mag);
      }
    }
    return e;
  }
};

// Shapes of the encoder and awkward ones: every tail of rows (16-row tiles, pairs of them),
// k (32-wide k-steps, 768-deep blocks) and columns (16-column halves of 32-column panels).
TEST_F(AmxGemm, Bf16x6MatchesDoubleReferenceAsCloselyAsFp32) {
  const size_t shapes[][3] = {{1, 1, 1},     {1, 17, 7},    {5, 33, 31},   {16, 32, 32},  {17, 50, 33},
                              {31, 15, 100}, {33, 100, 64}, {47, 70, 385}, {64, 384, 384}, {200, 96, 1536},
                              {13, 40, 1000}, {48, 64, 800}};
  uint64_t seed = 1;
  double worst_amx = 0, worst_fp32 = 0;
  for (const auto& s : shapes) {
    const Errors e = run(s[0], s[1], s[2], 3, seed++);
    worst_amx = std::max(worst_amx, static_cast<double>(e.amx));
    worst_fp32 = std::max(worst_fp32, static_cast<double>(e.fp32));
    // fp32-class: 3 pieces drop only terms of order 2^-24 |x w|; the accumulation is fp32.
    EXPECT_LE(e.amx, 1e-6) << s[0] << "x" << s[1] << "x" << s[2];
    EXPECT_LE(e.amx, 4 * e.fp32 + 1e-7) << s[0] << "x" << s[1] << "x" << s[2] << " fp32 kernel " << e.fp32;
  }
  // The measured margins, for docs/BENCHMARKS.md.
  std::printf("max error / sum |x w| over %zu shapes: bf16x6 %.3g, fp32 AVX-512 kernel %.3g\n",
              std::size(shapes), worst_amx, worst_fp32);
}

TEST_F(AmxGemm, Bf16x3IsWithinItsBoundAndCoarserThanBf16x6) {
  const Errors e3 = run(47, 70, 385, 2, 99);
  const Errors e6 = run(47, 70, 385, 3, 99);
  // 2 pieces drop terms of order 2^-16 |x w| (about 1.5e-5 relative, usually far less).
  EXPECT_LE(e3.amx, 1.5e-5);
  EXPECT_GT(e3.amx, e6.amx);
}

// Identity weights: the pieces of each activation add back up to the fp32 value.
TEST_F(AmxGemm, IdentityWeightsReproduceTheActivations) {
  const size_t rows = 21, k = 45;
  const auto x = random_values(rows * k, 7);
  std::vector<float> eye(k * k, 0.0f), bias(k, 0.0f), y(rows * k);
  for (size_t i = 0; i < k; ++i) eye[i * k + i] = 1.0f;
  const auto amx = text::pack_weights_amx(eye.data(), k, k, 3);
  text::AmxBuffer split(text::amx_split_elems(rows, k, 3));
  text::split_activations_amx(x.data(), rows, k, 3, 0, (rows + 15) / 16, split.data());
  text::gemm_amx(split.data(), rows, amx, 0, amx.panels, y.data(), bias.data(), no_epilogue);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]) << i;
}

// The epilogue runs on each finished block with its bias slice, as gemm_packed's does.
TEST_F(AmxGemm, EpilogueGetsItsBiasSlice) {
  const size_t rows = 19, n = 70, k = 40;
  const auto x = random_values(rows * k, 11);
  const auto w = random_values(n * k, 12);
  std::vector<float> bias(n);
  for (size_t c = 0; c < n; ++c) bias[c] = static_cast<float>(c);
  const auto amx = text::pack_weights_amx(w.data(), n, k, 3);
  text::AmxBuffer split(text::amx_split_elems(rows, k, 3));
  text::split_activations_amx(x.data(), rows, k, 3, 0, 2, split.data());
  std::vector<float> plain(rows * n), biased(rows * n);
  text::gemm_amx(split.data(), rows, amx, 0, amx.panels, plain.data(), bias.data(), no_epilogue);
  text::gemm_amx(split.data(), rows, amx, 0, 1, biased.data(), bias.data(), text::add_bias);
  text::gemm_amx(split.data(), rows, amx, 1, amx.panels, biased.data(), bias.data(), text::add_bias);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < n; ++c) EXPECT_EQ(biased[r * n + c], plain[r * n + c] + bias[c]) << r << "," << c;
  }
}

// The FFN's fused epilogue (GELU of the finished blocks split straight into the next product's
// A tiles) gives the same pieces, bit for bit, as the unfused path: bias_gelu then
// split_activations_amx. Every element of the buffer is compared (it starts as a canary), so
// missed tiles, zero padding (row and column tails), offsets of a panel sub-range (two calls,
// like two workers), row chunks and depth blocks all count.
TEST_F(AmxGemm, FusedGeluSplitEqualsGeluThenSplit) {
  const size_t shapes[][3] = {{40, 80, 64}, {200, 1536, 384}, {600, 64, 800}, {7, 33, 5}};
  uint64_t seed = 300;
  for (int pieces : {3, 2}) {
    for (const auto& s : shapes) {
      const size_t rows = s[0], n = s[1], k = s[2];
      SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(n) + "x" + std::to_string(k) + " pieces " +
                   std::to_string(pieces));
      const auto x = random_values(rows * k, seed++);
      const auto w = random_values(n * k, seed++);
      const auto bias = random_values(n, seed++);
      const auto amx = text::pack_weights_amx(w.data(), n, k, pieces);
      text::AmxBuffer xs(text::amx_split_elems(rows, k, pieces));
      text::split_activations_amx(x.data(), rows, k, pieces, 0, (rows + 15) / 16, xs.data());

      std::vector<float> y(rows * n);
      text::gemm_amx(xs.data(), rows, amx, 0, amx.panels, y.data(), bias.data(), text::bias_gelu);
      text::AmxBuffer want(text::amx_split_elems(rows, n, pieces));
      text::split_activations_amx(y.data(), rows, n, pieces, 0, (rows + 15) / 16, want.data());

      text::AmxBuffer got(want.size(), 0xAAAA);
      std::vector<float> scratch(rows * n);
      const size_t mid = amx.panels / 2;
      text::gemm_amx_gelu_split(xs.data(), rows, amx, 0, mid, scratch.data(), bias.data(), got.data());
      text::gemm_amx_gelu_split(xs.data(), rows, amx, mid, amx.panels, scratch.data(), bias.data(), got.data());
      size_t diff = 0, first = want.size();
      for (size_t i = 0; i < want.size(); ++i) {
        if (got[i] != want[i]) {
          ++diff;
          first = std::min(first, i);
        }
      }
      EXPECT_EQ(diff, 0u) << "first differing piece element " << first << " of " << want.size();
    }
  }
}

// Where the kernel lists the AMX flags (and nothing turns the path off), detection must find
// them and get the tile permission: the golden tests would otherwise pass on the fp32 path alone.
TEST(AmxSwitch, DetectedWhereCpuinfoListsAmx) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  bool listed = false;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) {
      listed = line.find(" amx_tile") != std::string::npos && line.find(" amx_bf16") != std::string::npos &&
               line.find(" avx512_bf16") != std::string::npos;
      break;
    }
  }
  if (!listed) GTEST_SKIP() << "no AMX in /proc/cpuinfo";
  if (std::getenv("LEADSCORE_TEXT_NO_AMX") != nullptr || std::getenv("LEADSCORE_TEXT_NO_AVX512") != nullptr) {
    GTEST_SKIP() << "AMX turned off by the environment";
  }
  EXPECT_TRUE(text::have_amx());
}

TEST(AmxSwitch, EnvironmentDisablesAmx) {
  if (std::getenv("LEADSCORE_TEXT_NO_AMX") != nullptr || std::getenv("LEADSCORE_TEXT_NO_AVX512") != nullptr) {
    EXPECT_FALSE(text::have_amx());
  } else if (!text::have_amx()) {
    GTEST_SKIP() << "CPU without AMX-BF16";
  } else {
    EXPECT_TRUE(text::have_avx512());
  }
}

}  // namespace
