#pragma once
// Element-wise kernels of the encoder (private to text/).

#include <cstddef>

namespace text {

// Row-wise softmax of a [rows, cols] row-major matrix, in place.
void softmax_rows(float* x, size_t rows, size_t cols);
// x = 0.5 x (1 + erf(x / sqrt 2)): BERT's exact GELU.
void gelu_erf_inplace(float* x, size_t n);
// y += x
void add_inplace(float* y, const float* x, size_t n);

}  // namespace text
