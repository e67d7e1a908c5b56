#pragma once
// Compute kernels of the encoder (private to text/): AVX2+FMA (the build's x86-64-v3 baseline)
// with scalar tails, and a tiny fork-join pool.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace text {

// Row-wise softmax of a [rows, cols] matrix with row stride ld, in place.
void softmax_rows(float* x, size_t rows, size_t cols, size_t ld);
// x = 0.5 x (1 + erf(x / sqrt 2)) on a [rows, cols] block with row stride ld. erf as PyTorch's
// vectorized CPU kernel computes it (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7), which is what
// produced the golden embeddings.
void gelu_erf(float* x, size_t rows, size_t cols, size_t ld);
// y[r] = LayerNorm(y[r] + bias + x[r]) * g + b for rows r (bias, x may be null).
void add_layer_norm(float* y, const float* bias, const float* x, size_t rows, size_t h, const float* g,
                    const float* b, float eps);
// y[r, :cols] += bias[:cols] for a [rows, cols] block with row stride ld.
void add_bias(float* y, size_t rows, size_t cols, size_t ld, const float* bias);
// Bias add then exact GELU on a block (the FFN's first half epilogue).
void bias_gelu(float* y, size_t rows, size_t cols, size_t ld, const float* bias);
// True when the AVX-512 paths are in use (runtime CPU check).
bool have_avx512();

// Allocates in 2 MB-aligned blocks advised as transparent huge pages: the GEMM streams ~7 MB of
// weights per layer, and with 4 KB pages every 48 KB panel slice touched 12 more TLB entries.
// Smaller blocks are 64-byte aligned (AMX tile rows must not straddle cache lines).
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
  T* allocate(size_t n);
  void deallocate(T* p, size_t) { std::free(p); }
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }
};
void* huge_page_alloc(size_t bytes);
template <typename T>
T* HugePageAllocator<T>::allocate(size_t n) {
  return static_cast<T*>(huge_page_alloc(n * sizeof(T)));
}

// A weight matrix W [n, k] (row-major, as in the checkpoint) re-laid for gemm_packed: W^T in
// panels of kPanel output columns, zero-padded: data[p][kk][j] = W[p * kPanel + j][kk].
struct PackedWeights {
  static constexpr size_t kPanel = 32;
  size_t n = 0, k = 0, panels = 0;
  std::vector<float, HugePageAllocator<float>> data;
};
PackedWeights pack_weights(const float* w, size_t n, size_t k);

// Epilogue on a finished [rows, cols] block of y (row stride ld) with its bias slice.
using Epilogue = void (*)(float* y, size_t rows, size_t cols, size_t ld, const float* bias);

// y[rows, w.n] (row stride w.n) = x[rows, w.k] * W^T for output panels [p0, p1), then
// epilogue(block, ..., bias + first column) per finished block. AVX-512 only (have_avx512()).
void gemm_packed(const float* x, size_t rows, const PackedWeights& w, size_t p0, size_t p1, float* y,
                 const float* bias, Epilogue epilogue);
// ---- AMX-BF16 dense layers with fp32 accuracy (amx_gemm.cpp) ----
// True when the CPU has AMX-TILE + AMX-BF16 + AVX512-BF16, Linux granted the tile data state
// (arch_prctl ARCH_REQ_XCOMP_PERM), AVX-512 is in use and LEADSCORE_TEXT_NO_AMX is unset.
bool have_amx();
// Number of bf16 pieces per fp32 operand: 3 ("bf16x6", 6 piece products; the default) or 2
// ("bf16x3", 3 products; diagnostic: LEADSCORE_TEXT_AMX_PIECES=2).
inline constexpr int kAmxDefaultPieces = 3;
int amx_pieces();
// W [n, k] split into `pieces` (2 or 3) bf16 terms, packed as AMX B tiles per 32-column panel
// (see amx_gemm.cpp); k padded to a multiple of 32, columns to a multiple of 32, with zeros.
struct AmxWeights {
  static constexpr size_t kPanel = 32;
  size_t n = 0, k = 0, kpad = 0, panels = 0;
  int pieces = 0;
  std::vector<uint16_t, HugePageAllocator<uint16_t>> data;
};
AmxWeights pack_weights_amx(const float* w, size_t n, size_t k, int pieces);
// Size (uint16 elements) of the split activations of x [rows, k]. Keep them 64-byte aligned
// (AmxBuffer): tile loads whose 64-byte rows straddle two cache lines run at half speed.
using AmxBuffer = std::vector<uint16_t, HugePageAllocator<uint16_t>>;
size_t amx_split_elems(size_t rows, size_t k, int pieces);
// Splits rows [16 t0, 16 t1) of x [rows, k] into `pieces` bf16 terms in A-tile layout (rows past
// `rows` and k past k are zero-filled). Needs have_amx().
void split_activations_amx(const float* x, size_t rows, size_t k, int pieces, size_t t0, size_t t1,
                           uint16_t* out);
