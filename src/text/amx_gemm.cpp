// Dense layers on AMX-BF16 with fp32 accuracy: every fp32 operand is split into bf16 pieces
// (a = a0 + a1 + a2, each the bf16 rounding of what the previous pieces left), and the product is
// the sum of the piece products a_i b_j with i + j < P, accumulated in fp32 tiles. P = 3 ("bf16x6":
// 6 products) drops only terms of order 2^-24 |a b|, i.e. fp32 rounding; P = 2 ("bf16x3") drops
// terms of order 2^-16 |a b|.
//
// Layouts (1 KB tiles, 16 rows of 64 bytes, loaded with stride 64):
//   weights  [panel of 32 columns][k-step of 32][piece j][half h]: the B tile of 16 pairs of k x 16
//            columns in the "VNNI" pair layout TDPBF16PS wants: tile[kr][c][e] = w_j[col 16h+c][2kr+e].
//   activations [row tile of 16][k-step][piece i]: tile[r][c] = a_i[row r][k 32s+c] (row-major).
// Zero padding to whole tiles on every side, so tails need no special products. Both buffers must
// be 64-byte aligned: tile rows that straddle two cache lines ran at half speed.
//
// Blocks: 2 row tiles x 1 panel (4 fp32 accumulator tiles) over depth blocks of kKsteps k-steps.
// Every gemm_amx call loads the tile configuration on its own thread (ldtilecfg) and releases
// the tiles when done, so any thread (the pool's workers, a server's request threads) can call it
// and a context switch between calls saves no tile data.
//
// The tile instructions are written as inline asm (with "memory" clobbers on loads and stores:
// GCC 12's _tile_stored macro has none, so the compiler could read a stored tile's memory before
// the store). The file is compiled for the x86-64-v3 baseline; only functions marked LS_AMX use
// AVX-512 / AMX, and they run only after have_amx().
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <sys/syscall.h>
#include <unistd.h>

#include "text/math_kernels.h"
#include "text/simd512.h"

namespace text {
namespace {

// GCC 12 flags its own _mm512_undefined_* placeholders inside the intrinsics headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define LS_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))

constexpr size_t kTile = 512;      // bf16 elements in one 1 KB tile
constexpr long kTileStride = 64;  // bytes per tile row
constexpr size_t kAhead = 2;       // weight prefetch distance, k-steps
constexpr size_t kKsteps = 24;     // depth block: 768 of k (12 and 48 measured slower for k = 1536)

#define LS_TILE_LOAD(t, p) \
  asm volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(p), "r"(kTileStride) : "memory")
#define LS_TILE_STORE(t, p, stride) \
  asm volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(p), "r"(static_cast<long>(stride)) : "memory")
#define LS_TILE_ZERO(t) asm volatile("tilezero %%tmm" #t ::)
// c += a . b (AT&T operand order: b, a, c).
#define LS_TDP(c, a, b) asm volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// All 8 tiles 16 x 64 bytes (C: 16 x 16 fp32; A: 16 x 32 bf16; B: 16 pairs x 16 columns).
LS_AMX void tiles_begin() {
  static const TileConfig cfg = [] {
    TileConfig c;
    for (int t = 0; t < 8; ++t) {
      c.colsb[t] = 64;
      c.rows[t] = 16;
    }
    return c;
  }();
  asm volatile("ldtilecfg %0" ::"m"(cfg) : "memory");
}
LS_AMX void tiles_end() { asm volatile("tilerelease" ::: "memory"); }

// Stores C tile `t` (rows [0, nr), columns [0, nc) of a 16 x 16 block at y, row stride ldy):
// straight into y when the block is whole, else through a scratch tile.
#define LS_STORE_C(t, y, ldy, nr, nc)                                                             \
  do {                                                                                            \
    if ((nr) == 16 && (nc) == 16) {                                                               \
      LS_TILE_STORE(t, (y), (ldy) * sizeof(float));                                               \
    } else {                                                                                      \
      alignas(64) float tmp_[256];                                                                \
      LS_TILE_STORE(t, tmp_, 64);                                                                 \
      for (size_t r_ = 0; r_ < (nr); ++r_) std::memcpy((y) + r_ * (ldy), tmp_ + r_ * 16, (nc) * sizeof(float)); \
    }                                                                                             \
  } while (0)
