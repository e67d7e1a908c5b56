// Contact-detail scrubber for free text and the lead-id PII check (issue 9, DPDP).
//
// Three passes over the text, each a hand-written scanner (no std::regex: this runs while
// parsing every lead that carries notes):
//   1. e-mail addresses, plain and obfuscated ("name at gmail dot com", "name(at)x(dot)in",
//      Indian English "at the rate"),
//   2. PAN (AAAAA9999A, also AAAAA-9999-A and AAAAA 9999 A),
//   3. digit sequences: groups of digits (ASCII, Devanagari and other Indic scripts, fullwidth)
//      or number words (English, romanised Hindi; "double five"), joined by spaces, dashes, dots,
//      parentheses, '/' or '_' (and their Unicode look-alikes; invisible marks such as ZWSP are
//      skipped even inside a run of digits), then classified: Indian mobile/landline with +91/0091/91/0 prefixes,
//      international numbers with + or 00, Aadhaar-like 12-digit numbers.
// Ordinary numbers stay: amounts with units ("90 lakh", "1.2 cr"), digit-grouped rupees
// ("1,20,00,000": commas do not join groups), years, BHK, sectors, 6-digit pincodes, dates and
// times (a date or hh:mm is a barrier no phone span may cross).

#include <array>
#include <string>
#include <vector>

#include "core/core.h"
#include "core/text_util.h"

namespace core {
namespace {

using detail::ascii_lower;
using detail::iequals;

constexpr std::string_view kPhoneToken = "[phone]";
constexpr std::string_view kEmailToken = "[email]";
constexpr std::string_view kPanToken = "[pan]";
constexpr std::string_view kAadhaarToken = "[aadhaar]";

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_ascii_digit(c); }
bool is_local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool is_label_char(char c) { return is_alnum(c) || c == '-'; }

// Decimal digit at s[i] in ASCII, the Indic scripts (Devanagari U+0966.. through Malayalam
// U+0D66.., all laid out alike in UTF-8) or fullwidth forms; -1 if none. `len` = bytes.
int digit_at(std::string_view s, size_t i, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 >= '0' && b0 <= '9') {
    len = 1;
    return b0 - '0';
  }
  if (i + 3 > s.size()) return -1;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  const auto b2 = static_cast<unsigned char>(s[i + 2]);
  if (b0 == 0xE0 && b1 >= 0xA5 && b1 <= 0xB5 && (b1 & 1) == 1 && b2 >= 0xA6 && b2 <= 0xAF) {
    len = 3;
    return b2 - 0xA6;
  }
  if (b0 == 0xEF && b1 == 0xBC && b2 >= 0x90 && b2 <= 0x99) {
    len = 3;
    return b2 - 0x90;
  }
  return -1;
}

// True if s[i..) starts with `word` (case-insensitive) as a whole ASCII word.
bool word_at(std::string_view s, size_t i, std::string_view word) {
  if (i + word.size() > s.size()) return false;
  if (i > 0 && is_alpha(s[i - 1])) return false;
  if (!iequals(s.substr(i, word.size()), word)) return false;
  return i + word.size() == s.size() || !is_alpha(s[i + word.size()]);
}

// ---------------------------------------------------------------------------------------------
// 1. e-mail

constexpr std::string_view kTlds[] = {"com",  "in",  "org",  "net", "co",  "edu", "gov", "io",
                                      "info", "biz", "me",   "us",  "uk",  "ae",  "ai",  "app",
                                      "dev",  "xyz", "live", "ac",  "res", "mail"};
constexpr std::string_view kMailProviders[] = {
    "gmail",  "googlemail", "yahoo",      "ymail",  "hotmail", "outlook",  "live", "rediffmail",
    "rediff", "icloud",     "protonmail", "proton", "zoho",    "zohomail", "aol",  "msn"};

template <size_t N>
bool in_list(std::string_view w, const std::string_view (&list)[N]) {
  for (auto x : list) {
    if (iequals(w, x)) return true;
  }
  return false;
}

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

