#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "test_support.h"
#include "text/math_kernels.h"
#include "text/text.h"

// Heap allocations so far (alloc_counter.cpp replaces operator new for this test binary).
long allocation_count();

namespace {

using text_test::minilm_dir;
using text_test::models_dir;

struct SynthCase {
  int index;
  std::string text;
  std::vector<int32_t> ids;
  std::vector<float> embedding;
};

// Loads minilm_golden_synthetic.json once and builds the synthetic encoder from weights_spec.
class SyntheticGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto golden = models_dir() / "minilm_golden_synthetic.json";
    if (!std::filesystem::exists(golden) || !std::filesystem::exists(minilm_dir() / "config.json")) return;
    doc_ = new simdjson::dom::parser;
    simdjson::dom::element doc = doc_->load(golden.string());
    specs_ = new std::vector<text_test::SynthSpec>(text_test::load_synth_spec(doc));
    cases_ = new std::vector<SynthCase>;
    for (auto s : doc["sentences"].get_array()) {
      SynthCase c;
      c.index = static_cast<int>(int64_t(s["index"]));
      c.text = std::string(std::string_view(s["text"]));
      for (auto v : s["input_ids"].get_array()) c.ids.push_back(static_cast<int32_t>(int64_t(v)));
      for (auto v : s["embedding"].get_array()) c.embedding.push_back(static_cast<float>(double(v)));
      cases_->push_back(std::move(c));
    }
    for (auto [name, vals] : doc["weights_spec"]["probe_first4"].get_object()) {
      std::vector<float> v;
      for (auto x : vals.get_array()) v.push_back(static_cast<float>(double(x)));
      probes_[std::string(name)] = v;
    }
    auto config = text::BertConfig::load(minilm_dir() / "config.json");
    auto tok = text::WordPieceTokenizer::load(minilm_dir() / "vocab.txt", 256);
    text::TensorSource src = [](std::string_view name, std::span<const int64_t> shape)
        -> core::Result<std::vector<float>> {
      for (const auto& s : *specs_) {
        if (s.name == name) {
          if (!std::equal(s.shape.begin(), s.shape.end(), shape.begin(), shape.end())) {
            return core::make_error("weights_invalid", "shape mismatch for " + s.name);
          }
          return text_test::synth_values(s);
        }
      }
      return core::make_error("tensor_not_found", std::string(name));
    };
    auto weights = text::load_bert_weights(*config, src);
    if (!config || !tok || !weights) return;
    encoder_ = text::MiniLmEncoder::create(*config, *weights, *std::move(tok), "synthetic").release();
    // The same weights on 3 workers: the column split of every product, the attention tasks and
    // the pool's hand-offs must not change a value.
    auto tok3 = text::WordPieceTokenizer::load(minilm_dir() / "vocab.txt", 256);
    if (tok3) {
      encoder3_ = text::MiniLmEncoder::create(*config, *weights, *std::move(tok3), "synthetic", {.threads = 3})
                      .release();
    }
  }
  static void TearDownTestSuite() {
    delete encoder3_;
    encoder3_ = nullptr;
    delete encoder_;
    delete cases_;
    delete specs_;
    delete doc_;
    encoder_ = nullptr;
  }
  void SetUp() override {
    if (encoder_ == nullptr) GTEST_SKIP() << "shared model files missing under " << models_dir().string();
  }

  static float max_abs_diff(std::span<const float> a, std::span<const float> b) {
    float m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
  }

  static inline simdjson::dom::parser* doc_ = nullptr;
  static inline std::vector<text_test::SynthSpec>* specs_ = nullptr;
  static inline std::vector<SynthCase>* cases_ = nullptr;
  static inline std::map<std::string, std::vector<float>> probes_;
  static inline text::MiniLmEncoder* encoder_ = nullptr;
  static inline text::MiniLmEncoder* encoder3_ = nullptr;
};

TEST_F(SyntheticGolden, GeneratedWeightsMatchProbeValues) {
  ASSERT_FALSE(probes_.empty());
  for (const auto& [name, want] : probes_) {
    for (const auto& s : *specs_) {
      if (s.name != name) continue;
      auto v = text_test::synth_values(s);
      for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(v[i], want[i]) << name << "[" << i << "]";
    }
  }
}