// Starts C tile `t`: zero for the first depth block, else the partial sums stored in y.
#define LS_START_C(t, first, y, ldy, nr, nc)                                                      \
  do {                                                                                            \
    if (first) {                                                                                  \
      LS_TILE_ZERO(t);                                                                            \
    } else if ((nr) == 16 && (nc) == 16) {                                                        \
      asm volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(y), "r"(static_cast<long>((ldy) * sizeof(float))) : "memory"); \
    } else {                                                                                      \
      alignas(64) float tmp_[256] = {};                                                           \
      for (size_t r_ = 0; r_ < (nr); ++r_) std::memcpy(tmp_ + r_ * 16, (y) + r_ * (ldy), (nc) * sizeof(float)); \
      LS_TILE_LOAD(t, tmp_);                                                                      \
    }                                                                                             \
  } while (0)

// Prefetches the P * 2 KB of weight tiles of one k-step (pf may be null: the panel is in L2).
template <int P>
inline void prefetch_step(const uint16_t* pf) {
  if (pf == nullptr) return;
  const char* c = reinterpret_cast<const char*>(pf);
  for (size_t off = 0; off < P * 2 * kTile * sizeof(uint16_t); off += 64) _mm_prefetch(c + off, _MM_HINT_T0);
}

// Two row tiles x one 32-column panel over k-steps [0, ksteps) of a depth block: 4 accumulators
// (C 0-3), the A pieces of both row tiles in 4-5, the B pieces of both halves in 6-7.
// a0, a1: the row tiles' activation pieces at the block's first k-step; b: the panel's weights.
//
// The piece products (i, j) run in an order where consecutive ones share A_i or B_j, so each
// step reloads only one operand pair: (0,0) (2,0) (1,0) (1,1) (0,1) (0,2) at P = 3, 14 tile loads
// per k-step instead of 18 (P = 2: (0,1) (0,0) (1,0), 8 instead of 10). Tile registers are not
// renamed, so each load is issued right after the last product that reads its register, and
// runs while the other two products of the step do.
// The four products of one (i, j) step, with the two loads of the next step placed after the
// products reading their registers: B change (registers 6, 7) or A change (4, 5).
#define LS_STEP(c1, a1, b1, r1, p1, c2, a2, b2, r2, p2) \
  LS_TDP(0, 4, 6);                                       \
  LS_TDP(c1, a1, b1);                                    \
  LS_TILE_LOAD(r1, p1);                                  \
  LS_TDP(c2, a2, b2);                                    \
  LS_TDP(3, 5, 7);                                       \
  LS_TILE_LOAD(r2, p2)