// A bracketed word "(at)", "[dot]", "{at}", "<at>" at s[i]; returns its end or npos.
size_t bracketed_word(std::string_view s, size_t i, std::string_view word) {
  if (i >= s.size()) return std::string_view::npos;
  const char open = s[i];
  char close = 0;
  if (open == '(') close = ')';
  if (open == '[') close = ']';
  if (open == '{') close = '}';
  if (open == '<') close = '>';
  if (close == 0) return std::string_view::npos;
  size_t j = skip_spaces(s, i + 1);
  if (j + word.size() > s.size() || !iequals(s.substr(j, word.size()), word)) {
    return std::string_view::npos;
  }
  j = skip_spaces(s, j + word.size());
  if (j >= s.size() || s[j] != close) return std::string_view::npos;
  return j + 1;
}

// The "@" of an address at s[i] (after the local part): "@", " @ ", "(at)", " at ",
// " at the rate (of) ". Sets `plain` when it is a bare '@' with no spaces. Returns the end.
size_t at_separator(std::string_view s, size_t i, bool& plain) {
  plain = false;
  if (i < s.size() && s[i] == '@') {
    plain = true;
    return i + 1;
  }
  const size_t j = skip_spaces(s, i);
  if (j < s.size() && s[j] == '@') return j + 1;
  if (j + 3 <= s.size() && s.substr(j, 3) == "\xEF\xBC\xA0") return j + 3;  // fullwidth @
  if (size_t e = bracketed_word(s, j, "at"); e != std::string_view::npos) return e;
  if (j > i && word_at(s, j, "at")) {
    size_t e = j + 2;
    // "at the rate (of)": how "@" is read out in Indian English.
    size_t k = skip_spaces(s, e);
    if (word_at(s, k, "the")) {
      size_t r = skip_spaces(s, k + 3);
      if (word_at(s, r, "rate")) {
        e = r + 4;
        size_t o = skip_spaces(s, e);
        if (word_at(s, o, "of")) e = o + 2;
      }
    }
    if (e < s.size() && (s[e] == ' ' || s[e] == '\t')) return e;
  }
  return std::string_view::npos;
}

// A dot between domain labels: ".", " . ", "(dot)", " dot ". Returns its end or npos.
size_t dot_separator(std::string_view s, size_t i, bool& plain) {
  plain = false;
  if (i < s.size() && s[i] == '.') {
    plain = true;
    return i + 1;
  }
  const size_t j = skip_spaces(s, i);
  if (j < s.size() && s[j] == '.' && j > i) return j + 1;
  if (size_t e = bracketed_word(s, j, "dot"); e != std::string_view::npos) return e;
  if (j > i && word_at(s, j, "dot")) return j + 3;
  return std::string_view::npos;
}

// Tries an address whose local part is s[local_begin, local_end). Returns its end or npos.
size_t match_email(std::string_view s, size_t local_end) {
  bool plain_at = false;
  size_t p = at_separator(s, local_end, plain_at);
  if (p == std::string_view::npos) return p;
  p = skip_spaces(s, p);
  // Only the count, the first and the last label matter (no vector: no allocation).
  size_t label_count = 0;
  std::string_view first_label, last;
  size_t end = std::string_view::npos;
  bool all_plain = plain_at;
  while (true) {
    size_t q = p;
    while (q < s.size() && is_label_char(s[q])) ++q;
    if (q == p) break;
    last = s.substr(p, q - p);
    if (label_count++ == 0) first_label = last;
    end = q;
    bool plain_dot = false;
    size_t d = dot_separator(s, q, plain_dot);
    if (d == std::string_view::npos) break;
    const size_t next = skip_spaces(s, d);
    if (next >= s.size() || !is_label_char(s[next])) break;
    all_plain = all_plain && plain_dot;
    p = next;
  }
  if (label_count == 0) return std::string_view::npos;
  bool last_alpha = last.size() >= 2;
  for (char c : last) last_alpha = last_alpha && is_alpha(c);
  // A plain a@b.tld is an address; spelled-out forms need a known TLD or mail provider so
  // that "meet at site dot" prose is left alone.
  if (label_count >= 2 && all_plain && last_alpha) return end;
  if (label_count >= 2 && (in_list(last, kTlds) || in_list(first_label, kMailProviders))) {
    return end;
  }
  if (label_count == 1 && plain_at && in_list(last, kMailProviders)) return end;
  return std::string_view::npos;
}

// Each pass writes `s` scrubbed to `out` (cleared first; must not alias `s`).
void scrub_emails(std::string_view s, std::string& out) {
  out.clear();
  size_t copied = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (!is_local_char(s[i]) || (i > 0 && is_local_char(s[i - 1]))) {
      ++i;
      continue;
    }
    size_t local_end = i;
    while (local_end < s.size() && is_local_char(s[local_end])) ++local_end;
    const size_t end = match_email(s, local_end);
    if (end != std::string_view::npos) {
      out.append(s.substr(copied, i - copied));
      out.append(kEmailToken);
      copied = i = end;
    } else {
      i = local_end;
    }
  }
  out.append(s.substr(copied));
}

