#pragma once
// AVX-512 elementwise math shared by math_kernels.cpp (softmax, GELU) and amx_gemm.cpp (GELU fused
// with the bf16 split): one definition, so both paths compute bit-identical values. Target
// avx512f only, the subset of every caller's target, so they inline into either file's kernels.

#include <immintrin.h>

#include <cstddef>

namespace text {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define LS_AVX512F __attribute__((target("avx512f")))

// The first min(lanes, 16) lanes of a 16-float vector: the mask of a row's last, partial block.
inline __mmask16 lane_mask(size_t lanes) {
  return lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1);
}

// exp for x <= 0 (its two callers: softmax after subtracting the row max, erf's exp(-x^2)); the
// same Cephes polynomial as the AVX2 exp256, with the power of two applied by vscalefps (one
// instruction for the convert, add, shift and multiply; the same value: 2^fx is a normal float
// for fx >= -126).
LS_AVX512F inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(y, fx);
}

// PyTorch's Vectorized<float>::erf (A&S 7.1.26).
LS_AVX512F inline __m512 erf512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512i sign_bit = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  __m512i xi = _mm512_castps_si512(x);
  __m512i sign = _mm512_and_si512(xi, sign_bit);
  __m512 ax = _mm512_castsi512_ps(_mm512_xor_si512(xi, sign));
  __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, one));
  __m512 r = _mm512_fmadd_ps(_mm512_set1_ps(1.061405429f), t, _mm512_set1_ps(-1.453152027f));
  r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(1.421413741f));
  r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-0.284496736f));
  r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(0.254829592f));
  __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(x, x)));
  __m512 v = _mm512_fnmadd_ps(_mm512_mul_ps(e, t), r, one);  // 1 - e*t*r
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), sign));
}

// Exact (erf) GELU: 0.5 a (1 + erf(a / sqrt 2)); gelu512(0) = +0.
LS_AVX512F inline __m512 gelu512(__m512 a) {
  const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
  const __m512 alpha = _mm512_set1_ps(0.70710678118654752f);
  return _mm512_mul_ps(_mm512_mul_ps(a, half), _mm512_add_ps(one, erf512(_mm512_mul_ps(a, alpha))));
}

#pragma GCC diagnostic pop

}  // namespace text