#define LS_NEXT_B(nb0, nb1) LS_STEP(2, 5, 6, 6, nb0, 1, 4, 7, 7, nb1)
#define LS_NEXT_A(na0, na1) LS_STEP(1, 4, 7, 4, na0, 2, 5, 6, 5, na1)
template <int P>
LS_AMX void block_2x2(const uint16_t* a0, const uint16_t* a1, const uint16_t* b, size_t ksteps, const uint16_t* pf) {
  static_assert(P == 2 || P == 3);
  // Operand tiles: A piece i of row tile r at k-step s, B piece j of half h.
  auto at = [&](size_t s, int r, int i) { return (r == 0 ? a0 : a1) + (s * P + static_cast<size_t>(i)) * kTile; };
  auto bt = [&](size_t s, int j, int h) { return b + (s * P * 2 + static_cast<size_t>(2 * j + h)) * kTile; };
  // First operands: A_0 and B_0 at P = 3 (the order starts with the largest product), B_1 at P = 2.
  constexpr int kFirstB = P == 3 ? 0 : 1;
  LS_TILE_LOAD(4, at(0, 0, 0));
  LS_TILE_LOAD(5, at(0, 1, 0));
  LS_TILE_LOAD(6, bt(0, kFirstB, 0));
  LS_TILE_LOAD(7, bt(0, kFirstB, 1));
  for (size_t s = 0; s < ksteps; ++s) {
    prefetch_step<P>(pf == nullptr ? nullptr : pf + s * P * 2 * kTile);
    if constexpr (P == 3) {
      LS_NEXT_A(at(s, 0, 2), at(s, 1, 2));  // (0,0)
      LS_NEXT_A(at(s, 0, 1), at(s, 1, 1));  // (2,0)
      LS_NEXT_B(bt(s, 1, 0), bt(s, 1, 1));  // (1,0)
      LS_NEXT_A(at(s, 0, 0), at(s, 1, 0));  // (1,1)
      LS_NEXT_B(bt(s, 2, 0), bt(s, 2, 1));  // (0,1)
    } else {
      LS_NEXT_B(bt(s, 0, 0), bt(s, 0, 1));  // (0,1)
      LS_NEXT_A(at(s, 0, 1), at(s, 1, 1));  // (0,0)
    }
    // The last product, (0,2) at P = 3, (1,0) at P = 2; then the next k-step's first operands.
    LS_TDP(0, 4, 6);
    LS_TDP(1, 4, 7);
    if (s + 1 == ksteps) {
      LS_TDP(2, 5, 6);
      LS_TDP(3, 5, 7);
      break;
    }
    LS_TILE_LOAD(4, at(s + 1, 0, 0));
    LS_TDP(2, 5, 6);
    LS_TILE_LOAD(6, bt(s + 1, kFirstB, 0));
    LS_TDP(3, 5, 7);
    LS_TILE_LOAD(5, at(s + 1, 1, 0));
    LS_TILE_LOAD(7, bt(s + 1, kFirstB, 1));
  }
}
#undef LS_NEXT_A
#undef LS_NEXT_B
#undef LS_STEP

// One row tile x one panel (the last odd row tile, and batches of at most 16 tokens): C 0-1, all
// A pieces held in 2-4 (9 tile loads per 12 products at P = 3, not 15), B pieces in 5-6.
#define LS_TDP_A(i, c, b) \
  do {                    \
    if ((i) == 0) {       \
      LS_TDP(c, 2, b);    \
    } else if ((i) == 1) { \
      LS_TDP(c, 3, b);    \
    } else {              \
      LS_TDP(c, 4, b);    \
    }                     \
  } while (0)
template <int P>
LS_AMX void block_1x2(const uint16_t* a0, const uint16_t* b, size_t ksteps, const uint16_t* pf) {
  for (size_t s = 0; s < ksteps; ++s) {
    const uint16_t* as0 = a0 + s * P * kTile;
    const uint16_t* bs = b + s * P * 2 * kTile;
    prefetch_step<P>(pf == nullptr ? nullptr : pf + s * P * 2 * kTile);
    LS_TILE_LOAD(2, as0);
    if constexpr (P > 1) LS_TILE_LOAD(3, as0 + kTile);
    if constexpr (P > 2) LS_TILE_LOAD(4, as0 + 2 * kTile);
    for (int j = 0; j < P; ++j) {
      LS_TILE_LOAD(5, bs + (2 * j) * kTile);
      LS_TILE_LOAD(6, bs + (2 * j + 1) * kTile);
      for (int i = 0; i < P - j; ++i) {
        LS_TDP_A(i, 0, 5);
        LS_TDP_A(i, 1, 6);
      }
    }
  }
}

LS_AMX void split_rows(const float* x, size_t ld, size_t rows, size_t k, const float* gelu_bias, int pieces,
                       size_t t0, size_t t1, size_t s0, size_t s1, uint16_t* out);