TEST_F(SyntheticGolden, EverySentenceMatchesReferenceEmbeddingWithin5e6) {
  ASSERT_EQ(cases_->size(), 34u);
  const size_t dim = encoder_->embedding_dim();
  ASSERT_EQ(dim, 384u);
  std::vector<float> e(dim);
  float worst = 0;
  for (const auto& c : *cases_) {
    SCOPED_TRACE(std::to_string(c.index) + ": " + c.text.substr(0, 60));
    ASSERT_EQ(encoder_->tokenizer().encode(c.text), c.ids);
    std::string texts[1] = {c.text};
    ASSERT_TRUE(encoder_->encode(std::span<const std::string>(texts), e));
    ASSERT_EQ(c.embedding.size(), dim);
    EXPECT_LE(max_abs_diff(e, c.embedding), 5e-6f);
    worst = std::max(worst, max_abs_diff(e, c.embedding));
  }
  // The measured margin, for docs/BENCHMARKS.md (AMX bf16 pieces vs the fp32 kernels).
  RecordProperty("max_abs_error", std::to_string(worst));
  std::printf("max abs error vs golden over 34 sentences: %.3g (dense layers: %s)\n", static_cast<double>(worst),
              text::have_amx() ? (text::amx_pieces() == 3 ? "AMX bf16x6" : "AMX bf16x3")
              : text::have_avx512() ? "AVX-512 fp32" : "OpenBLAS fp32");
}

// The AMX path by name: bf16x6 dense layers (or bf16x3 with LEADSCORE_TEXT_AMX_PIECES=2) against
// the golden embeddings, singly and as one batch. The tests above run it too wherever the CPU
// has AMX; this one says so, and skips elsewhere.
TEST_F(SyntheticGolden, AmxDenseLayersMatchReferenceWithin5e6) {
  if (!text::have_amx()) GTEST_SKIP() << "CPU without AMX-BF16 (or LEADSCORE_TEXT_NO_AMX set)";
  const size_t dim = encoder_->embedding_dim();
  std::vector<std::vector<int32_t>> ids;
  for (const auto& c : *cases_) ids.push_back(c.ids);
  std::vector<float> batch(ids.size() * dim), one(dim);
  ASSERT_TRUE(encoder_->encode_ids(ids, batch));
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_LE(max_abs_diff(std::span<const float>(batch.data() + i * dim, dim), (*cases_)[i].embedding), 5e-6f) << i;
    ASSERT_TRUE(encoder_->encode_ids(std::span(&ids[i], 1), one));
    EXPECT_LE(max_abs_diff(one, (*cases_)[i].embedding), 5e-6f) << i;
  }
}

TEST_F(SyntheticGolden, OneBatchEqualsSingleEncodes) {
  const size_t dim = encoder_->embedding_dim();
  std::vector<std::string> texts;
  for (const auto& c : *cases_) texts.push_back(c.text);
  std::vector<float> batch(texts.size() * dim);
  ASSERT_TRUE(encoder_->encode(texts, batch));
  for (size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_LE(max_abs_diff(std::span<const float>(batch.data() + i * dim, dim), (*cases_)[i].embedding), 5e-6f);
  }
}

TEST_F(SyntheticGolden, ThreeWorkersMatchReferenceInBatchesAndAlone) {
  ASSERT_NE(encoder3_, nullptr);
  const size_t dim = encoder3_->embedding_dim();
  std::vector<std::string> texts;
  for (const auto& c : *cases_) texts.push_back(c.text);
  std::vector<float> batch(texts.size() * dim), one(dim);
  for (int round = 0; round < 3; ++round) {  // repeated: the pool's job hand-offs, warm and cold
    ASSERT_TRUE(encoder3_->encode(texts, batch));
    for (size_t i = 0; i < texts.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_LE(max_abs_diff(std::span<const float>(batch.data() + i * dim, dim), (*cases_)[i].embedding), 5e-6f);
    }
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(encoder3_->encode(std::span<const std::string>(&texts[i], 1), one));
    EXPECT_LE(max_abs_diff(one, (*cases_)[i].embedding), 5e-6f);
  }
}

TEST_F(SyntheticGolden, SimilaritiesAreCosinesOfEmbeddings) {
  std::vector<std::string> docs = {(*cases_)[1].text, (*cases_)[3].text, (*cases_)[0].text};
  std::vector<float> sims(docs.size());
  ASSERT_TRUE(encoder_->similarities((*cases_)[0].text, docs, sims));
  const auto& q = (*cases_)[0].embedding;
  for (size_t i = 0; i < docs.size(); ++i) {
    const auto& d = (*cases_)[i == 0 ? 1 : i == 1 ? 3 : 0].embedding;
    EXPECT_NEAR(sims[i], text::dot(q, d), 2e-5f);
  }
  EXPECT_NEAR(sims[2], 1.0f, 1e-5f);
  std::vector<float> wrong(1);
  auto st = encoder_->similarities("x", docs, wrong);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "invalid_argument");
}

