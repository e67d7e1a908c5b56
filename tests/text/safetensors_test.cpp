#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"
#include "text/text.h"

namespace {

using text_test::minilm_dir;

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         std::string("ls_st_").append(std::to_string(::getpid())).append("_").append(name);
}

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class RealPrefix : public ::testing::Test {
 protected:
  void SetUp() override { TEXT_REQUIRE_FILE(path_); }
  std::filesystem::path path_ = minilm_dir() / "model.safetensors.prefix";
};

TEST_F(RealPrefix, HeaderParsesWithAllTensorsOfTheRealModel) {
  auto f = text::SafeTensors::open(path_);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->tensors().size(), 104u);  // PROVENANCE.md: 104 tensors
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->declared_size(), 90868376u);  // upstream model.safetensors size
  EXPECT_FALSE(f->complete());
  const auto* word = f->find("embeddings.word_embeddings.weight");
  ASSERT_NE(word, nullptr);
  EXPECT_EQ(word->shape, (std::vector<int64_t>{30522, 384}));
  EXPECT_EQ(word->dtype, "F32");
  ASSERT_NE(f->find("encoder.layer.5.output.LayerNorm.bias"), nullptr);
}

TEST_F(RealPrefix, TensorsInsideThePrefixLoad) {
  auto f = text::SafeTensors::open(path_);
  ASSERT_TRUE(f);
  auto ln = f->load_f32("embeddings.LayerNorm.weight");
  ASSERT_TRUE(ln) << ln.error().message;
  EXPECT_EQ(ln->size(), 384u);
  auto pos = f->load_f32("embeddings.position_embeddings.weight");
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->size(), 512u * 384u);
  // Trained LayerNorm gains are positive and O(1); not all equal.
  float lo = 1e9f, hi = -1e9f;
  for (float v : *ln) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_GT(hi, lo);
  EXPECT_LT(std::abs(hi), 10.0f);
  auto tt = f->load_f32("embeddings.token_type_embeddings.weight");
  ASSERT_TRUE(tt);
  EXPECT_EQ(tt->size(), 2u * 384u);
  // position_ids is I64: not loadable as float.
  auto ids = f->load_f32("embeddings.position_ids");
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code, "tensor_dtype_unsupported");
}

TEST_F(RealPrefix, TensorsBeyondThePrefixAreReportedTruncated) {
  auto f = text::SafeTensors::open(path_);
  ASSERT_TRUE(f);
  for (const char* name : {"embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
                           "pooler.dense.weight"}) {
    auto t = f->load_f32(name);
    ASSERT_FALSE(t) << name;
    EXPECT_EQ(t.error().code, "safetensors_truncated");
    EXPECT_EQ(t.error().field, name);
  }
  auto missing = f->load_f32("no.such.tensor");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "tensor_not_found");
}

TEST_F(RealPrefix, EncoderLoadFromPrefixFailsWithTruncated) {
  auto dir = temp_file("prefixdir");
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "vocab.txt"}) {
    std::filesystem::copy_file(minilm_dir() / f, dir / f, std::filesystem::copy_options::overwrite_existing);
  }
  std::filesystem::copy_file(path_, dir / "model.safetensors", std::filesystem::copy_options::overwrite_existing);
  auto enc = text::MiniLmEncoder::load(dir);
  ASSERT_FALSE(enc);
  EXPECT_EQ(enc.error().code, "safetensors_truncated");
  std::filesystem::remove_all(dir);
}

