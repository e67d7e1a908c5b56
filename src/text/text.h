#pragma once
// text: sentence similarity for /v1/rerank.
//
//   WordPieceTokenizer  BERT uncased tokenizer, id-for-id equal to the Rust `tokenizers` crate
//                       that sentence-transformers uses (checked against minilm_golden.json).
//   SafeTensors         mmap'ed safetensors reader with a validated header.
//   MiniLmEncoder       BERT encoder + mean pooling + L2 norm (all-MiniLM-L6-v2 and any
//                       BERT-shaped checkpoint: the shape comes from config.json).
//   Bm25Reranker        lexical fallback when no weights are installed, with a real-estate
//                       synonym lexicon (text/lexicon.cpp).
//   Reranker            what the HTTP layer uses: name(), model_id(), similarities().
//   pull_model          `leadscore model pull`: download a model from the Hugging Face hub.
//
// Typical server wiring:
//   auto r = text::make_reranker(dir_or_empty, {.threads = 1});   // minilm if DIR has weights, else bm25
//   r->similarities(intent, lead_texts, scores);                    // scores in [0,1] (bm25) or [-1,1] (cosine)
// With an embedding cache (MiniLM only):
//   auto* enc = dynamic_cast<text::MiniLmEncoder*>(r.get());
//   enc->encode(texts, buf);        // buf.size() == texts.size() * enc->embedding_dim(), rows unit-norm
//   key = hash(scrubbed text) + enc->model_id();  similarity = text::dot(query_emb, lead_emb).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace text {

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

// Transparent hashing so string_view lookups do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// BERT uncased WordPiece: [PAD]/[UNK]/[CLS]/[SEP]/[MASK] written in the text are matched first;
// the rest goes through BertNormalizer (clean text, CJK split, NFD accent strip, lower case),
// BertPreTokenizer (whitespace, punctuation) and greedy longest-match WordPiece ('##', words over
// 100 code points -> [UNK]). Immutable after load; all methods are thread-safe.
class WordPieceTokenizer {
 public:
  // vocab.txt: one token per line, id = line number. max_seq_length counts [CLS] and [SEP].
  // Errors: vocab_unreadable, vocab_invalid (missing special tokens).
  static core::Result<WordPieceTokenizer> load(const std::filesystem::path& vocab_txt,
                                               size_t max_seq_length = 256);
  static core::Result<WordPieceTokenizer> from_tokens(std::vector<std::string> tokens,
                                                      size_t max_seq_length = 256);

  // [CLS] pieces [SEP], pieces cut at max_seq_length - 2 (the tail is dropped). Appends to out
  // after clearing it.
  void encode(std::string_view text, std::vector<int32_t>& out) const;
  std::vector<int32_t> encode(std::string_view text) const;
  // WordPiece ids without [CLS]/[SEP] and without truncation (appends).
  void tokenize(std::string_view text, std::vector<int32_t>& out) const;
  // Normalized, pre-tokenized words (no WordPiece): what the lexical encoder indexes (appends).
  void words(std::string_view text, std::vector<std::string>& out) const;