TEST_F(SyntheticGolden, RejectsBadIdsAndBufferSizes) {
  std::vector<std::vector<int32_t>> ids = {{101, 999999, 102}};
  std::vector<float> out(encoder_->embedding_dim());
  auto st = encoder_->encode_ids(ids, out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "token_id_out_of_range");
  ids = {std::vector<int32_t>(513, 1000)};
  st = encoder_->encode_ids(ids, out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "sequence_too_long");
  std::vector<float> small(3);
  ids = {{101, 102}};
  st = encoder_->encode_ids(ids, small);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "invalid_argument");
}

// The same synthetic checkpoint written as a real safetensors file (with a "bert." prefix, half in
// F32) and loaded from a model directory gives the golden embeddings.
TEST_F(SyntheticGolden, LoadsFromModelDirectoryWithBertPrefix) {
  auto dir = std::filesystem::temp_directory_path() / std::string("ls_text_model_").append(std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "vocab.txt", "sentence_bert_config.json"}) {
    std::filesystem::copy_file(minilm_dir() / f, dir / f, std::filesystem::copy_options::overwrite_existing);
  }
  text_test::write_safetensors(dir / "model.safetensors", text_test::synth_tensors(*specs_, "bert."));
  auto enc = text::MiniLmEncoder::load(dir);
  ASSERT_TRUE(enc) << enc.error().code << ": " << enc.error().message;
  EXPECT_EQ((*enc)->name(), "minilm");
  EXPECT_FALSE((*enc)->model_id().empty());
  std::vector<std::string> texts = {(*cases_)[0].text, (*cases_)[33].text};
  std::vector<float> out(2 * 384);
  ASSERT_TRUE((*enc)->encode(texts, out));
  EXPECT_LE(max_abs_diff(std::span<const float>(out.data(), 384), (*cases_)[0].embedding), 5e-6f);
  EXPECT_LE(max_abs_diff(std::span<const float>(out.data() + 384, 384), (*cases_)[33].embedding), 5e-6f);
  std::filesystem::remove_all(dir);
}

// Embeddings are cached under model_id(), so it must tell apart checkpoints that share a
// shape, a byte size and a directory name (the audit's m1/text and m2/text), and must not tell
// apart one model kept under two paths (replicas sharing Redis).
TEST_F(SyntheticGolden, ModelIdIsADigestOfTheModelFilesNotOfTheirNameOrSize) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / std::string("ls_text_ids_").append(std::to_string(::getpid()));
  fs::remove_all(root);
  auto write_model = [&](const fs::path& dir, int64_t roll) {
    fs::create_directories(dir);
    for (const char* f : {"config.json", "vocab.txt", "sentence_bert_config.json"}) {
      fs::copy_file(minilm_dir() / f, dir / f, fs::copy_options::overwrite_existing);
    }
    auto tensors = text_test::synth_tensors(*specs_, "");
    text_test::roll_word_embeddings(tensors, roll);
    text_test::write_safetensors(dir / "model.safetensors", tensors);
  };
  auto id_of = [](const fs::path& dir, const text::EncoderOptions& o = {}) {
    auto enc = text::MiniLmEncoder::load(dir, o);
    EXPECT_TRUE(enc) << enc.error().code << ": " << enc.error().message;
    return enc ? std::string((*enc)->model_id()) : std::string();
  };
  write_model(root / "m1" / "text", 0);
  write_model(root / "m2" / "text", 1);
  write_model(root / "elsewhere", 0);
  write_model(root / "m3" / "text", 0);
  {  // the same weights with two vocabulary lines swapped: same size, other token ids
    std::vector<std::string> lines;
    std::istringstream in(text_test::read_all(root / "m3" / "text" / "vocab.txt"));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    auto flat = std::find(lines.begin(), lines.end(), "flat"), villa = std::find(lines.begin(), lines.end(), "villa");
    ASSERT_TRUE(flat != lines.end() && villa != lines.end());
    std::iter_swap(flat, villa);
    fs::remove(root / "m3" / "text" / "vocab.txt");  // copied read-only from the shared files
    std::ofstream out(root / "m3" / "text" / "vocab.txt", std::ios::binary);
    for (const auto& line : lines) out << line << '\n';
  }
  ASSERT_EQ(fs::file_size(root / "m1" / "text" / "model.safetensors"),
            fs::file_size(root / "m2" / "text" / "model.safetensors"));
  ASSERT_EQ(fs::file_size(root / "m1" / "text" / "vocab.txt"), fs::file_size(root / "m3" / "text" / "vocab.txt"));

  const std::string m1 = id_of(root / "m1" / "text");
  EXPECT_TRUE(m1.starts_with("minilm@")) << m1;
  EXPECT_EQ(m1.size(), 7u + 12u) << m1;
  EXPECT_NE(m1, id_of(root / "m2" / "text"));
  EXPECT_NE(m1, id_of(root / "m3" / "text"));
  EXPECT_NE(m1, id_of(root / "m1" / "text", {.max_seq_length = 128}));
  EXPECT_EQ(m1, id_of(root / "elsewhere"));
  fs::remove_all(root);
}

