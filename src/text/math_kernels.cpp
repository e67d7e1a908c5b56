#include "text/math_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>

#include <sys/mman.h>

#include "text/simd512.h"

namespace text {
namespace {

// exp with Cephes' polynomial (~1 ulp on the softmax range).
inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i n = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));
  return _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(n, 23)));
}

// PyTorch's Vectorized<float>::erf (A&S 7.1.26).
inline __m256 erf256(__m256 x) {
  const __m256 neg_zero = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
  __m256 sign = _mm256_and_ps(neg_zero, x);
  __m256 ax = _mm256_xor_ps(sign, x);
  __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, one));
  __m256 r = _mm256_fmadd_ps(_mm256_set1_ps(1.061405429f), t, _mm256_set1_ps(-1.453152027f));
  r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(1.421413741f));
  r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(-0.284496736f));
  r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(0.254829592f));
  __m256 e = _mm256_xor_ps(neg_zero, exp256(_mm256_xor_ps(neg_zero, _mm256_mul_ps(x, x))));
  __m256 v = _mm256_fmadd_ps(_mm256_mul_ps(e, t), r, one);
  return _mm256_xor_ps(sign, v);
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Lanes [0, n) of a partial vector: load with -inf / 0 fill.
inline __m256i tail_mask(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void softmax_row(float* v, size_t n) {
  size_t k = 0;
  __m256 m8 = _mm256_set1_ps(-INFINITY);
  for (; k + 8 <= n; k += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(v + k));
  float m = hmax(m8);
  for (; k < n; ++k) m = std::max(m, v[k]);
  const __m256 mv = _mm256_set1_ps(m);
  __m256 s8 = _mm256_setzero_ps();
  for (k = 0; k + 8 <= n; k += 8) {
    __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(v + k), mv));
    _mm256_storeu_ps(v + k, e);
    s8 = _mm256_add_ps(s8, e);
  }
  if (k < n) {
    __m256i mask = tail_mask(n - k);
    __m256 e = exp256(_mm256_sub_ps(_mm256_maskload_ps(v + k, mask), mv));
    e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
    _mm256_maskstore_ps(v + k, mask, e);
    s8 = _mm256_add_ps(s8, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum(s8));
  for (k = 0; k + 8 <= n; k += 8) _mm256_storeu_ps(v + k, _mm256_mul_ps(_mm256_loadu_ps(v + k), inv));
  if (k < n) {
    __m256i mask = tail_mask(n - k);
    _mm256_maskstore_ps(v + k, mask, _mm256_mul_ps(_mm256_maskload_ps(v + k, mask), inv));
  }
}

}  // namespace

void softmax_rows(float* x, size_t rows, size_t cols, size_t ld) {
  for (size_t r = 0; r < rows; ++r) softmax_row(x + r * ld, cols);
}

namespace {

void gelu_avx2(float* x, size_t rows, size_t cols, size_t ld, const float* bias) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 alpha = _mm256_set1_ps(0.70710678118654752f);
  for (size_t r = 0; r < rows; ++r) {
    float* v = x + r * ld;
    for (size_t k = 0; k < cols; k += 8) {
      const __m256i mask = tail_mask(cols - k);
      __m256 a = _mm256_maskload_ps(v + k, mask);
      if (bias != nullptr) a = _mm256_add_ps(a, _mm256_maskload_ps(bias + k, mask));
      a = _mm256_mul_ps(_mm256_mul_ps(a, half), _mm256_add_ps(one, erf256(_mm256_mul_ps(a, alpha))));
      _mm256_maskstore_ps(v + k, mask, a);
    }
  }
}

// ---- AVX-512 variants (runtime-dispatched; the build baseline is AVX2) ----
// GCC 12 flags its own _mm512_undefined_* placeholders inside the intrinsics headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define LS_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))