// ---------------------------------------------------------------------------------------------
// Separators, shared by the PAN and number passes

// What may stand between the digit groups of one number.
enum class Gap {
  kNone,
  kVisible,    // space, dash, dot, parenthesis, '/', '_' and their Unicode look-alikes
  kInvisible,  // zero-width and direction marks, soft hyphen: not seen on screen
};

// The separator at s[i] (`len` = bytes). Copy-pasted notes and phone keyboards put Unicode
// dashes and spaces where ASCII ones would be, and invisible marks anywhere; each must join
// digit groups like its ASCII look-alike or the number gets through unscrubbed.
Gap separator_at(std::string_view s, size_t i, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    len = 1;
    const bool sep = b0 == ' ' || b0 == '-' || b0 == '.' || b0 == '(' || b0 == ')' ||
                     b0 == '\t' || b0 == '/' || b0 == '_';
    return sep ? Gap::kVisible : Gap::kNone;
  }
  if (b0 == 0xC2 && i + 1 < s.size()) {
    len = 2;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 == 0xA0) return Gap::kVisible;    // U+00A0 no-break space
    if (b1 == 0xAD) return Gap::kInvisible;  // U+00AD soft hyphen
    return Gap::kNone;
  }
  if (i + 2 >= s.size()) return Gap::kNone;
  len = 3;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  const auto b2 = static_cast<unsigned char>(s[i + 2]);
  const unsigned cp = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
  if ((b0 & 0xF0) != 0xE0 || (b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80) return Gap::kNone;
  if (cp >= 0x2000 && cp <= 0x200A) return Gap::kVisible;    // en quad .. hair space
  if (cp >= 0x200B && cp <= 0x200F) return Gap::kInvisible;  // ZWSP, ZWNJ, ZWJ, LRM, RLM
  if (cp >= 0x2010 && cp <= 0x2015) return Gap::kVisible;    // hyphen .. horizontal bar
  if (cp >= 0x202A && cp <= 0x202E) return Gap::kInvisible;  // bidi embeddings, overrides
  if (cp >= 0x2060 && cp <= 0x2064) return Gap::kInvisible;  // word joiner, invisible operators
  if (cp >= 0x2066 && cp <= 0x2069) return Gap::kInvisible;  // bidi isolates
  if (cp == 0xFEFF) return Gap::kInvisible;                  // zero width no-break space
  if (cp == 0x202F || cp == 0x205F || cp == 0x3000) return Gap::kVisible;  // spaces
  if (cp == 0x2212 || cp == 0xFE63 || cp == 0xFF0D) return Gap::kVisible;  // minus, hyphens
  return Gap::kNone;
}

// End of the invisible marks starting at s[i] (i itself when there are none).
size_t skip_invisible(std::string_view s, size_t i) {
  size_t len = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) >= 0xC2 &&
         separator_at(s, i, len) == Gap::kInvisible) {
    i += len;
  }
  return i;
}

// ---------------------------------------------------------------------------------------------
// 2. PAN: five letters, four digits, one letter, as a whole word ("ABCPK1234F"), also written
// "ABCPK-1234-F" or "ABCPK 1234 F".

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// After a gap inside a PAN: nothing, or one space or dash, with any invisible marks.
size_t skip_pan_gap(std::string_view s, size_t j) {
  j = skip_invisible(s, j);
  size_t len = 0;
  if (j < s.size() && s[j] != '(' && s[j] != ')' && separator_at(s, j, len) == Gap::kVisible) {
    j = skip_invisible(s, j + len);
  }
  return j;
}