  const std::string& token(int32_t id) const { return tokens_[static_cast<size_t>(id)]; }
  size_t vocab_size() const { return tokens_.size(); }
  size_t max_seq_length() const { return max_seq_length_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t pad_id() const { return pad_id_; }

 private:
  void wordpiece(std::string_view word, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;
  Vocab head_;  // pieces that start a word
  Vocab tail_;  // "##x" pieces, stored as "x"
  Vocab special_;
  int32_t cls_id_ = 0, sep_id_ = 0, unk_id_ = 0, pad_id_ = 0;
  size_t max_seq_length_ = 256;
};

// BERT text normalization (exposed for tests and the lexicon): returns the normalized UTF-8 text.
std::string bert_normalize(std::string_view text);
// BertPreTokenizer over already normalized text (appends words).
void bert_pre_tokenize(std::string_view normalized, std::vector<std::string>& out);

// ---------------------------------------------------------------------------------------------
// safetensors
// ---------------------------------------------------------------------------------------------

struct TensorInfo {
  std::string name;
  std::string dtype;             // "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;   // byte offsets inside the data section
  uint64_t num_elements() const;
};

// A safetensors file mapped read-only. open() validates the whole header (JSON syntax, known
// dtypes, shape x dtype size == byte range, ranges contiguous from 0 without holes or overlap,
// unique names) but not that the data is all present: a tensor whose bytes lie past the end of
// the file is reported by load_f32 as safetensors_truncated. Error codes:
//   safetensors_unreadable  cannot open/mmap the file
//   safetensors_truncated   file shorter than its 8-byte length or header, or a tensor's data
//   safetensors_invalid     header length absurd, JSON malformed, fields wrong/inconsistent
//   tensor_not_found, tensor_dtype_unsupported
// Thread-safe after open (read-only).
class SafeTensors {
 public:
  static core::Result<SafeTensors> open(const std::filesystem::path& path);
  SafeTensors(SafeTensors&&) noexcept;
  SafeTensors& operator=(SafeTensors&&) noexcept;
  SafeTensors(const SafeTensors&) = delete;
  SafeTensors& operator=(const SafeTensors&) = delete;
  ~SafeTensors();

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(std::string_view name) const;
  // True when the file holds every byte the header declares.
  bool complete() const { return data_offset_ + data_size_ <= file_size_; }
  uint64_t file_size() const { return file_size_; }
  // 8 + header length + last tensor end: the size a complete file has.
  uint64_t declared_size() const { return data_offset_ + data_size_; }

  // Tensor values as float32 (F32 copied, F16/BF16 widened). Integer dtypes: unsupported.
  core::Result<std::vector<float>> load_f32(std::string_view name) const;

 private:
  SafeTensors() = default;
  const uint8_t* base_ = nullptr;
  uint64_t file_size_ = 0;
  uint64_t data_offset_ = 0;
  uint64_t data_size_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// IEEE half / bfloat16 -> float (exact).
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);

// ---------------------------------------------------------------------------------------------
// BERT encoder
// ---------------------------------------------------------------------------------------------

// The shape of a BERT checkpoint, from its config.json. Errors: config_unreadable, config_invalid.
struct BertConfig {
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;

  static core::Result<BertConfig> parse(std::string_view json);
  static core::Result<BertConfig> load(const std::filesystem::path& config_json);
};

// Supplies a tensor by its HF name (without "bert." prefix) and expected shape, as float32
// row-major. Used for safetensors files and for the synthetic test checkpoint.
using TensorSource =
    std::function<core::Result<std::vector<float>>(std::string_view name, std::span<const int64_t> shape)>;

struct BertWeights;  // immutable, shared between encoders (private layout)

core::Result<std::shared_ptr<const BertWeights>> load_bert_weights(const BertConfig& config,
                                                                   const TensorSource& source);
// Names are looked up as-is, then with a "bert." prefix. Shape mismatches: weights_invalid.
core::Result<std::shared_ptr<const BertWeights>> load_bert_weights(const BertConfig& config,
                                                                   const SafeTensors& file);

struct EncoderOptions {
  int threads = 1;            // workers of the encoder's own pool (OpenBLAS is set to 1 thread)
  size_t max_seq_length = 0;  // 0: from sentence_bert_config.json, else 256
};

// What /v1/rerank uses: similarity of a query to each of a list of texts.
class Reranker {
 public:
  virtual ~Reranker() = default;
  // "minilm" or "bm25": the `encoder` field of /v1/rerank responses.
  virtual std::string_view name() const = 0;
  // Identifies the weights/lexicon version; part of embedding cache keys.
  virtual std::string_view model_id() const = 0;
  // out[i] = similarity(query, docs[i]); out.size() must equal docs.size() (else invalid_argument).
  // minilm: cosine in [-1,1]; bm25: [0,1]. Thread-safe.
  virtual core::Status similarities(std::string_view query, std::span<const std::string> docs,
                                    std::span<float> out) = 0;
};

// Sentence encoder (sentence-transformers pipeline): tokenize, BERT, mean pooling over real
// tokens, L2 normalization. Sequences of a batch are packed back to back (no padding at all;
// attention runs per sequence), so a batch costs what its real tokens cost. The workspace is
// reused: after the largest batch has been seen once, encode_ids() does not allocate (encode()
// only for tokenization). Dense layers: AMX-BF16 with fp32 accuracy (weights and activations
// split into three bf16 pieces) when the CPU and OS allow it, else the AVX-512 kernel on
// pre-packed weights, else OpenBLAS sgemm (LEADSCORE_TEXT_NO_AMX / _NO_AVX512 force the fallbacks).
// Thread-safe: calls are serialized by an internal mutex (run one encoder per worker to scale).
class MiniLmEncoder final : public Reranker {
 public:
  // DIR holds config.json, vocab.txt, model.safetensors (sentence_bert_config.json optional).
  // model_id() is "minilm@" + 12 hex digits of a SHA-256 over those three files' contents and
  // the truncation length: equal for equal models wherever they are, different otherwise.
  // Errors: the loaders' codes, plus model_dir_incomplete and model_unreadable.
  static core::Result<std::unique_ptr<MiniLmEncoder>> load(const std::filesystem::path& dir,
                                                           const EncoderOptions& options = {});
  static std::unique_ptr<MiniLmEncoder> create(BertConfig config,
                                               std::shared_ptr<const BertWeights> weights,
                                               WordPieceTokenizer tokenizer, std::string model_id,
                                               const EncoderOptions& options = {});
  ~MiniLmEncoder() override;

  std::string_view name() const override { return "minilm"; }
  std::string_view model_id() const override { return model_id_; }
  size_t embedding_dim() const { return static_cast<size_t>(config_.hidden_size); }
  const BertConfig& config() const { return config_; }
  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }

  // Embeddings of texts into out (row i at out[i*dim], unit L2 norm).
  // out.size() must be texts.size() * embedding_dim().
  core::Status encode(std::span<const std::string> texts, std::span<float> out);
  core::Status encode(std::span<const std::string_view> texts, std::span<float> out);
  // Same from token ids (each sequence must include [CLS]/[SEP]; length <= max positions).
  // Errors: invalid_argument, sequence_too_long, token_id_out_of_range.
  core::Status encode_ids(std::span<const std::vector<int32_t>> ids, std::span<float> out);

  core::Status similarities(std::string_view query, std::span<const std::string> docs,
                            std::span<float> out) override;

 private:
  struct Workspace;
  MiniLmEncoder(BertConfig config, std::shared_ptr<const BertWeights> weights,
                WordPieceTokenizer tokenizer, std::string model_id, const EncoderOptions& options);
  core::Status encode_locked(std::span<const std::vector<int32_t>> ids, std::span<float> out);
  void encode_group(std::span<const std::vector<int32_t>> ids, std::span<float> out);
  template <typename Texts>
  core::Status encode_texts(Texts texts, std::span<float> out);

  BertConfig config_;
  std::shared_ptr<const BertWeights> weights_;
  WordPieceTokenizer tokenizer_;
  std::string model_id_;
  int threads_ = 1;
  std::mutex mu_;
  std::unique_ptr<Workspace> ws_;
};

// Dot product (== cosine for the unit-norm embeddings above).
float dot(std::span<const float> a, std::span<const float> b);

// ---------------------------------------------------------------------------------------------
// Lexical fallback
// ---------------------------------------------------------------------------------------------

// BM25 (k1 = 1.2, b = 0.75) over words of the BERT normalizer/pre-tokenizer, after the
// real-estate lexicon maps synonyms and phrases to one concept term ("ready to move" -> rtm,
// "apartment" -> flat, "chahiye" -> want, ...) and drops stop words. Document statistics (idf,
// average length) come from the docs of the call itself. Similarity = BM25(query, doc) divided
// by the score of a doc holding every query term once at average length, clamped to [0,1]:
// 1 means "mentions everything the query asks for". Thread-safe.
class Bm25Reranker final : public Reranker {
 public:
  Bm25Reranker();
  std::string_view name() const override { return "bm25"; }
  std::string_view model_id() const override;
  core::Status similarities(std::string_view query, std::span<const std::string> docs,
                            std::span<float> out) override;
  // Concept terms of a text (lexicon applied, stop words removed), for tests and debugging.
  std::vector<std::string> terms(std::string_view text) const;