// gelu_out == nullptr: epilogue(y block, bias slice) per finished chunk. Else the fused FFN
// epilogue: GELU(y + bias) of the chunk, split straight into the next product's A tiles in
// gelu_out (k-steps [p0, p1) of an input with k = n), and y keeps x W^T without the bias.
template <int P>
LS_AMX void gemm_amx_impl(const uint16_t* xs, size_t rows, const AmxWeights& w, size_t p0, size_t p1, float* y,
                          const float* bias, Epilogue epilogue, uint16_t* gelu_out) {
  const size_t n = w.n, ksteps = w.kpad / 32;
  const size_t row_tiles = (rows + 15) / 16;
  const size_t a_tile_stride = ksteps * P * kTile;  // elements per row tile
  const size_t b_panel_stride = ksteps * P * 2 * kTile;
  // Row tiles in chunks whose depth block of activation pieces (at most ~1 MB) stays in L2 while
  // this worker's panels stream by once per chunk; whole pairs per chunk, an odd last row tile
  // joins the last chunk (13 tiles in 3 chunks: 4, 4, 5, not 6, 6, 1).
  const size_t a_block_bytes = std::min(kKsteps, ksteps) * P * kTile * sizeof(uint16_t);
  const size_t max_pairs = std::max<size_t>(1, 1024 * 1024 / (2 * a_block_bytes));
  const size_t pairs = std::max<size_t>(1, row_tiles / 2);
  const size_t n_chunks = (pairs + max_pairs - 1) / max_pairs;
  const size_t chunk = 2 * ((pairs + n_chunks - 1) / n_chunks);
  tiles_begin();
  for (size_t t0 = 0, t1 = 0; t0 < row_tiles; t0 = t1) {
    t1 = std::min(row_tiles, t0 + chunk);
    if (row_tiles - t1 == 1) t1 = row_tiles;
    // Depth blocks of kKsteps k-steps: a panel's block of weights is read from L2 once per row
    // tile pair; partial sums go through y between blocks.
    for (size_t kb = 0; kb < ksteps; kb += kKsteps) {
      const size_t kn = std::min(kKsteps, ksteps - kb);
      const bool first = kb == 0;
      for (size_t p = p0; p < p1; ++p) {
        const uint16_t* b = w.data.data() + p * b_panel_stride + kb * P * 2 * kTile;
        const size_t c0 = p * 32;
        const size_t nc0 = std::min<size_t>(16, n - c0);
        const size_t nc1 = n > c0 + 16 ? std::min<size_t>(16, n - c0 - 16) : 0;
        // The first pass over a panel's block brings its weights from L3 / memory: prefetch
        // kAhead k-steps ahead.
        const uint16_t* pf = b + kAhead * P * 2 * kTile;
        size_t t = t0;
        for (; t + 2 <= t1; t += 2) {
          const size_t r0 = t * 16;
          const size_t nr0 = std::min<size_t>(16, rows - r0);
          const size_t nr1 = std::min<size_t>(16, rows - r0 - 16);
          float* yb = y + r0 * n + c0;
          LS_START_C(0, first, yb, n, nr0, nc0);
          LS_START_C(1, first, yb + 16, n, nr0, nc1);
          LS_START_C(2, first, yb + 16 * n, n, nr1, nc0);
          LS_START_C(3, first, yb + 16 * n + 16, n, nr1, nc1);
          block_2x2<P>(xs + t * a_tile_stride + kb * P * kTile, xs + (t + 1) * a_tile_stride + kb * P * kTile, b, kn,
                       t == t0 ? pf : nullptr);
          LS_STORE_C(0, yb, n, nr0, nc0);
          if (nc1 > 0) LS_STORE_C(1, yb + 16, n, nr0, nc1);
          LS_STORE_C(2, yb + 16 * n, n, nr1, nc0);
          if (nc1 > 0) LS_STORE_C(3, yb + 16 * n + 16, n, nr1, nc1);
        }
        if (t < t1) {
          const size_t r0 = t * 16;
          const size_t nr0 = std::min<size_t>(16, rows - r0);
          float* yb = y + r0 * n + c0;
          LS_START_C(0, first, yb, n, nr0, nc0);
          LS_START_C(1, first, yb + 16, n, nr0, nc1);
          block_1x2<P>(xs + t * a_tile_stride + kb * P * kTile, b, kn, t == t0 ? pf : nullptr);
          LS_STORE_C(0, yb, n, nr0, nc0);
          if (nc1 > 0) LS_STORE_C(1, yb + 16, n, nr0, nc1);
        }
      }
    }
    const size_t r0 = t0 * 16, r1 = std::min(rows, t1 * 16);
    const size_t c0 = p0 * 32, c1 = std::min(n, p1 * 32);
    if (gelu_out != nullptr) {
      split_rows(y, n, rows, n, bias, P, t0, t1, p0, p1, gelu_out);
    } else if (c1 > c0) {
      epilogue(y + r0 * n + c0, r1 - r0, c1 - c0, n, bias + c0);
    }
  }
  tiles_end();
}

