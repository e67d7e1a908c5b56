#pragma once
// Deterministic random numbers for the generator: xoshiro256** seeded by splitmix64, and
// distributions written out here because std:: distributions differ between standard
// libraries (the same seed must give the same bytes everywhere).

#include <cmath>
#include <cstdint>
#include <span>

namespace data::detail {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // [0, n)
  uint64_t below(uint64_t n) { return static_cast<uint64_t>(uniform() * static_cast<double>(n)); }
  int64_t range(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool chance(double p) { return uniform() < p; }

  // Standard normal by Box-Muller (one value per call; simple and deterministic).
  double normal() {
    double u1 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mu, double sigma) { return mu + sigma * normal(); }
  double lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }

  // Knuth's method; fine for the small means used here (capped at 30).
  int64_t poisson(double lambda) {
    if (lambda <= 0) return 0;
    if (lambda > 30) lambda = 30;
    const double l = std::exp(-lambda);
    int64_t k = 0;
    double p = 1.0;
    do {
      ++k;
      p *= uniform();
    } while (p > l);
    return k - 1;
  }

  int64_t binomial(int64_t n, double p) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; ++i) k += chance(p);
    return k;
  }

  // Index drawn with the given (unnormalised) weights.
  size_t weighted(std::span<const double> w) {
    double total = 0;
    for (double x : w) total += x;
    double u = uniform() * total;
    for (size_t i = 0; i < w.size(); ++i) {
      if (u < w[i]) return i;
      u -= w[i];
    }
    return w.size() - 1;
  }

  template <typename T>
  const T& pick(std::span<const T> items) {
    return items[below(items.size())];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace data::detail