LS_AVX512 void gelu_avx512(float* x, size_t rows, size_t cols, size_t ld, const float* bias) {
  for (size_t r = 0; r < rows; ++r) {
    float* v = x + r * ld;
    for (size_t k = 0; k < cols; k += 16) {
      const __mmask16 m = lane_mask(cols - k);
      __m512 a = _mm512_maskz_loadu_ps(m, v + k);
      if (bias != nullptr) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, bias + k));
      a = gelu512(a);
      _mm512_mask_storeu_ps(v + k, m, a);
    }
  }
}

// One head, blocks of MQ queries: scores against K^T (L1-resident), softmax, then P.V with the
// MQ x d outputs in registers. NV = d / 16. MQ independent accumulators per key block keep both
// FMA ports busy (4 chains of d dependent FMAs only fed one port); MQ * NV <= 16 registers.
template <int NV, int MQ>
LS_AVX512 void attention512(const float* q, const float* k, const float* v, size_t ld, size_t n, size_t d,
                            float scale, float* out, size_t ldo, float* scratch) {
  const size_t n16 = (n + 15) / 16 * 16;
  float* kt = scratch;
  float* s = scratch + n16 * d;  // MQ rows of n16
  // K^T, 16 keys at a time: a 16 x 16 block is read as 16 row vectors (contiguous) and written
  // as 16 column vectors through a gather from the block just stored (a column-wise scalar
  // copy with the row stride of qkv was 15% of the attention time).
  alignas(64) float blk[16 * 16];
  for (size_t j0 = 0; j0 < n16; j0 += 16) {
    const size_t nj = n - j0 < 16 ? n - j0 : 16;
    for (size_t c0 = 0; c0 < d; c0 += 16) {
      for (size_t j = 0; j < 16; ++j) {
        _mm512_store_ps(blk + j * 16, j < nj ? _mm512_loadu_ps(k + (j0 + j) * ld + c0) : _mm512_setzero_ps());
      }
      const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32(16));
      for (size_t c = 0; c < 16; ++c) {
        _mm512_storeu_ps(kt + (c0 + c) * n16 + j0, _mm512_i32gather_ps(idx, blk + c, 4));
      }
    }
  }
  const __m512 sc = _mm512_set1_ps(scale);
  for (size_t i0 = 0; i0 < n; i0 += MQ) {
    const size_t rows = n - i0 < MQ ? n - i0 : MQ;
    const float* qr[MQ];
    for (size_t r = 0; r < MQ; ++r) qr[r] = q + (i0 + (r < rows ? r : 0)) * ld;
    // Scores, with each row's max over the real keys kept on the way (no separate max pass).
    __m512 mx[MQ];
    for (int r = 0; r < MQ; ++r) mx[r] = _mm512_set1_ps(-INFINITY);
    for (size_t jb = 0; jb < n16; jb += 16) {
      __m512 a[MQ];
      for (int r = 0; r < MQ; ++r) a[r] = _mm512_setzero_ps();
      const float* kc = kt + jb;
      for (size_t c = 0; c < d; ++c, kc += n16) {
        const __m512 kv = _mm512_loadu_ps(kc);
        for (int r = 0; r < MQ; ++r) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(qr[r][c]), kv, a[r]);
      }
      const __mmask16 valid = lane_mask(n - jb);
      for (int r = 0; r < MQ; ++r) {
        const __m512 t = _mm512_mul_ps(a[r], sc);
        _mm512_storeu_ps(s + static_cast<size_t>(r) * n16 + jb, t);
        mx[r] = _mm512_mask_max_ps(mx[r], valid, mx[r], t);
      }
    }
    // exp(s - max) in place (zero past n); the normalization by the row sum is applied to the
    // MQ x d outputs instead of the MQ x n probabilities.
    float inv[MQ];
    for (size_t r = 0; r < rows; ++r) {
      float* sr = s + r * n16;
      const __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(mx[r]));
      __m512 sum = _mm512_setzero_ps();
      for (size_t jb = 0; jb < n16; jb += 16) {
        const __m512 e = _mm512_maskz_mov_ps(lane_mask(n - jb), exp512(_mm512_sub_ps(_mm512_loadu_ps(sr + jb), mv)));
        _mm512_storeu_ps(sr + jb, e);
        sum = _mm512_add_ps(sum, e);
      }
      inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
    }
    __m512 acc[MQ][NV];
    for (int r = 0; r < MQ; ++r) {
      for (int u = 0; u < NV; ++u) acc[r][u] = _mm512_setzero_ps();
    }
    for (size_t j = 0; j < n; ++j) {
      const float* vj = v + j * ld;
      __m512 vv[NV];
      for (int u = 0; u < NV; ++u) vv[u] = _mm512_loadu_ps(vj + 16 * u);
      for (int r = 0; r < MQ; ++r) {
        const __m512 p = _mm512_set1_ps(s[static_cast<size_t>(r) * n16 + j]);
        for (int u = 0; u < NV; ++u) acc[r][u] = _mm512_fmadd_ps(p, vv[u], acc[r][u]);
      }
    }
    for (size_t r = 0; r < rows; ++r) {
      const __m512 iv = _mm512_set1_ps(inv[r]);
      for (int u = 0; u < NV; ++u) {
        _mm512_storeu_ps(out + (i0 + r) * ldo + 16 * static_cast<size_t>(u), _mm512_mul_ps(acc[r][u], iv));
      }
    }
  }
}