// Round to nearest even bf16 (finite inputs), and back.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float from_bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// fp32 -> P bf16 pieces, 32 values (one 64-byte tile row per piece) per step: each piece is the
// RNE bf16 of what the previous pieces left (x - piece is exact in fp32). Row tiles [t0, t1),
// k-steps [s0, s1) of x [rows, k] (row stride ld) into the A-tile layout of out; rows past `rows`
// and columns past k are zero. With gelu_bias, the values split are GELU(x + gelu_bias): the same
// instructions as bias_gelu, so the pieces equal those of bias_gelu then split (amx_gemm_test).
LS_AMX void split_rows(const float* x, size_t ld, size_t rows, size_t k, const float* gelu_bias, int pieces,
                       size_t t0, size_t t1, size_t s0, size_t s1, uint16_t* out) {
  const size_t ksteps = (k + 31) / 32;
  const auto P = static_cast<size_t>(pieces);
  for (size_t t = t0; t < t1; ++t) {
    for (size_t i = 0; i < 16; ++i) {
      const size_t r = t * 16 + i;
      const float* xr = x + r * ld;
      uint16_t* dst = out + (t * ksteps + s0) * P * kTile + i * 32;
      if (r >= rows) {
        for (size_t s = 0; s < (s1 - s0) * P; ++s) _mm512_storeu_si512(dst + s * kTile, _mm512_setzero_si512());
        continue;
      }
      for (size_t s = s0; s < s1; ++s, dst += P * kTile) {
        const size_t kk = s * 32;
        __m512 lo, hi;
        if (kk + 32 <= k) {
          lo = _mm512_loadu_ps(xr + kk);
          hi = _mm512_loadu_ps(xr + kk + 16);
          if (gelu_bias != nullptr) {
            lo = gelu512(_mm512_add_ps(lo, _mm512_loadu_ps(gelu_bias + kk)));
            hi = gelu512(_mm512_add_ps(hi, _mm512_loadu_ps(gelu_bias + kk + 16)));
          }
        } else {
          const size_t v = k - kk;
          const __mmask16 m0 = lane_mask(v), m1 = lane_mask(v > 16 ? v - 16 : 0);
          lo = _mm512_maskz_loadu_ps(m0, xr + kk);
          hi = _mm512_maskz_loadu_ps(m1, xr + kk + 16);
          if (gelu_bias != nullptr) {  // masked lanes stay 0: gelu512(0) = +0
            lo = gelu512(_mm512_add_ps(lo, _mm512_maskz_loadu_ps(m0, gelu_bias + kk)));
            hi = gelu512(_mm512_add_ps(hi, _mm512_maskz_loadu_ps(m1, gelu_bias + kk + 16)));
          }
        }
        for (size_t p = 0; p < P; ++p) {
          const __m512bh h = _mm512_cvtne2ps_pbh(hi, lo);  // [lo's 16 | hi's 16]
          const __m512i hv = reinterpret_cast<const __m512i&>(h);
          _mm512_storeu_si512(dst + p * kTile, hv);
          if (p + 1 < P) {
            lo = _mm512_sub_ps(lo, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hv)), 16)));
            hi = _mm512_sub_ps(hi, _mm512_castsi512_ps(_mm512_slli_epi32(
                                       _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hv, 1)), 16)));
          }
        }
      }
    }
  }
}

#pragma GCC diagnostic pop