// y[rows, w.n] (row stride w.n) = x W^T for output panels [p0, p1) from the split activations,
// then epilogue per finished block, as gemm_packed. Configures the tiles on the calling thread
// (ldtilecfg) and releases them on return. Needs have_amx().
void gemm_amx(const uint16_t* xs, size_t rows, const AmxWeights& w, size_t p0, size_t p1, float* y,
              const float* bias, Epilogue epilogue);
// The FFN's first half, fused: as gemm_amx with the bias_gelu epilogue followed by
// split_activations_amx of the result (k = w.n, w.pieces pieces), but GELU(x W^T + b) goes
// straight from the finished blocks into `out` (amx_split_elems(rows, w.n, w.pieces) elements;
// this call writes k-steps [p0, p1), i.e. its panels' columns, of every row tile), with the same
// pieces bit for bit. y is scratch: it is left holding x W^T without the bias. Needs have_amx().
void gemm_amx_gelu_split(const uint16_t* xs, size_t rows, const AmxWeights& w, size_t p0, size_t p1, float* y,
                         const float* bias, uint16_t* out);

// Scaled dot-product attention of one head over n tokens: q, k, v rows have stride ld; head
// width d; out rows stride ldo. scratch needs attention_scratch_floats(n, d) floats.
size_t attention_scratch_floats(size_t n, size_t d);
void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t n, size_t d, float scale,
                    float* out, size_t ldo, float* scratch);

// Fork-join over [0, n): fn(begin, end, worker) on `threads` workers (the caller is worker 0).
class ForkJoinPool {
 public:
  explicit ForkJoinPool(int threads);
  ~ForkJoinPool();
  int size() const { return threads_; }
  // Splits [0, n) into one contiguous chunk per worker (chunks aligned to `align`):
  // fn(begin, end, worker). No allocation (fn is called through a plain pointer).
  template <typename F>
  void run(size_t n, size_t align, F&& fn) {
    const auto t = static_cast<size_t>(threads_);
    if (t == 1 || n <= align) {
      fn(size_t{0}, n, 0);
      return;
    }
    size_t chunk = (n + t - 1) / t;
    chunk = (chunk + align - 1) / align * align;
    auto job = [&](int w) {
      const size_t b = std::min(n, static_cast<size_t>(w) * chunk);
      const size_t e = std::min(n, b + chunk);
      if (b < e) fn(b, e, w);
    };
    dispatch(&call<decltype(job)>, &job);
  }
  // Dynamic scheduling of n independent tasks: fn(task, worker).
  template <typename F>
  void run_tasks(size_t n, F&& fn) {
    if (threads_ == 1 || n <= 1) {
      for (size_t i = 0; i < n; ++i) fn(i, 0);
      return;
    }
    std::atomic<size_t> next{0};
    auto job = [&](int w) {
      for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i, w);
    };
    dispatch(&call<decltype(job)>, &job);
  }

 private:
  template <typename J>
  static void call(void* job, int worker) {
    (*static_cast<J*>(job))(worker);
  }
  void worker_loop(int id);
  void dispatch(void (*fn)(void*, int), void* ctx);
  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  void (*job_fn_)(void*, int) = nullptr;
  void* job_ctx_ = nullptr;
  // A job is published by bumping generation_ (workers that are still awake pick it up without
  // the mutex); completion is counted down in pending_.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

}  // namespace text