// MR rows x 32 columns of y over the depth block: 2*MR accumulators stay in registers. The
// weight stream is prefetched 2 KB ahead: the hardware prefetchers alone left the
// FMAs waiting, most of all for short inputs (few rows, so little reuse per weight: 1.7x slower
// for 16 rows, 2.7x for 8).
template <int MR>
LS_AVX512 void gemm_micro(const float* x, size_t ldx, const float* panel, size_t k, float* y, size_t ldy,
                          __mmask16 m0, __mmask16 m1, bool accumulate) {
  __m512 c0[MR], c1[MR];
  if (accumulate) {
    for (int m = 0; m < MR; ++m) {
      c0[m] = _mm512_maskz_loadu_ps(m0, y + static_cast<size_t>(m) * ldy);
      c1[m] = _mm512_maskz_loadu_ps(m1, y + static_cast<size_t>(m) * ldy + 16);
    }
  } else {
    for (int m = 0; m < MR; ++m) c0[m] = c1[m] = _mm512_setzero_ps();
  }
  constexpr size_t kAhead = 512;  // floats: 2 KB
  // Rows m and m + H share a pointer (the second at a fixed offset): 12 row pointers plus the
  // loop's own registers did not fit the 15 general registers, and the spills cost a load per step.
  constexpr int H = (MR + 1) / 2;
  const float* xp[H];
  for (int m = 0; m < H; ++m) xp[m] = x + static_cast<size_t>(m) * ldx;
  const size_t off = static_cast<size_t>(H) * ldx;
  const float* w = panel;
  for (size_t kk = 0; kk < k; ++kk, w += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(w + kAhead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(w + kAhead + 16), _MM_HINT_T0);
    const __m512 w0 = _mm512_loadu_ps(w);
    const __m512 w1 = _mm512_loadu_ps(w + 16);
    for (int m = 0; m < H; ++m) {
      const __m512 a = _mm512_set1_ps(*xp[m]);
      c0[m] = _mm512_fmadd_ps(a, w0, c0[m]);
      c1[m] = _mm512_fmadd_ps(a, w1, c1[m]);
      if (m + H < MR) {
        const __m512 b = _mm512_set1_ps(xp[m][off]);
        c0[m + H] = _mm512_fmadd_ps(b, w0, c0[m + H]);
        c1[m + H] = _mm512_fmadd_ps(b, w1, c1[m + H]);
      }
      ++xp[m];
    }
  }
  for (int m = 0; m < MR; ++m) {
    _mm512_mask_storeu_ps(y + static_cast<size_t>(m) * ldy, m0, c0[m]);
    _mm512_mask_storeu_ps(y + static_cast<size_t>(m) * ldy + 16, m1, c1[m]);
  }
}

