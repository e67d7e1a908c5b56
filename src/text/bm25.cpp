// Lexical fallback: BM25 over concept terms from a small real-estate lexicon.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_set>

#include "text/text.h"

namespace text {
namespace {

// Concept <- variants. A variant may be a phrase; it is normalized like the text (lower case,
// accents and Devanagari marks stripped, punctuation dropped) before matching. A variant listed
// under several concepts emits all of them ("shop" is also "commercial").
struct Entry {
  const char* concept_term;
  std::vector<const char*> variants;
};

const std::vector<Entry>& lexicon_entries() {
  static const std::vector<Entry> kEntries = {
      {"flat", {"flat", "apartment", "apt", "appartment", "condo", "फ्लैट", "अपार्टमेंट"}},
      {"villa", {"villa", "independent house", "independent home", "bungalow", "bunglow", "kothi",
                 "row house", "rowhouse", "duplex", "बंगला", "कोठी"}},
      {"house", {"house", "home", "ghar", "makaan", "makan", "घर", "मकान"}},
      {"plot", {"plot", "land", "na plot", "bhukhand", "zameen", "jameen", "ज़मीन", "जमीन", "प्लॉट"}},
      {"shop", {"shop", "retail", "showroom", "dukaan", "dukan", "store", "दुकान"}},
      {"office", {"office", "office space", "coworking", "co-working", "ऑफिस"}},
      {"commercial", {"commercial", "shop", "retail", "showroom", "office", "office space", "dukaan", "dukan",
                      "warehouse", "godown", "कमर्शियल"}},
      {"rtm", {"rtm", "ready to move", "ready to move in", "ready possession", "immediate possession",
               "ready to occupy", "ready"}},
      {"new_launch", {"new launch", "newly launched", "pre launch", "prelaunch", "under construction", "uc",
                      "upcoming project", "new project"}},
      {"resale", {"resale", "re-sale", "secondary", "second hand", "secondhand", "pre owned", "preowned"}},
      {"crore", {"cr", "crore", "cror", "karod", "karor", "करोड़", "करोड"}},
      {"lakh", {"lakh", "lac", "lakhs", "lacs", "lk", "लाख"}},
      {"rent", {"rent", "rental", "lease", "kiraya", "kiraye", "on rent", "किराया", "किराए"}},
      {"buy", {"buy", "purchase", "kharidna", "kharid", "kharidna hai", "खरीदना"}},
      {"sell", {"sell", "sale", "bechna", "बेचना"}},
      {"urgent", {"urgent", "urgently", "asap", "immediately", "jaldi", "jald", "जल्दी"}},
      {"sqft", {"sqft", "sq ft", "sq feet", "square feet", "square foot", "sft"}},
      {"studio", {"studio", "1rk", "1 rk"}},
      {"investor", {"investor", "investment", "invest", "nivesh", "निवेश"}},
      {"nri", {"nri", "non resident indian", "overseas indian"}},
      {"budget", {"budget", "bajat", "बजट"}},
      {"loan", {"loan", "home loan", "emi", "housing loan"}},
      {"visit", {"visit", "site visit", "site-visit", "dekhna", "देखना"}},
      {"parking", {"parking", "car park", "covered parking"}},
      {"gated", {"gated", "gated community", "society"}},
      {"sea_view", {"sea view", "sea facing", "sea-facing"}},
      // Intent verbs carry no topic: mapped, then dropped as stop words.
      {"want", {"want", "wants", "need", "needs", "looking", "looking for", "require", "required",
                "interested", "chahiye", "chaiye", "chahie", "chahte", "chahta", "chahti", "चाहिए", "चाहते"}},
  };
  return kEntries;
}

const std::unordered_set<std::string>& stop_words() {
  static const std::unordered_set<std::string> kStop = {
      "a", "an", "the", "and", "or", "in", "on", "at", "of", "for", "to", "with", "near", "around",
      "is", "are", "am", "be", "i", "we", "he", "she", "they", "my", "our", "his", "her", "their",
      "this", "that", "it", "its", "from", "by", "as", "please", "pls", "client", "customer", "want",
      "mein", "me", "mai", "main", "hai", "hain", "ka", "ki", "ke", "ko", "se", "aur", "ek", "koi",
      "में", "है", "का", "की", "के", "को", "से", "और", "मुझे", "mujhe", "hume", "humein", "hamein"};
  return kStop;
}

bool is_digits(std::string_view w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_word_piece(std::string_view w) {
  // Punctuation words are single code points that are not letters or digits; the pre-tokenizer
  // isolates them, so a one-byte non-alphanumeric ASCII word or a known punctuation is dropped.
  if (w.size() == 1) {
    char c = w[0];
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  static const std::set<std::string_view> kPunct = {"—", "–", "₹", "…", "“", "”", "‘", "’", "।"};
  return kPunct.count(w) == 0;
}

// Light plural stripping for English words: flats -> flat, crores -> crore.
std::string stem(std::string w) {
  if (w.size() > 3 && w.back() == 's' && w[w.size() - 2] != 's' && w[w.size() - 2] != 'u' &&
      w[w.size() - 2] != 'i' && static_cast<unsigned char>(w[0]) < 0x80) {
    w.pop_back();
  }
  return w;
}

// Normalized words of a text with decimals joined (1 . 2 -> 1.2), punctuation dropped, stems.
std::vector<std::string> base_words(std::string_view text) {
  std::vector<std::string> raw;
  bert_pre_tokenize(bert_normalize(text), raw);
  std::vector<std::string> out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == "." && !out.empty() && is_digits(out.back()) && i + 1 < raw.size() && is_digits(raw[i + 1])) {
      out.back() += "." + raw[i + 1];
      ++i;
      continue;
    }
    if (!is_word_piece(raw[i])) continue;
    out.push_back(stem(std::move(raw[i])));
  }
  return out;
}

}  // namespace

struct Bm25Reranker::Lexicon {
  // Phrase (words joined by ' ') -> concepts; longest phrase length in words.
  std::map<std::string, std::vector<std::string>, std::less<>> phrases;
  size_t max_words = 1;
  std::unordered_set<std::string> stop;  // normalized like the text