// The end of a PAN starting at s[i], or npos.
size_t match_pan(std::string_view s, size_t i) {
  constexpr size_t npos = std::string_view::npos;
  for (size_t k = 0; k < 5; ++k) {
    if (!is_alpha(s[i + k])) return npos;
  }
  const size_t digits = skip_pan_gap(s, i + 5);
  if (digits + 4 > s.size()) return npos;
  for (size_t k = 0; k < 4; ++k) {
    if (!is_ascii_digit(s[digits + k])) return npos;
  }
  const size_t last = skip_pan_gap(s, digits + 4);
  if (last >= s.size() || !is_alpha(s[last])) return npos;
  if (last + 1 < s.size() && is_alnum(s[last + 1])) return npos;
  if (digits == i + 5 && last == digits + 4) return last + 1;
  // Split forms need more to tell them from "Tower 1203 B": the 4th letter is the holder type
  // (Person, Company, HUF, Firm, AOP, Trust, BOI, Local authority, Juridical person, Govt) and
  // the letters are all upper or all lower case.
  size_t upper = 0;
  for (size_t k = 0; k < 5; ++k) upper += is_upper(s[i + k]);
  if (upper != 0 && upper != 5) return npos;
  if (std::string_view("PCHFATBLJG").find(static_cast<char>(s[i + 3] & ~0x20)) == npos) {
    return npos;
  }
  return last + 1;
}

void scrub_pan(std::string_view s, std::string& out) {
  out.clear();
  size_t copied = 0;
  for (size_t i = 0; i + 10 <= s.size(); ++i) {
    if (i > 0 && is_alnum(s[i - 1])) continue;
    const size_t end = match_pan(s, i);
    if (end == std::string_view::npos) continue;
    out.append(s.substr(copied, i - copied));
    out.append(kPanToken);
    copied = end;
    i = end - 1;
  }
  out.append(s.substr(copied));
}

// ---------------------------------------------------------------------------------------------
// 3. phone numbers and Aadhaar

struct DigitWord {
  std::string_view word;
  int digit;
};
// English and romanised Hindi number words, as callers dictate numbers into notes.
constexpr DigitWord kDigitWords[] = {
    {"zero", 0}, {"one", 1},   {"two", 2},   {"three", 3}, {"four", 4},   {"five", 5},
    {"six", 6},  {"seven", 7}, {"eight", 8}, {"nine", 9},  {"shunya", 0}, {"ek", 1},
    {"do", 2},   {"teen", 3},  {"char", 4},  {"chaar", 4}, {"paanch", 5}, {"panch", 5},
    {"chhe", 6}, {"chhah", 6}, {"saat", 7},  {"aath", 8},  {"nau", 9}};

// A number word at s[i]: its digit, or -1. `len` = bytes.
int digit_word_at(std::string_view s, size_t i, size_t& len) {
  if (i >= s.size()) return -1;
  const char first = ascii_lower(s[i]);
  for (const auto& w : kDigitWords) {
    if (w.word[0] == first && word_at(s, i, w.word)) {
      len = w.word.size();
      return w.digit;
    }
  }
  return -1;
}

struct Group {
  size_t begin = 0, end = 0;  // bytes in the text
  std::string digits;         // ASCII digits this group stands for
  bool numeral = false;       // written with digits (not number words)
  std::string_view sep_before;
};

// Reads one group at s[i]: a run of digits, a number word, or "double/triple <digit>".
bool read_group(std::string_view s, size_t i, Group& g) {
  size_t len = 0;
  g.begin = i;
  g.digits.clear();
  if (digit_at(s, i, len) >= 0) {
    size_t j = i;
    while (j < s.size()) {
      int d = digit_at(s, j, len);
      if (d < 0) {
        // Invisible marks between two digits leave the number whole on screen: skip them.
        const size_t k = skip_invisible(s, j);
        if (k == j || k >= s.size() || (d = digit_at(s, k, len)) < 0) break;
        j = k;
      }
      g.digits.push_back(static_cast<char>('0' + d));
      j += len;
    }
    g.end = j;
    g.numeral = true;
    return true;
  }
  g.numeral = false;
  // Cheap filter: number words, "double" and "triple" start with one of these letters.
  switch (ascii_lower(s[i])) {
    case 'z':
    case 'o':
    case 't':
    case 'f':
    case 's':
    case 'e':
    case 'n':
    case 'd':
    case 'c':
    case 'p':
    case 'a':
      break;
    default:
      return false;
  }
  int d = digit_word_at(s, i, len);
  if (d >= 0) {
    g.digits.push_back(static_cast<char>('0' + d));
    g.end = i + len;
    return true;
  }
  int repeat = word_at(s, i, "double") ? 2 : word_at(s, i, "triple") ? 3 : 0;
  if (repeat == 0) return false;
  constexpr size_t kWordLength = 6;  // "double" and "triple"
  size_t j = skip_spaces(s, i + kWordLength);
  if (j == i + kWordLength) return false;
  int digit = digit_at(s, j, len);
  if (digit >= 0) {
    size_t tmp = 0;
    if (j + len < s.size() && digit_at(s, j + len, tmp) >= 0) return false;  // one digit only
  } else {
    digit = digit_word_at(s, j, len);
  }
  if (digit < 0) return false;
  g.digits.assign(static_cast<size_t>(repeat), static_cast<char>('0' + digit));
  g.end = j + len;
  return true;
}