 private:
  struct Lexicon;
  std::shared_ptr<const Lexicon> lexicon_;
};

// MiniLM from DIR when DIR is non-empty and loads; otherwise BM25. `error` (optional) receives
// why MiniLM could not be loaded.
std::unique_ptr<Reranker> make_reranker(const std::filesystem::path& dir,
                                        const EncoderOptions& options = {},
                                        core::Error* error = nullptr);

// ---------------------------------------------------------------------------------------------
// Model download
// ---------------------------------------------------------------------------------------------

struct PullOptions {
  std::string repo = "sentence-transformers/all-MiniLM-L6-v2";
  std::filesystem::path dir;                        // destination directory
  std::string hub_url = "https://huggingface.co";   // mirror: files at {hub}/{repo}/resolve/main/{file}
  std::string sha256_override;                      // tests/mirrors of other weights: expected sha of model.safetensors
                                                    // (a known repo's other files are still checked)
  bool progress = true;                             // progress lines on stderr
  long timeout_seconds = 0;                         // 0: none (transfers may be long); connect timeout 30 s
};

// Known sha256 of upstream files (all-MiniLM-L6-v2), from PROVENANCE.md.
inline constexpr std::string_view kMiniLmSafetensorsSha256 =
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

// Downloads config.json, tokenizer files, vocab.txt, modules.json, sentence_bert_config.json,
// 1_Pooling/config.json and model.safetensors into options.dir. Each file goes to "<file>.part"
// first; an existing .part is resumed with an HTTP Range request; the finished file is checked
// against its sha256 (every file of a known repository against the upstream value; the weights
// against sha256_override when given) and renamed into place atomically.
// Errors: pull_http_error (status, URL), pull_network (curl message), pull_io,
// pull_sha256_mismatch (file, expected/actual; the .part is removed, field = the file),
// pull_unknown_repo (no known sha256 and no override).
core::Status pull_model(const PullOptions& options);

}  // namespace text
