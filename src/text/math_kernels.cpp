#include "text/math_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

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

void gelu_erf(float* x, size_t rows, size_t cols, size_t ld) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 alpha = _mm256_set1_ps(0.70710678118654752f);
  for (size_t r = 0; r < rows; ++r) {
    float* v = x + r * ld;
    size_t k = 0;
    auto apply = [&](__m256 a) { return _mm256_mul_ps(_mm256_mul_ps(a, half), _mm256_add_ps(one, erf256(_mm256_mul_ps(a, alpha)))); };
    for (; k + 8 <= cols; k += 8) _mm256_storeu_ps(v + k, apply(_mm256_loadu_ps(v + k)));
    if (k < cols) {
      __m256i mask = tail_mask(cols - k);
      _mm256_maskstore_ps(v + k, mask, apply(_mm256_maskload_ps(v + k, mask)));
    }
  }
}

void add_layer_norm(float* y, const float* x, size_t rows, size_t h, const float* g, const float* b, float eps) {
  for (size_t r = 0; r < rows; ++r) {
    float* v = y + r * h;
    if (x != nullptr) {
      const float* xr = x + r * h;
      for (size_t k = 0; k < h; ++k) v[k] += xr[k];
    }
    // Mean and variance accumulated in double: exact enough that eps 1e-12 is honoured.
    double mean = 0;
    for (size_t k = 0; k < h; ++k) mean += v[k];
    mean /= static_cast<double>(h);
    double var = 0;
    for (size_t k = 0; k < h; ++k) {
      const double d = v[k] - mean;
      var += d * d;
    }
    var /= static_cast<double>(h);
    const auto inv = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    const auto m = static_cast<float>(mean);
    for (size_t k = 0; k < h; ++k) v[k] = (v[k] - m) * inv * g[k] + b[k];
  }
}

size_t attention_scratch_floats(size_t n, size_t d) {
  const size_t n8 = (n + 7) / 8 * 8;
  return n8 * d + n8;
}

void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t n, size_t d, float scale,
                    float* out, size_t ldo, float* scratch) {
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
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ForkJoinPool::worker_loop(int id) {
  uint64_t seen = 0;
  for (;;) {
    void (*fn)(void*, int);
    void* ctx;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      fn = job_fn_;
      ctx = job_ctx_;
    }
    fn(ctx, id);
    {
      std::lock_guard lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

void ForkJoinPool::dispatch(void (*fn)(void*, int), void* ctx) {
  {
    std::lock_guard lock(mu_);
    job_fn_ = fn;
    job_ctx_ = ctx;
    pending_ = threads_ - 1;
    ++generation_;
  }
  cv_.notify_all();
  fn(ctx, 0);
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
}

}  // namespace text