bool looks_like_year(const std::string& d) {
  return d.size() == 4 && (d.starts_with("19") || d.starts_with("20"));
}

int to_int(const std::string& d) { return d.size() <= 4 ? std::stoi(d) : 99999; }

// "-", ".", "/" or one Unicode dash (U+2010..U+2015, U+2212, U+FE63, U+FF0D): how the parts
// of a date are joined.
bool is_date_separator(std::string_view sep) {
  if (sep == "-" || sep == "." || sep == "/") return true;
  return sep == "\xE2\x80\x90" || sep == "\xE2\x80\x91" || sep == "\xE2\x80\x92" ||
         sep == "\xE2\x80\x93" || sep == "\xE2\x80\x94" || sep == "\xE2\x80\x95" ||
         sep == "\xE2\x88\x92" || sep == "\xEF\xB9\xA3" || sep == "\xEF\xBC\x8D";
}

bool is_date(const Group& a, const Group& b, const Group& c) {
  if (!a.numeral || !b.numeral || !c.numeral) return false;
  if (b.sep_before != c.sep_before || !is_date_separator(b.sep_before)) return false;
  auto day_month = [](const Group& x, const Group& y) {
    return x.digits.size() <= 2 && y.digits.size() <= 2 && to_int(x.digits) <= 31 &&
           to_int(y.digits) <= 31 && (to_int(x.digits) <= 12 || to_int(y.digits) <= 12);
  };
  return (looks_like_year(c.digits) && day_month(a, b)) ||
         (looks_like_year(a.digits) && day_month(b, c));
}

constexpr std::string_view kPhoneKeywords[] = {"phone",    "ph",      "mob",      "mobile",
                                               "cell",     "call",    "tel",      "telephone",
                                               "landline", "contact", "whatsapp", "wa"};
// "no", "number" count only after a phone word ("mobile no.", "contact number"): alone they
// also introduce booking and reference numbers.
constexpr std::string_view kNumberWords[] = {"no", "num", "number", "nos"};

// The ASCII word that ends at s[j] after skipping up to 4 punctuation/space bytes; sets
// `begin` to where it starts.
std::string_view word_before(std::string_view s, size_t j, size_t& begin) {
  size_t skipped = 0;
  while (j > 0 && skipped < 4 &&
         (s[j - 1] == ' ' || s[j - 1] == ':' || s[j - 1] == '.' || s[j - 1] == '-' ||
          s[j - 1] == '#' || s[j - 1] == '(')) {
    --j;
    ++skipped;
  }
  size_t w = j;
  while (w > 0 && is_alpha(s[w - 1])) --w;
  begin = w;
  return s.substr(w, j - w);
}

// True when a phone keyword ("call", "mob.", "ph:", "contact no.") directly precedes s[i].
bool phone_keyword_before(std::string_view s, size_t i) {
  size_t begin = 0;
  auto word = word_before(s, i, begin);
  if (word.empty()) return false;
  if (in_list(word, kNumberWords)) word = word_before(s, begin, begin);
  return !word.empty() && in_list(word, kPhoneKeywords);
}

enum class Kind { None, Phone, Aadhaar };

// `strict` (lead ids): only unambiguous shapes, no landline or keyword rules.
Kind classify(const std::string& d, bool plus, bool aadhaar_grouping, bool keyword, bool strict) {
  const size_t n = d.size();
  if (n < 7) return Kind::None;
  if (plus) return n >= 8 && n <= 15 ? Kind::Phone : Kind::None;
  const auto mobile_start = [&](size_t k) { return k < n && d[k] >= '6' && d[k] <= '9'; };
  if (d.starts_with("00") && n >= 10 && n <= 17) return Kind::Phone;          // 0091 98...
  if (n == 12 && aadhaar_grouping && d[0] >= '2') return Kind::Aadhaar;       // 1234 5678 9012
  if (n == 10 && mobile_start(0)) return Kind::Phone;                         // 98201 55501
  if (n == 11 && d[0] == '0' && d[1] != '0') return Kind::Phone;              // 098201.., 022 ...
  if (n == 12 && d.starts_with("91") && mobile_start(2)) return Kind::Phone;  // 91 98201 55501
  if (strict) return Kind::None;
  // Landlines without the trunk 0 (STD code + number), toll-free numbers.
  if (n == 10 && d[0] >= '2') return Kind::Phone;
  if (n == 11 && d.starts_with("1800")) return Kind::Phone;
  if (keyword && n <= 9) return Kind::Phone;  // "landline 2345 6789"
  return Kind::None;
}