  Lexicon() {
    for (const auto& w : stop_words()) {
      for (auto& n : base_words(w)) stop.insert(std::move(n));
    }
    for (const Entry& e : lexicon_entries()) {
      for (const char* v : e.variants) {
        auto words = base_words(v);
        if (words.empty()) continue;
        std::string key;
        for (const auto& w : words) key += (key.empty() ? "" : " ") + w;
        auto& concepts = phrases[key];
        if (std::find(concepts.begin(), concepts.end(), e.concept_term) == concepts.end()) {
          concepts.emplace_back(e.concept_term);
        }
        max_words = std::max(max_words, words.size());
      }
    }
  }

  std::vector<std::string> terms(std::string_view text) const {
    std::vector<std::string> words = base_words(text);
    std::vector<std::string> out;
    for (size_t i = 0; i < words.size();) {
      // "2 bhk" / "2bhk" -> 2bhk; "95 l" -> lakh (bare "l" only after a number).
      if (is_digits(words[i]) && i + 1 < words.size() && (words[i + 1] == "bhk" || words[i + 1] == "rk")) {
        out.push_back(words[i] + words[i + 1]);
        if (words[i + 1] == "rk" && words[i] == "1") out.emplace_back("studio");
        i += 2;
        continue;
      }
      if (words[i] == "l" && i > 0 && (is_digits(words[i - 1]) || words[i - 1].find('.') != std::string::npos)) {
        out.emplace_back("lakh");
        ++i;
        continue;
      }
      size_t matched = 0;
      const std::vector<std::string>* concepts = nullptr;
      std::string key;
      for (size_t n = 1; n <= max_words && i + n <= words.size(); ++n) {
        key += (n == 1 ? "" : " ") + words[i + n - 1];
        auto it = phrases.find(key);
        if (it != phrases.end()) {
          matched = n;
          concepts = &it->second;
        }
      }
      if (matched > 0) {
        for (const auto& c : *concepts) {
          if (stop.count(c) == 0) out.push_back(c);
        }
        i += matched;
        continue;
      }
      if (stop.count(words[i]) == 0) out.push_back(words[i]);
      ++i;
    }
    return out;
  }
};

Bm25Reranker::Bm25Reranker() : lexicon_(std::make_shared<const Lexicon>()) {}

std::string_view Bm25Reranker::model_id() const { return "bm25-realestate-lexicon-v1"; }

std::vector<std::string> Bm25Reranker::terms(std::string_view text) const { return lexicon_->terms(text); }

core::Status Bm25Reranker::similarities(std::string_view query, std::span<const std::string> docs,
                                        std::span<float> out) {
  if (out.size() != docs.size()) {
    return core::make_error("invalid_argument", "output size differs from the number of docs");
  }
  constexpr double kK1 = 1.2, kB = 0.75;
  std::vector<std::string> q = lexicon_->terms(query);
  std::sort(q.begin(), q.end());
  q.erase(std::unique(q.begin(), q.end()), q.end());
  std::vector<std::vector<std::string>> dterms(docs.size());
  double total_len = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    dterms[i] = lexicon_->terms(docs[i]);
    total_len += static_cast<double>(dterms[i].size());
  }
  const double n_docs = static_cast<double>(docs.size());
  const double avgdl = docs.empty() || total_len == 0 ? 1.0 : total_len / n_docs;
  std::vector<double> idf(q.size());
  double norm = 0;
  for (size_t t = 0; t < q.size(); ++t) {
    double df = 0;
    for (const auto& d : dterms) df += std::find(d.begin(), d.end(), q[t]) != d.end() ? 1 : 0;
    idf[t] = std::log(1.0 + (n_docs - df + 0.5) / (df + 0.5));
    norm += idf[t];  // a doc with every query term once, at average length, scores exactly this
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    if (norm <= 0) {
      out[i] = 0;
      continue;
    }
    const double dl = static_cast<double>(dterms[i].size());
    double score = 0;
    for (size_t t = 0; t < q.size(); ++t) {
      const double tf = static_cast<double>(std::count(dterms[i].begin(), dterms[i].end(), q[t]));
      if (tf == 0) continue;
      score += idf[t] * tf * (kK1 + 1) / (tf + kK1 * (1 - kB + kB * dl / avgdl));
    }
    out[i] = static_cast<float>(std::clamp(score / norm, 0.0, 1.0));
  }
  return core::ok();
}

std::unique_ptr<Reranker> make_reranker(const std::filesystem::path& dir, const EncoderOptions& options,
                                        core::Error* error) {
  if (!dir.empty()) {
    auto enc = MiniLmEncoder::load(dir, options);
    if (enc) return *std::move(enc);
    if (error != nullptr) *error = enc.error();
  }
  return std::make_unique<Bm25Reranker>();
}

}  // namespace text