// CPUID: AMX-TILE, AMX-BF16 (leaf 7.0 EDX bits 24, 22), AVX512-BF16 (leaf 7.1 EAX bit 5),
// AVX512F/BW/VL; then ask Linux for the tile data state (ARCH_REQ_XCOMP_PERM, XTILEDATA = 18):
// without that permission the first tile instruction raises SIGILL.
bool detect_amx() {
  if (std::getenv("LEADSCORE_TEXT_NO_AMX") != nullptr) return false;
  if (!have_avx512()) return false;  // LEADSCORE_TEXT_NO_AVX512 also turns AMX off
  unsigned a = 0, b = 0, c = 0, d = 0;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
  if (a < 7) return false;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  const bool tile = (d >> 24) & 1u, bf16 = (d >> 22) & 1u;
  const unsigned max_sub = a;
  if (!tile || !bf16 || max_sub < 1) return false;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
  if (((a >> 5) & 1u) == 0) return false;
#if defined(__linux__)
  constexpr long kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXtileData = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXtileData) != 0) return false;
  unsigned long bitmask = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &bitmask) != 0) return false;
  return (bitmask >> kXtileData) & 1u;
#else
  return false;
#endif
}

}  // namespace

bool have_amx() {
  static const bool yes = detect_amx();
  return yes;
}

int amx_pieces() {
  static const int p = [] {
    const char* s = std::getenv("LEADSCORE_TEXT_AMX_PIECES");
    if (s != nullptr && (s[0] == '2' || s[0] == '3') && s[1] == 0) return s[0] - '0';
    return kAmxDefaultPieces;
  }();
  return p;
}

AmxWeights pack_weights_amx(const float* w, size_t n, size_t k, int pieces) {
  AmxWeights p;
  p.n = n;
  p.k = k;
  p.kpad = (k + 31) / 32 * 32;
  p.pieces = pieces == 2 ? 2 : 3;
  pieces = p.pieces;
  p.panels = (n + AmxWeights::kPanel - 1) / AmxWeights::kPanel;
  const size_t ksteps = p.kpad / 32;
  const auto P = static_cast<size_t>(pieces);
  p.data.assign(p.panels * ksteps * P * 2 * kTile, 0);
  for (size_t col = 0; col < n; ++col) {
    const size_t panel = col / 32, h = (col % 32) / 16, c = col % 16;
    for (size_t kk = 0; kk < k; ++kk) {
      const size_t s = kk / 32, kr = (kk % 32) / 2, e = kk % 2;
      float v = w[col * k + kk];
      for (size_t j = 0; j < P; ++j) {
        const uint16_t hb = to_bf16(v);
        v -= from_bf16(hb);
        p.data[(((panel * ksteps + s) * P + j) * 2 + h) * kTile + kr * 32 + c * 2 + e] = hb;
      }
    }
  }
  return p;
}

size_t amx_split_elems(size_t rows, size_t k, int pieces) {
  return (rows + 15) / 16 * 16 * ((k + 31) / 32 * 32) * static_cast<size_t>(pieces);
}

void split_activations_amx(const float* x, size_t rows, size_t k, int pieces, size_t t0, size_t t1,
                           uint16_t* out) {
  split_rows(x, k, rows, k, nullptr, pieces, t0, t1, 0, (k + 31) / 32, out);
}

void gemm_amx(const uint16_t* xs, size_t rows, const AmxWeights& w, size_t p0, size_t p1, float* y,
              const float* bias, Epilogue epilogue) {
  if (w.pieces == 2) {
    gemm_amx_impl<2>(xs, rows, w, p0, p1, y, bias, epilogue, nullptr);
  } else {
    gemm_amx_impl<3>(xs, rows, w, p0, p1, y, bias, epilogue, nullptr);
  }
}

void gemm_amx_gelu_split(const uint16_t* xs, size_t rows, const AmxWeights& w, size_t p0, size_t p1, float* y,
                         const float* bias, uint16_t* out) {
  if (w.pieces == 2) {
    gemm_amx_impl<2>(xs, rows, w, p0, p1, y, bias, nullptr, out);
  } else {
    gemm_amx_impl<3>(xs, rows, w, p0, p1, y, bias, nullptr, out);
  }
}

}  // namespace text
