// BERT uncased WordPiece, following reference_minilm.py (= Rust `tokenizers` BertNormalizer,
// BertPreTokenizer, WordPiece) character for character.
#include <array>
#include <fstream>
#include <sstream>

#include <utf8proc.h>

#include "text/text.h"

namespace text {
namespace {

constexpr size_t kMaxWordChars = 100;
constexpr std::array<std::string_view, 5> kSpecialTokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                            "[MASK]"};

// Decodes one code point; invalid UTF-8 becomes U+FFFD (which clean-text then drops).
char32_t next_cp(std::string_view s, size_t& i) {
  utf8proc_int32_t cp = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                            static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
  if (n <= 0) {
    i += 1;
    return 0xFFFD;
  }
  i += static_cast<size_t>(n);
  return static_cast<char32_t>(cp);
}

void append_utf8(std::string& out, char32_t cp) {
  utf8proc_uint8_t buf[4];
  auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// Rust normalizers::bert::is_control: \t \n \r are not control; otherwise any C* category.
bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

// Unicode White_Space (Rust char::is_whitespace).
bool is_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// BERT's punctuation: all ASCII non-alphanumeric printable characters, plus Unicode P*.
bool is_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126))
    return true;
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) ||
         (cp >= 0x2B920 && cp <= 0x2CEAF) ||  // sic: Rust tokenizers' range, not Google BERT's
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

size_t count_cps(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string bert_normalize(std::string_view text) {
  // 1-2: clean text (drop NUL, U+FFFD, controls; whitespace -> ' ') and space out CJK ideographs.
  std::string cleaned;
  cleaned.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    char32_t cp = next_cp(text, i);
    if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      cleaned.push_back(' ');
    } else if (is_chinese_char(cp)) {
      cleaned.push_back(' ');
      append_utf8(cleaned, cp);
      cleaned.push_back(' ');
    } else {
      append_utf8(cleaned, cp);
    }
  }
  if (cleaned.empty()) return cleaned;
  // 3: NFD of the whole string (canonical reordering included), then drop Mn marks.
  // 4: lower-case char by char (no final-sigma context, as Rust tokenizers).
  thread_local std::vector<utf8proc_int32_t> buf;
  auto opts = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  const auto* src = reinterpret_cast<const utf8proc_uint8_t*>(cleaned.data());
  auto len = static_cast<utf8proc_ssize_t>(cleaned.size());
  if (buf.size() < cleaned.size() * 2 + 16) buf.resize(cleaned.size() * 2 + 16);
  utf8proc_ssize_t n = utf8proc_decompose(src, len, buf.data(),
                                          static_cast<utf8proc_ssize_t>(buf.size()), opts);
  if (n > static_cast<utf8proc_ssize_t>(buf.size())) {
    buf.resize(static_cast<size_t>(n));
    n = utf8proc_decompose(src, len, buf.data(), n, opts);
  }
  std::string out;
  out.reserve(cleaned.size());
  if (n < 0) return cleaned;  // cannot happen: input is valid UTF-8 we just encoded
  for (utf8proc_ssize_t k = 0; k < n; ++k) {
    char32_t cp = static_cast<char32_t>(buf[static_cast<size_t>(k)]);
    if (category(cp) == UTF8PROC_CATEGORY_MN) continue;
    append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
  }
  return out;
}

void bert_pre_tokenize(std::string_view s, std::vector<std::string>& out) {
  size_t word_begin = std::string_view::npos;
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    char32_t cp = next_cp(s, i);
    bool ws = is_whitespace(cp);
    bool punct = !ws && is_punctuation(cp);
    if (ws || punct) {
      if (word_begin != std::string_view::npos) {
        out.emplace_back(s.substr(word_begin, at - word_begin));
        word_begin = std::string_view::npos;
      }
      if (punct) out.emplace_back(s.substr(at, i - at));
    } else if (word_begin == std::string_view::npos) {
      word_begin = at;
    }
  }
  if (word_begin != std::string_view::npos) out.emplace_back(s.substr(word_begin));
}