LS_AVX512 void micro_rows(size_t mr, const float* x, size_t ldx, const float* panel, size_t k, float* y,
                          size_t ldy, __mmask16 m0, __mmask16 m1, bool acc) {
  switch (mr) {
    case 12: return gemm_micro<12>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 11: return gemm_micro<11>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 10: return gemm_micro<10>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 9: return gemm_micro<9>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 8: return gemm_micro<8>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 7: return gemm_micro<7>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 6: return gemm_micro<6>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 5: return gemm_micro<5>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 4: return gemm_micro<4>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 3: return gemm_micro<3>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    case 2: return gemm_micro<2>(x, ldx, panel, k, y, ldy, m0, m1, acc);
    default: return gemm_micro<1>(x, ldx, panel, k, y, ldy, m0, m1, acc);
  }
}

LS_AVX512 void gemm_packed_avx512(const float* x, size_t rows, const PackedWeights& w, size_t p0, size_t p1,
                                  float* y, const float* bias, Epilogue epilogue) {
  const size_t k = w.k, n = w.n;
  // Rows in chunks whose activations stay in L2 while every panel of this worker streams by.
  // A multiple of the 12-row micro-kernel (40-row chunks for k = 1536 ended in 4-row tails that
  // ran at half speed), about 512 KB of activations.
  const size_t chunk = std::max<size_t>(12, (512 * 1024 / (k * 4)) / 12 * 12);
  for (size_t r0 = 0; r0 < rows; r0 += chunk) {
    const size_t r1 = std::min(rows, r0 + chunk);
    for (size_t p = p0; p < p1; ++p) {
      const size_t c0 = p * 32;
      const size_t cols = std::min<size_t>(32, n - c0);
      const __mmask16 m0 = lane_mask(cols), m1 = lane_mask(cols > 16 ? cols - 16 : 0);
      // Depth blocks of kKc: fewer passes over y (each reloads and stores the tile) matter more
      // than keeping the 48 KB panel slice in L1; it streams from L2 under the prefetch.
      constexpr size_t kKc = 384;
      for (size_t kb = 0; kb < k; kb += kKc) {
        const size_t kc = std::min(kKc, k - kb);
        const bool acc = kb > 0;
        const float* panel = w.data.data() + p * k * 32 + kb * 32;
        const float* xb = x + kb;
        // 12-row blocks; a remainder under 8 is merged with the last block and split in two
        // (e.g. 256 rows: 20 x 12 + 8 + 8, not 21 x 12 + a half-speed 4).
        size_t full = (r1 - r0) / 12, rem = (r1 - r0) % 12;
        if (rem != 0 && rem < 8 && full > 0) {
          --full;
          rem += 12;
        }
        size_t r = r0;
        for (size_t b = 0; b < full; ++b, r += 12) {
          gemm_micro<12>(xb + r * k, k, panel, kc, y + r * n + c0, n, m0, m1, acc);
        }
        auto tail = [&](size_t mr) {
          micro_rows(mr, xb + r * k, k, panel, kc, y + r * n + c0, n, m0, m1, acc);
          r += mr;
        };
        if (rem > 12) tail(rem / 2);
        if (r < r1) tail(r1 - r);
      }
    }
    const size_t c0 = p0 * 32, c1 = std::min(n, p1 * 32);
    if (c1 > c0) epilogue(y + r0 * n + c0, r1 - r0, c1 - c0, n, bias + c0);
  }
}

#pragma GCC diagnostic pop

}  // namespace

void* huge_page_alloc(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  if (bytes < kHuge) {
    // Cache-line aligned: AMX tile loads of 64-byte rows that straddle two lines ran at half speed.
    void* p = std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  const size_t size = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, size);
  if (p == nullptr) throw std::bad_alloc();
  madvise(p, size, MADV_HUGEPAGE);  // advisory: without THP it is plain memory
  return p;
}