// Aadhaar is written as one 12-digit run or as 4-4-4; three years ("2019-2024-2025") are not.
bool aadhaar_grouping(const std::vector<Group>& groups, size_t k, size_t e) {
  if (e == k) return groups[k].numeral && groups[k].digits.size() == 12;
  if (e != k + 2) return false;
  bool all_years = true;
  for (size_t j = k; j <= e; ++j) {
    if (!groups[j].numeral || groups[j].digits.size() != 4) return false;
    all_years = all_years && looks_like_year(groups[j].digits);
  }
  return !all_years;
}

bool round_amount(const Group& g) {
  return g.numeral && g.digits.size() >= 3 && g.digits.ends_with("00");
}

void scrub_numbers(std::string_view s, bool strict, std::string& out) {
  out.clear();
  size_t copied = 0;
  size_t i = 0;
  // Reused across calls: no allocation per lead once warm.
  thread_local std::vector<Group> groups;
  thread_local std::vector<char> barrier;
  while (i < s.size()) {
    // A candidate starts at a digit, a number word, '+digit' or '(digit'.
    size_t start = i;
    bool plus = false;
    size_t len = 0;
    const char c = s[i];
    if ((c == '+' || c == '(') && i + 1 < s.size() && digit_at(s, i + 1, len) >= 0) {
      plus = c == '+';
      start = i;
      ++i;
    }
    Group g;
    if (!((digit_at(s, i, len) >= 0 && (i == 0 || !is_ascii_digit(s[i - 1]))) ||
          (is_alpha(s[i]) && (i == 0 || !is_alpha(s[i - 1])) && read_group(s, i, g)))) {
      i = start + 1;
      // Skip the rest of a word or a multi-byte character cheaply.
      if (is_alpha(s[start])) {
        while (i < s.size() && is_alpha(s[i])) ++i;
      }
      continue;
    }
    groups.clear();
    size_t pos = i;
    std::string_view sep;
    while (pos < s.size() && read_group(s, pos, g)) {
      g.sep_before = sep;
      groups.push_back(g);
      pos = g.end;
      // Up to 4 visible separators; invisible marks do not count (they can be stacked unseen).
      size_t q = pos, seps = 0, sl = 0;
      bool slash = false;
      while (q < s.size()) {
        const Gap gap = separator_at(s, q, sl);
        if (gap == Gap::kNone || (gap == Gap::kVisible && seps == 4)) break;
        if (gap == Gap::kVisible) ++seps;
        slash = slash || s[q] == '/';
        q += sl;
      }
      if (q == pos || q >= s.size()) break;
      Group next;
      if (!read_group(s, q, next)) break;
      // "25000/30000": '/' between two round amounts offers alternatives, not one number.
      if (slash && round_amount(g) && round_amount(next)) break;
      sep = s.substr(pos, q - pos);
      pos = q;
    }
    if (groups.empty()) {
      i = start + 1;
      continue;
    }
    const size_t candidate_end = groups.back().end;
    // Barriers: dates (dd-mm-yyyy, yyyy-mm-dd) and clock times (hh:mm) are never phone parts.
    barrier.assign(groups.size(), 0);
    for (size_t k = 0; k + 2 < groups.size(); ++k) {
      if (is_date(groups[k], groups[k + 1], groups[k + 2])) {
        barrier[k] = barrier[k + 1] = barrier[k + 2] = 1;
      }
    }
    for (size_t k = 0; k < groups.size(); ++k) {
      const auto& gr = groups[k];
      size_t tmp = 0;
      if (gr.end + 1 < s.size() && s[gr.end] == ':' && digit_at(s, gr.end + 1, tmp) >= 0) {
        barrier[k] = 1;
      }
      if (gr.begin >= 2 && s[gr.begin - 1] == ':' && is_ascii_digit(s[gr.begin - 2])) {
        barrier[k] = 1;
      }
      // "3BHK", "90L", "62A": a short numeral glued to a letter is a quantity or a label.
      if (gr.numeral && gr.digits.size() < 7 && gr.end < s.size() && is_alpha(s[gr.end])) {
        barrier[k] = 1;
      }
    }
    // Longest classifiable span first, left to right.
    size_t k = 0;
    while (k < groups.size()) {
      if (barrier[k]) {
        ++k;
        continue;
      }
      Kind best = Kind::None;
      size_t best_end = k;
      std::string digits;
      const bool with_plus = plus && k == 0;
      // Digits glued to letters on the left ("CRM2345678901") are ids unless mobile-shaped.
      const bool glued = groups[k].numeral && !with_plus && groups[k].begin > 0 &&
                         is_alpha(s[groups[k].begin - 1]);
      const bool weak_rules_off = strict || glued;
      const bool keyword =
          !weak_rules_off && phone_keyword_before(s, groups[k].begin - (with_plus ? 1 : 0));
      bool all_years = true;
      for (size_t e = k; e < groups.size() && !barrier[e]; ++e) {
        digits += groups[e].digits;
        if (digits.size() > 17) break;
        all_years = all_years && groups[e].numeral && looks_like_year(groups[e].digits);
        Kind kind =
            classify(digits, with_plus, aadhaar_grouping(groups, k, e), keyword, weak_rules_off);
        if (all_years) kind = Kind::None;  // "2019 2024 2025"
        if (kind != Kind::None) {
          best = kind;
          best_end = e;
        }
      }
      if (best == Kind::None) {
        ++k;
        continue;
      }
      size_t span_begin = groups[k].begin;
      if (k == 0 && start < span_begin) span_begin = start;  // the '+' or '('
      out.append(s.substr(copied, span_begin - copied));
      out.append(best == Kind::Aadhaar ? kAadhaarToken : kPhoneToken);
      copied = groups[best_end].end;
      k = best_end + 1;
    }
    i = candidate_end;
  }
  out.append(s.substr(copied));
}

