#include "text/math_kernels.h"

#include <algorithm>
#include <cmath>

namespace text {

void softmax_rows(float* x, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    float* v = x + r * cols;
    float m = v[0];
    for (size_t k = 1; k < cols; ++k) m = std::max(m, v[k]);
    float sum = 0;
    for (size_t k = 0; k < cols; ++k) {
      v[k] = std::exp(v[k] - m);
      sum += v[k];
    }
    const float inv = 1.0f / sum;
    for (size_t k = 0; k < cols; ++k) v[k] *= inv;
  }
}

void gelu_erf_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void add_inplace(float* y, const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace text