PackedWeights pack_weights(const float* w, size_t n, size_t k) {
  PackedWeights p;
  p.n = n;
  p.k = k;
  p.panels = (n + PackedWeights::kPanel - 1) / PackedWeights::kPanel;
  p.data.assign(p.panels * k * PackedWeights::kPanel, 0.0f);
  for (size_t j = 0; j < n; ++j) {
    const size_t panel = j / PackedWeights::kPanel, col = j % PackedWeights::kPanel;
    float* dst = p.data.data() + panel * k * PackedWeights::kPanel + col;
    for (size_t kk = 0; kk < k; ++kk) dst[kk * PackedWeights::kPanel] = w[j * k + kk];
  }
  return p;
}

void gemm_packed(const float* x, size_t rows, const PackedWeights& w, size_t p0, size_t p1, float* y,
                 const float* bias, Epilogue epilogue) {
  gemm_packed_avx512(x, rows, w, p0, p1, y, bias, epilogue);
}

bool have_avx512() {
  // LEADSCORE_TEXT_NO_AVX512=1 forces the AVX2/OpenBLAS paths (tests cover both).
  static const bool yes = std::getenv("LEADSCORE_TEXT_NO_AVX512") == nullptr &&
                          __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return yes;
}

void gelu_erf(float* x, size_t rows, size_t cols, size_t ld) {
  if (have_avx512()) {
    gelu_avx512(x, rows, cols, ld, nullptr);
  } else {
    gelu_avx2(x, rows, cols, ld, nullptr);
  }
}

void add_layer_norm(float* y, const float* bias, const float* x, size_t rows, size_t h, const float* g,
                    const float* b, float eps) {
  for (size_t r = 0; r < rows; ++r) {
    float* v = y + r * h;
    const float* xr = x == nullptr ? nullptr : x + r * h;
    // Mean and variance accumulated in double (4 lanes): exact enough that eps 1e-12 is honoured.
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t k = 0;
    for (; k + 8 <= h; k += 8) {
      __m256 t = _mm256_loadu_ps(v + k);
      if (bias != nullptr) t = _mm256_add_ps(t, _mm256_loadu_ps(bias + k));
      if (xr != nullptr) t = _mm256_add_ps(t, _mm256_loadu_ps(xr + k));
      _mm256_storeu_ps(v + k, t);
      s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(t)));
      s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1)));
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
    double mean = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; k < h; ++k) {
      if (bias != nullptr) v[k] += bias[k];
      if (xr != nullptr) v[k] += xr[k];
      mean += v[k];
    }
    mean /= static_cast<double>(h);
    const __m256d mv = _mm256_set1_pd(mean);
    s0 = _mm256_setzero_pd();
    s1 = _mm256_setzero_pd();
    for (k = 0; k + 8 <= h; k += 8) {
      __m256 t = _mm256_loadu_ps(v + k);
      __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(t)), mv);
      __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(t, 1)), mv);
      s0 = _mm256_fmadd_pd(d0, d0, s0);
      s1 = _mm256_fmadd_pd(d1, d1, s1);
    }
    _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
    double var = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; k < h; ++k) {
      const double d = v[k] - mean;
      var += d * d;
    }
    var /= static_cast<double>(h);
    const auto inv = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    const auto m = static_cast<float>(mean);
    const __m256 m8 = _mm256_set1_ps(m), inv8 = _mm256_set1_ps(inv);
    for (k = 0; k + 8 <= h; k += 8) {
      __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(v + k), m8), inv8);
      _mm256_storeu_ps(v + k, _mm256_fmadd_ps(t, _mm256_loadu_ps(g + k), _mm256_loadu_ps(b + k)));
    }
    for (; k < h; ++k) v[k] = (v[k] - m) * inv * g[k] + b[k];
  }
}

void add_bias(float* y, size_t rows, size_t cols, size_t ld, const float* bias) {
  for (size_t r = 0; r < rows; ++r) {
    float* v = y + r * ld;
    size_t k = 0;
    for (; k + 8 <= cols; k += 8) {
      _mm256_storeu_ps(v + k, _mm256_add_ps(_mm256_loadu_ps(v + k), _mm256_loadu_ps(bias + k)));
    }
    for (; k < cols; ++k) v[k] += bias[k];
  }
}

