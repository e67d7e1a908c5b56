#pragma once
// Shared helpers for text tests: where the shared model files live.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace text_test {

// ../shared/models beside the repository checkout (also in CI); $LEADSCORE_SHARED_DIR overrides
// the shared/ folder (worktrees checked out elsewhere).
inline std::filesystem::path models_dir() {
  if (const char* s = std::getenv("LEADSCORE_SHARED_DIR"); s != nullptr && *s != 0) {
    return std::filesystem::path(s) / "models";
  }
  return std::filesystem::path(LEADSCORE_SOURCE_DIR "/../shared/models");
}
inline std::filesystem::path minilm_dir() { return models_dir() / "all-MiniLM-L6-v2"; }

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace text_test

// Skips the test when a shared model file is missing.
#define TEXT_REQUIRE_FILE(path)                                                          \
  do {                                                                                   \
    if (!std::filesystem::exists(path))                                                  \
      GTEST_SKIP() << "shared model file missing: " << (path).string()                   \
                   << " (expected ../shared/models beside the checkout)";                \
  } while (0)

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <simdjson.h>

#include "text/text.h"

namespace text_test {

// splitmix64 as in minilm_golden_synthetic.json's weights_spec.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct SynthSpec {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t t = 0;
  double offset = 0, scale = 0;
  bool arange = false;
};

// Tensor list from weights_spec (file order = upstream data order).
inline std::vector<SynthSpec> load_synth_spec(simdjson::dom::element doc) {
  std::vector<SynthSpec> out;
  for (auto t : doc["weights_spec"]["tensors"].get_array()) {
    SynthSpec s;
    s.name = std::string(std::string_view(t["name"]));
    for (auto d : t["shape"].get_array()) s.shape.push_back(int64_t(d));
    std::string_view fill;
    if (!t["fill"].get(fill) && fill == "arange") {
      s.arange = true;
    } else {
      s.t = uint64_t(t["t"]);
      s.offset = double(t["offset"]);
      s.scale = double(t["scale"]);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// value[i] = float32(offset + scale * (2u - 1)), u = (splitmix64((t << 32) + i) >> 40) / 2^24.
inline std::vector<float> synth_values(const SynthSpec& s) {
  uint64_t n = 1;
  for (auto d : s.shape) n *= static_cast<uint64_t>(d);
  std::vector<float> v(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (s.arange) {
      v[i] = static_cast<float>(i);
      continue;
    }
    double u = static_cast<double>(splitmix64((s.t << 32) + i) >> 40) / 16777216.0;
    v[i] = static_cast<float>(s.offset + s.scale * (2.0 * u - 1.0));
  }
  return v;
}

struct OutTensor {
  std::string name;
  std::string dtype;  // F32, F16, BF16, I64
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

inline std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Minimal safetensors writer (same layout as reference_minilm.py's writer).
inline void write_safetensors(const std::filesystem::path& path, const std::vector<OutTensor>& ts) {
  std::string h = "{\"__metadata__\":{\"format\":\"pt\"}";
  uint64_t off = 0;
  for (const auto& t : ts) {
    h.append(",\"").append(t.name).append("\":{\"dtype\":\"").append(t.dtype).append("\",\"shape\":[");
    for (size_t i = 0; i < t.shape.size(); ++i) h.append(i ? "," : "").append(std::to_string(t.shape[i]));
    h.append("],\"data_offsets\":[").append(std::to_string(off)).append(",");
    h.append(std::to_string(off + t.bytes.size())).append("]}");
    off += t.bytes.size();
  }
  h += "}";
  while (h.size() % 8) h += ' ';
  std::ofstream out(path, std::ios::binary);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xFF));
  out << h;
  for (const auto& t : ts) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
}

// The synthetic checkpoint of weights_spec as safetensors tensors (names prefixed with
// `prefix`; the position-id arange as I64, the rest F32).
inline std::vector<OutTensor> synth_tensors(const std::vector<SynthSpec>& specs, const std::string& prefix) {
  std::vector<OutTensor> ts;
  for (const auto& s : specs) {
    OutTensor t{prefix + s.name, s.arange ? "I64" : "F32", s.shape, {}};
    auto v = synth_values(s);
    if (s.arange) {
      std::vector<int64_t> iv(v.begin(), v.end());
      t.bytes.resize(iv.size() * 8);
      std::memcpy(t.bytes.data(), iv.data(), t.bytes.size());
    } else {
      t.bytes = f32_bytes(v);
    }
    ts.push_back(std::move(t));
  }
  return ts;
}

// Another checkpoint of the same shape and file size: the rows of every word-embedding tensor
// rotated down by `rows` (row i moves to i + rows), as the audit's second model was.
inline void roll_word_embeddings(std::vector<OutTensor>& ts, int64_t rows) {
  for (auto& t : ts) {
    if (!t.name.ends_with("word_embeddings.weight") || t.shape.size() != 2 || t.shape[0] == 0) continue;
    const auto row_bytes = static_cast<int64_t>(t.bytes.size()) / t.shape[0];
    const int64_t shift = ((rows % t.shape[0]) + t.shape[0]) % t.shape[0];
    std::rotate(t.bytes.begin(), t.bytes.end() - shift * row_bytes, t.bytes.end());
  }
}

}  // namespace text_test