// Random truncations and bit flips of the real header+data: open/load never crash, and every
// failure carries one of the documented codes.
TEST_F(RealPrefix, FuzzedTruncationsAndBitFlipsNeverCrash) {
  const std::string orig = text_test::read_all(path_);
  // The header plus the small tensors is enough to exercise every path; keep the loop quick.
  const size_t keep = 8 + 11408 + 8192;
  const std::string base = orig.substr(0, keep);
  std::mt19937_64 rng(12345);
  const auto p = temp_file("fuzz");
  int opened = 0, failed = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::string b = base;
    if (iter % 3 == 0) {
      b.resize(std::uniform_int_distribution<size_t>(0, b.size())(rng));
    } else {
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        // Mostly inside the 8-byte length and the JSON header.
        size_t at = (rng() % 4 == 0) ? rng() % 8 : rng() % (8 + 11408);
        b[at] = static_cast<char>(b[at] ^ (1 << (rng() % 8)));
      }
    }
    write_bytes(p, b);
    auto f = text::SafeTensors::open(p);
    if (!f) {
      ++failed;
      const auto& c = f.error().code;
      EXPECT_TRUE(c == "safetensors_invalid" || c == "safetensors_truncated") << c << ": " << f.error().message;
      continue;
    }
    ++opened;
    for (const auto& t : f->tensors()) {
      auto v = f->load_f32(t.name);
      if (!v) {
        const auto& c = v.error().code;
        EXPECT_TRUE(c == "safetensors_truncated" || c == "tensor_dtype_unsupported") << c;
      } else {
        EXPECT_EQ(v->size(), t.num_elements());
      }
    }
  }
  EXPECT_GT(failed, 0);
  std::filesystem::remove(p);
}

std::string header_file(const std::string& json, const std::string& data = {}) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + json + data;
}

std::string open_error(const std::string& bytes) {
  const auto p = temp_file("case");
  write_bytes(p, bytes);
  auto f = text::SafeTensors::open(p);
  std::filesystem::remove(p);
  return f ? "ok" : f.error().code;
}

TEST(SafeTensors, CorruptHeadersGivePreciseErrors) {
  EXPECT_EQ(open_error(""), "safetensors_truncated");
  EXPECT_EQ(open_error("abc"), "safetensors_truncated");
  EXPECT_EQ(open_error(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8)), "safetensors_invalid");
  EXPECT_EQ(open_error(header_file("{}").substr(0, 9)), "safetensors_truncated");
  EXPECT_EQ(open_error(header_file("{\"a\":")), "safetensors_invalid");
  EXPECT_EQ(open_error(header_file("[1,2]")), "safetensors_invalid");
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", std::string(4, 0))),
            "safetensors_invalid");
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", std::string(4, 0))),
            "safetensors_invalid");
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", std::string(4, 0))),
            "safetensors_invalid");
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, 0))),
            "safetensors_invalid");  // hole
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                   std::string(4, 0))),
            "safetensors_invalid");  // overlap
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   std::string(8, 0))),
            "safetensors_invalid");  // duplicate
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, 0))),
            "safetensors_invalid");
  EXPECT_EQ(open_error(header_file(R"({"__metadata__":{"k":1}})")), "safetensors_invalid");
  EXPECT_EQ(open_error(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(4, 0))),
            "ok");
  auto missing = text::SafeTensors::open("/nonexistent/model.safetensors");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "safetensors_unreadable");
}

TEST(SafeTensors, HalfAndBfloat16AreWidenedExactly) {
  // 1.0, -2.0, 65504 (max half), 2^-24 (smallest subnormal half), 0.333251953125
  const std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555};
  const std::vector<float> f16_want = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f, 0.333251953125f};
  const std::vector<uint16_t> bf16 = {0x3F80, 0xC040, 0x3EAB};
  const std::vector<float> bf16_want = {1.0f, -3.0f, 0.333984375f};
  auto bytes16 = [](const std::vector<uint16_t>& v) {
    std::vector<uint8_t> b;
    for (auto x : v) {
      b.push_back(static_cast<uint8_t>(x & 0xFF));
      b.push_back(static_cast<uint8_t>(x >> 8));
    }
    return b;
  };
  const auto p = temp_file("half");
  text_test::write_safetensors(p, {{"h", "F16", {5}, bytes16(f16)}, {"b", "BF16", {3}, bytes16(bf16)},
                                   {"f", "F32", {1, 2}, text_test::f32_bytes({0.5f, -7.25f})}});
  auto f = text::SafeTensors::open(p);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->complete());
  EXPECT_EQ(*f->load_f32("h"), f16_want);
  EXPECT_EQ(*f->load_f32("b"), bf16_want);
  EXPECT_EQ(*f->load_f32("f"), (std::vector<float>{0.5f, -7.25f}));
  std::filesystem::remove(p);
  EXPECT_TRUE(std::isinf(text::f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(text::f16_to_f32(0x7E00)));
}

}  // namespace