// A differently shaped BERT (from its config, nothing hard-coded): unit-norm outputs, batch ==
// single, and padding-free packing does not leak between sequences.
TEST(Encoder, SmallConfigShapeRunsAndBatchEqualsSingle) {
  auto config = text::BertConfig::parse(R"({"hidden_size": 48, "num_hidden_layers": 2,
      "num_attention_heads": 3, "intermediate_size": 96, "vocab_size": 40,
      "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"})");
  ASSERT_TRUE(config);
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "flat", "pune", "##s"};
  for (int i = static_cast<int>(vocab.size()); i < 40; ++i) vocab.push_back(std::string("w").append(std::to_string(i)));
  auto tok = text::WordPieceTokenizer::from_tokens(vocab, 16);
  ASSERT_TRUE(tok);
  uint64_t t = 0;
  text::TensorSource src = [&t](std::string_view name, std::span<const int64_t> shape)
      -> core::Result<std::vector<float>> {
    text_test::SynthSpec s{std::string(name), {shape.begin(), shape.end()}, t++,
                           name.ends_with("LayerNorm.weight") ? 1.0 : 0.0, 0.125, false};
    return text_test::synth_values(s);
  };
  auto w = text::load_bert_weights(*config, src);
  ASSERT_TRUE(w);
  auto enc = text::MiniLmEncoder::create(*config, *w, *std::move(tok), "small");
  EXPECT_EQ(enc->embedding_dim(), 48u);
  std::vector<std::string> texts = {"flat pune", "flats", "pune pune pune flat w9 w10 w11 w12"};
  std::vector<float> batch(3 * 48), single(48);
  ASSERT_TRUE(enc->encode(texts, batch));
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_TRUE(enc->encode(std::span<const std::string>(&texts[i], 1), single));
    double norm = 0;
    for (size_t k = 0; k < 48; ++k) {
      EXPECT_NEAR(batch[i * 48 + k], single[k], 1e-6f);
      norm += single[k] * single[k];
    }
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
}

TEST_F(SyntheticGolden, WarmEncodeIdsDoesNotAllocate) {
  std::vector<std::vector<int32_t>> big, small;
  for (int i = 0; i < 4; ++i) big.push_back((*cases_)[static_cast<size_t>(i)].ids);
  big.push_back((*cases_)[33].ids);  // the 256-token one
  small = {(*cases_)[5].ids, (*cases_)[20].ids};
  std::vector<float> out_big(big.size() * 384), out_small(small.size() * 384);
  ASSERT_TRUE(encoder_->encode_ids(big, out_big));  // warm-up: workspace grows to this batch
  const long probe = allocation_count();
  delete new int(1);
  ASSERT_GT(allocation_count(), probe) << "the allocation counter is not active";
  const long before = allocation_count();
  ASSERT_TRUE(encoder_->encode_ids(big, out_big));
  ASSERT_TRUE(encoder_->encode_ids(small, out_small));
  EXPECT_EQ(allocation_count() - before, 0);
}

TEST(Encoder, ConfigErrorsAreReported) {
  auto c = text::BertConfig::parse(R"({"hidden_size": 10, "num_hidden_layers": 1,
      "num_attention_heads": 3, "intermediate_size": 4, "vocab_size": 5, "max_position_embeddings": 8})");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "config_invalid");
  EXPECT_FALSE(text::BertConfig::parse("{"));
  EXPECT_FALSE(text::BertConfig::parse(R"({"hidden_size": 8})"));
  auto missing = text::MiniLmEncoder::load("/nonexistent-model-dir");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "model_dir_incomplete");
}

}  // namespace