void bias_gelu(float* y, size_t rows, size_t cols, size_t ld, const float* bias) {
  if (have_avx512()) {
    gelu_avx512(y, rows, cols, ld, bias);
  } else {
    gelu_avx2(y, rows, cols, ld, bias);
  }
}

size_t attention_scratch_floats(size_t n, size_t d) {
  const size_t n16 = (n + 15) / 16 * 16;
  return n16 * d + 8 * n16;
}

void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t n, size_t d, float scale,
                    float* out, size_t ldo, float* scratch) {
  if (have_avx512() && d % 16 == 0 && d <= 64) {
    switch (d / 16) {
      case 1: return attention512<1, 8>(q, k, v, ld, n, d, scale, out, ldo, scratch);
      case 2: return attention512<2, 8>(q, k, v, ld, n, d, scale, out, ldo, scratch);
      case 3: return attention512<3, 4>(q, k, v, ld, n, d, scale, out, ldo, scratch);
      default: return attention512<4, 4>(q, k, v, ld, n, d, scale, out, ldo, scratch);
    }
  }
  const size_t n8 = (n + 7) / 8 * 8;
  float* kt = scratch;       // K^T [d, n8], zero-padded columns
  float* s = scratch + n8 * d;  // one row of scores
  for (size_t c = 0; c < d; ++c) {
    float* row = kt + c * n8;
    for (size_t j = 0; j < n; ++j) row[j] = k[j * ld + c];
    for (size_t j = n; j < n8; ++j) row[j] = 0;
  }
  const bool d8 = d % 8 == 0 && d <= 64;
  for (size_t i = 0; i < n; ++i) {
    const float* qi = q + i * ld;
    for (size_t jb = 0; jb < n8; jb += 8) {
      __m256 acc = _mm256_setzero_ps();
      for (size_t c = 0; c < d; ++c) acc = _mm256_fmadd_ps(_mm256_set1_ps(qi[c]), _mm256_loadu_ps(kt + c * n8 + jb), acc);
      _mm256_storeu_ps(s + jb, _mm256_mul_ps(acc, _mm256_set1_ps(scale)));
    }
    softmax_row(s, n);
    float* o = out + i * ldo;
    if (d8) {
      __m256 acc[8];
      const size_t nv = d / 8;
      for (size_t u = 0; u < nv; ++u) acc[u] = _mm256_setzero_ps();
      for (size_t j = 0; j < n; ++j) {
        const __m256 p = _mm256_set1_ps(s[j]);
        const float* vj = v + j * ld;
        for (size_t u = 0; u < nv; ++u) acc[u] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8 * u), acc[u]);
      }
      for (size_t u = 0; u < nv; ++u) _mm256_storeu_ps(o + 8 * u, acc[u]);
    } else {
      for (size_t c = 0; c < d; ++c) o[c] = 0;
      for (size_t j = 0; j < n; ++j) {
        for (size_t c = 0; c < d; ++c) o[c] += s[j] * v[j * ld + c];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

ForkJoinPool::ForkJoinPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ForkJoinPool::~ForkJoinPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ForkJoinPool::worker_loop(int id) {
  uint64_t seen = 0;
  for (;;) {
    // No spinning before the wait: under KVM a pause loop exits to the hypervisor (PLE) and
    // spinning made 2-thread batch-1 encodes 2x slower than sleeping on the futex.
    uint64_t g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_) return;  // written under mu_ before the generation bump that woke us
    job_fn_(job_ctx_, id);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mu_);  // pairs with the dispatcher's predicate check
      done_cv_.notify_one();
    }
  }
}

void ForkJoinPool::dispatch(void (*fn)(void*, int), void* ctx) {
  job_fn_ = fn;
  job_ctx_ = ctx;
  pending_.store(threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);  // a worker between its predicate check and its sleep sees the bump
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  fn(ctx, 0);
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
}

}  // namespace text