core::Result<WordPieceTokenizer> WordPieceTokenizer::load(const std::filesystem::path& vocab_txt,
                                                          size_t max_seq_length) {
  std::ifstream in(vocab_txt, std::ios::binary);
  if (!in) {
    return core::make_error("vocab_unreadable", "cannot read " + vocab_txt.string());
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    tokens.push_back(std::move(line));
    line.clear();
  }
  return from_tokens(std::move(tokens), max_seq_length);
}

core::Result<WordPieceTokenizer> WordPieceTokenizer::from_tokens(std::vector<std::string> tokens,
                                                                 size_t max_seq_length) {
  if (max_seq_length < 2) {
    return core::make_error("vocab_invalid", "max_seq_length must be at least 2");
  }
  WordPieceTokenizer t;
  t.max_seq_length_ = max_seq_length;
  t.tokens_ = std::move(tokens);
  for (size_t i = 0; i < t.tokens_.size(); ++i) {
    const std::string& tok = t.tokens_[i];
    auto id = static_cast<int32_t>(i);
    // Later duplicates win, as a Python dict built line by line.
    if (tok.size() > 2 && tok.compare(0, 2, "##") == 0) {
      t.tail_[tok.substr(2)] = id;
    }
    t.head_[tok] = id;
  }
  for (std::string_view sp : kSpecialTokens) {
    auto it = t.head_.find(sp);
    if (it == t.head_.end()) {
      return core::make_error("vocab_invalid", "vocabulary lacks " + std::string(sp));
    }
    t.special_[std::string(sp)] = it->second;
  }
  t.cls_id_ = t.special_.find("[CLS]")->second;
  t.sep_id_ = t.special_.find("[SEP]")->second;
  t.unk_id_ = t.special_.find("[UNK]")->second;
  t.pad_id_ = t.special_.find("[PAD]")->second;
  return t;
}

void WordPieceTokenizer::wordpiece(std::string_view word, std::vector<int32_t>& out) const {
  if (count_cps(word) > kMaxWordChars) {
    out.push_back(unk_id_);
    return;
  }
  size_t mark = out.size();
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    int32_t found = -1;
    const Vocab& vocab = start == 0 ? head_ : tail_;
    while (start < end) {
      auto it = vocab.find(word.substr(start, end - start));
      if (it != vocab.end()) {
        found = it->second;
        break;
      }
      // Step back one code point.
      do {
        --end;
      } while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (found < 0) {
      out.resize(mark);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

void WordPieceTokenizer::tokenize(std::string_view text, std::vector<int32_t>& out) const {
  thread_local std::vector<std::string> words_buf;
  auto run_plain = [&](std::string_view seg) {
    words_buf.clear();
    bert_pre_tokenize(bert_normalize(seg), words_buf);
    for (const std::string& w : words_buf) wordpiece(w, out);
  };
  // Special tokens written in the raw text are matched first, case-sensitively (leftmost).
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '[') {
      ++i;
      continue;
    }
    std::string_view hit;
    for (std::string_view sp : kSpecialTokens) {
      if (text.substr(i, sp.size()) == sp && sp.size() > hit.size()) hit = sp;
    }
    if (hit.empty()) {
      ++i;
      continue;
    }
    if (i > start) run_plain(text.substr(start, i - start));
    out.push_back(special_.find(hit)->second);
    i += hit.size();
    start = i;
  }
  if (start < text.size()) run_plain(text.substr(start));
}

void WordPieceTokenizer::encode(std::string_view text, std::vector<int32_t>& out) const {
  out.clear();
  out.push_back(cls_id_);
  tokenize(text, out);
  if (out.size() > max_seq_length_ - 1) out.resize(max_seq_length_ - 1);
  out.push_back(sep_id_);
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  encode(text, out);
  return out;
}

void WordPieceTokenizer::words(std::string_view text, std::vector<std::string>& out) const {
  bert_pre_tokenize(bert_normalize(text), out);
}

}  // namespace text