// Which passes can match at all: most notes have no '@', no "dot" and few digits.
struct Needs {
  bool email = false;
  bool digit = false;
};

Needs survey(std::string_view s) {
  Needs n;
  bool digit = false;
  for (char c : s) digit |= static_cast<unsigned char>(c - '0') < 10;  // vectorises
  n.digit = digit;
  n.email = s.find('@') != std::string_view::npos || s.find('\xEF') != std::string_view::npos;
  for (size_t i = 0; !n.email && i + 2 < s.size(); ++i) {
    if (ascii_lower(s[i]) == 'd' && ascii_lower(s[i + 1]) == 'o' && ascii_lower(s[i + 2]) == 't') {
      n.email = true;
    }
  }
  return n;
}

void scrub(std::string_view text, bool strict, std::string& out) {
  const Needs needs = survey(text);
  thread_local std::string after_email, after_pan;
  std::string_view current = text;
  if (needs.email) {
    scrub_emails(current, after_email);
    current = after_email;
  }
  if (needs.digit) {
    scrub_pan(current, after_pan);
    current = after_pan;
  }
  scrub_numbers(current, strict, out);
}

// "p_" + 32 lowercase hex: the keyed pseudonym `serve --pseudonymise-lead-ids` stores for a
// PII-looking id (http::make_lead_id_pseudonymiser). Random hex often holds a mobile- or
// Aadhaar-shaped digit run (about 2.6 % of pseudonyms); the id is still no personal data.
bool is_lead_id_pseudonym(std::string_view id) {
  if (id.size() != 34 || !id.starts_with("p_")) return false;
  for (char c : id.substr(2)) {
    if (!is_ascii_digit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

}  // namespace

void scrub_contact_details(std::string_view text, std::string& out) { scrub(text, false, out); }

std::string scrub_contact_details(std::string_view text) {
  std::string out;
  scrub(text, false, out);
  return out;
}

bool looks_like_pii(std::string_view lead_id) {
  const auto id = detail::trim(lead_id);
  if (id.empty() || is_lead_id_pseudonym(id)) return false;
  thread_local std::string scrubbed;
  scrub(id, true, scrubbed);
  return scrubbed != id;
}

}  // namespace core
