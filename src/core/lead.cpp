// Lead parsing (JSON objects and CSV records) and feature encoding.
// Privacy contract: values of pii/ignore/unknown fields are never copied anywhere (the words of
// a pii value live only while its lead is built, to redact them from the lead's free text), and
// no error message contains any input value (only field names, and only names safe to show).

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <span>

#include "core/core.h"
#include "core/text_util.h"
#include "core/values.h"

namespace core {
namespace {

using detail::trim;
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

// One input value, from a JSON element or a CSV cell.
struct Value {
  enum Kind { Null, String, Int, Uint, Double, Bool, Composite } kind = Null;
  std::string_view str;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  bool b = false;
};

Value from_json(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  Value v;
  switch (e.type()) {
    case element_type::STRING:
      v.kind = Value::String;
      v.str = e.get_string().value_unsafe();
      break;
    case element_type::INT64:
      v.kind = Value::Int;
      v.i = e.get_int64().value_unsafe();
      break;
    case element_type::UINT64:
      v.kind = Value::Uint;
      v.u = e.get_uint64().value_unsafe();
      break;
    case element_type::DOUBLE:
      v.kind = Value::Double;
      v.d = e.get_double().value_unsafe();
      break;
    case element_type::BOOL:
      v.kind = Value::Bool;
      v.b = e.get_bool().value_unsafe();
      break;
    case element_type::NULL_VALUE:
      v.kind = Value::Null;
      break;
    case element_type::ARRAY:
    case element_type::OBJECT:
      v.kind = Value::Composite;
      break;
  }
  return v;
}

std::string_view kind_name(const Value& v) {
  switch (v.kind) {
    case Value::Null:
      return "null";
    case Value::String:
      return "a string";
    case Value::Int:
    case Value::Uint:
    case Value::Double:
      return "a number";
    case Value::Bool:
      return "a boolean";
    case Value::Composite:
      return "an array or object";
  }
  return "a value";
}

std::string format_number(double d) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

// Shortest text that reads back as the same float32 ("90.2", not "90.19999694824219").
std::string format_float(float x) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

tl::unexpected<Error> mismatch(const FieldSpec& f, std::string_view expected, const Value& v) {
  return make_error("field_type_mismatch",
                    "field '" + f.name + "': expected " + std::string(expected) + ", got " +
                        std::string(kind_name(v)),
                    f.name);
}

// Numeric value of a Value as a double; nullopt when missing.
Result<std::optional<double>> to_number(const Schema& schema, const FieldSpec& f, const Value& v) {
  double d = 0;
  switch (v.kind) {
    case Value::Null:
      return std::optional<double>();
    case Value::Int:
      d = static_cast<double>(v.i);
      break;
    case Value::Uint:
      d = static_cast<double>(v.u);
      break;
    case Value::Double:
      d = v.d;
      break;
    case Value::String: {
      if (schema.is_missing_token(v.str)) return std::optional<double>();
      if (f.type == FieldType::MoneyInr) {
        auto m = parse_money_inr_lakh(v.str);
        if (!m) {
          return make_error("invalid_money",
                            "field '" + f.name + "': " + m.error().message +
                                " (expected e.g. 90L, 1.2 cr, 80 lakh - 1 crore)",
                            f.name);
        }
        d = *m;
      } else if (f.type == FieldType::Timestamp) {
        auto t = parse_timestamp_seconds(v.str);
        if (!t) {
          return make_error("invalid_timestamp", "field '" + f.name + "': " + t.error().message,
                            f.name);
        }
        d = *t;
      } else {
        auto n = detail::parse_plain_number(v.str);
        if (!n) {
          return mismatch(f, f.type == FieldType::Integer ? "an integer" : "a number", v);
        }
        d = *n;
      }
      // Strings were converted above to lakhs/seconds already.
      if (f.type == FieldType::Integer && d != std::floor(d)) {
        return mismatch(f, "an integer", v);
      }
      return std::optional<double>(d);
    }
    case Value::Bool:
    case Value::Composite:
      return mismatch(f, f.type == FieldType::Integer ? "an integer" : "a number", v);
  }
  if (f.type == FieldType::MoneyInr) {
    if (d < 0) {
      return make_error("invalid_money", "field '" + f.name + "': negative money value", f.name);
    }
    d = detail::bare_money_to_lakhs(d);
  }
  if (f.type == FieldType::Timestamp) {
    d = detail::epoch_number_to_seconds(d);
    if (!detail::timestamp_in_range(d)) {
      return make_error("invalid_timestamp",
                        "field '" + f.name + "': timestamp outside the years 1-9999", f.name);
    }
  }
  if (f.type == FieldType::Integer && d != std::floor(d)) return mismatch(f, "an integer", v);
  return std::optional<double>(d);
}

Result<std::optional<bool>> to_bool(const Schema& schema, const FieldSpec& f, const Value& v) {
  switch (v.kind) {
    case Value::Null:
      return std::optional<bool>();
    case Value::Bool:
      return std::optional<bool>(v.b);
    case Value::Int:
      if (v.i == 0 || v.i == 1) return std::optional<bool>(v.i == 1);
      break;
    case Value::Uint:
      if (v.u == 0 || v.u == 1) return std::optional<bool>(v.u == 1);
      break;
    case Value::Double:
      if (v.d == 0 || v.d == 1) return std::optional<bool>(v.d == 1);
      break;
    case Value::String: {
      auto s = trim(v.str);
      static constexpr std::string_view kTrue[] = {"true", "yes", "y", "1"};
      static constexpr std::string_view kFalse[] = {"false", "no", "n", "0"};
      for (auto t : kTrue)
        if (detail::iequals(s, t)) return std::optional<bool>(true);
      for (auto t : kFalse)
        if (detail::iequals(s, t)) return std::optional<bool>(false);
      if (schema.is_missing_token(s)) return std::optional<bool>();
      break;
    }
    case Value::Composite:
      break;
  }
  return mismatch(f, "a boolean (true/false, yes/no, 1/0)", v);
}

// Category code; nullopt when missing. Unknown values are the implicit `other` = n.
Result<std::optional<int>> to_category(const Schema& schema, const FieldSpec& f, const Value& v) {
  std::string number_text;
  std::string_view s;
  switch (v.kind) {
    case Value::Null:
      return std::optional<int>();
    case Value::String:
      s = trim(v.str);
      break;
    case Value::Int:
      number_text = std::to_string(v.i);
      s = number_text;
      break;
    case Value::Uint:
      number_text = std::to_string(v.u);
      s = number_text;
      break;
    case Value::Double:
      number_text = format_number(v.d);
      s = number_text;
      break;
    case Value::Bool:
    case Value::Composite:
      return mismatch(f, "a category string", v);
  }
  const int code = schema.category_code(f, s);
  if (code == static_cast<int>(f.categories.size()) && v.kind == Value::String &&
      schema.is_missing_token(s)) {
    return std::optional<int>();
  }
  return std::optional<int>(code);
}

// Text/id value as a view (into the input, or into `scratch` for numbers); nullopt when
// missing.
Result<std::optional<std::string_view>> to_text(const Schema& schema, const FieldSpec& f,
                                                const Value& v, std::string& scratch) {
  using Out = std::optional<std::string_view>;
  std::string_view out;
  switch (v.kind) {
    case Value::Null:
      return Out();
    case Value::String:
      if (schema.is_missing_token(v.str)) return Out();
      out = f.type == FieldType::Id ? trim(v.str) : v.str;
      break;
    case Value::Int:
      scratch = std::to_string(v.i);
      out = scratch;
      break;
    case Value::Uint:
      scratch = std::to_string(v.u);
      out = scratch;
      break;
    case Value::Double:
      if (f.type == FieldType::Id) return mismatch(f, "a string or integer id", v);
      scratch = format_number(v.d);
      out = scratch;
      break;
    case Value::Bool:
    case Value::Composite:
      return mismatch(f, f.type == FieldType::Id ? "a string or integer id" : "a string", v);
  }
  if (f.max_length != 0 && detail::utf8_length(out) > f.max_length) {
    return make_error(
        "field_too_long",
        "field '" + f.name + "': longer than " + std::to_string(f.max_length) + " characters",
        f.name);
  }
  return Out(out);
}

Result<double> check_range(const FieldSpec& f, double d) {
  const bool below = !std::isnan(f.min) && d < f.min;
  const bool above = !std::isnan(f.max) && d > f.max;
  if (!below && !above) return d;
  if (f.clamp) return below ? f.min : f.max;
  const std::string lo = std::isnan(f.min) ? std::string("-inf") : format_number(f.min);
  const std::string hi = std::isnan(f.max) ? std::string("inf") : format_number(f.max);
  const std::string range = detail::cat("[", lo, ", ", hi, "]");
  return make_error("field_out_of_range",
                    "field '" + f.name + "': value outside the valid range " + range, f.name);
}

}  // namespace

// A name safe to put in an error message: an unknown field's name may itself be personal data
// (a phone number used as a key), so only short, plain, non-PII-looking names are shown.
std::string displayable_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || looks_like_pii(name)) return {};
  size_t digits = 0;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return {};
    digits += (c >= '0' && c <= '9');
  }
  if (digits >= 6) return {};
  return std::string(name);
}

namespace {

tl::unexpected<Error> missing_error(const FieldSpec& f) {
  if (f.role == FieldRole::Id) {
    return make_error("missing_lead_id", "field '" + f.name + "': the lead id is required", f.name);
  }
  return make_error("missing_field", "field '" + f.name + "': required but missing", f.name);
}

// Lists in a reused Lead change length from lead to lead. Elements past the end go to a
// thread-local spare pool (cleared, capacity kept) and come back from it, so that alternating
// leads do not free and re-allocate their strings.
template <typename T>
std::vector<T>& spare_pool() {
  thread_local std::vector<T> pool;
  return pool;
}

void clear_value(std::string& s) { s.clear(); }
void clear_value(std::pair<std::string, std::string>& p) {
  p.first.clear();
  p.second.clear();
}

template <typename T>
T& grow(std::vector<T>& list) {
  auto& spare = spare_pool<T>();
  if (spare.empty()) return list.emplace_back();
  list.push_back(std::move(spare.back()));
  spare.pop_back();
  return list.back();
}

template <typename T>
void shrink(std::vector<T>& list, size_t used) {
  auto& spare = spare_pool<T>();
  while (list.size() > used) {
    clear_value(list.back());
    spare.push_back(std::move(list.back()));
    list.pop_back();
  }
}

// Builds one Lead field by field into a caller's Lead, reusing its buffers; shared by the
// JSON and CSV paths.
class LeadBuilder {
 public:
  LeadBuilder(const Schema& schema, const ParseOptions& options, Lead& lead)
      : schema_(schema), options_(options), lead_(lead) {
    seen_.assign(schema.fields().size(), 0);
    lead_.id.clear();
    lead_.features.assign(schema.feature_count(), kMissing);
    lead_.consent.reset();
    lead_.label.reset();
    lead_.age.reset();
  }

  // Wipes the PII words kept for redaction, whether the lead was built or refused.
  ~LeadBuilder() {
    for (size_t k = 0; k < pii_used_; ++k) pii_words_[k].assign(pii_words_[k].size(), '\0');
  }
  LeadBuilder(const LeadBuilder&) = delete;
  LeadBuilder& operator=(const LeadBuilder&) = delete;

  Status set(size_t index, const Value& v) {
    const FieldSpec& f = schema_.fields()[index];
    // PII and ignored fields: dropped. Only the words of a PII value are kept, until finish(),
    // to take the lead's own name out of its free text (no regex can tell a name).
    if (f.role == FieldRole::Pii) {
      if (v.kind == Value::String) collect_pii_words(v.str);
      return ok();
    }
    if (f.role == FieldRole::Ignore) return ok();
    seen_[index] = 1;
    switch (f.type) {
      case FieldType::Number:
      case FieldType::Integer:
      case FieldType::MoneyInr:
      case FieldType::Timestamp: {
        LS_ASSIGN_OR_RETURN(auto d, to_number(schema_, f, v));
        if (!d) return set_missing(f);
        double x = *d;
        if (f.type != FieldType::Timestamp) {
          LS_ASSIGN_OR_RETURN(x, check_range(f, x));
          // Beyond float32 the encoded row would hold inf (and the conversion is UB).
          if (!(std::fabs(x) <= std::numeric_limits<float>::max())) {
            return make_error("field_out_of_range",
                              "field '" + f.name + "': value too large for a feature", f.name);
          }
        }
        return set_number(f, x);
      }
      case FieldType::Boolean: {
        LS_ASSIGN_OR_RETURN(auto b, to_bool(schema_, f, v));
        if (!b) return set_missing(f);
        if (f.role == FieldRole::Consent) {
          lead_.consent = *b;
        } else if (f.role == FieldRole::Meta) {
          slot(lead_.meta, meta_used_, f).assign(*b ? "true" : "false");
        } else {
          return set_number(f, *b ? 1.0 : 0.0);
        }
        return ok();
      }
      case FieldType::Category: {
        LS_ASSIGN_OR_RETURN(auto c, to_category(schema_, f, v));
        if (!c) return set_missing(f);
        if (f.role == FieldRole::Feature) {
          lead_.features[static_cast<size_t>(f.feature_index)] = static_cast<float>(*c);
        } else if (f.role == FieldRole::Meta) {
          const auto code = static_cast<size_t>(*c);
          slot(lead_.meta, meta_used_, f)
              .assign(code < f.categories.size() ? std::string_view(f.categories[code]) : "other");
        }
        return ok();
      }
      case FieldType::Text:
      case FieldType::Id: {
        LS_ASSIGN_OR_RETURN(auto t, to_text(schema_, f, v, scratch_));
        if (!t) return set_missing(f);
        if (f.role == FieldRole::Id) return set_id(f, *t);
        // Free text is scrubbed before it is stored anywhere (issue 9).
        if (f.role == FieldRole::TextForRerank) {
          scrub_contact_details(*t, slot(lead_.texts, texts_used_, f));
        } else if (f.role == FieldRole::Meta) {
          scrub_contact_details(*t, slot(lead_.meta, meta_used_, f));
        }
        return ok();
      }
    }
    return ok();
  }

  Status unknown(std::string_view name) {
    if (!schema_.unknown_fields_rejected()) return ok();
    std::string shown = displayable_name(name);
    return make_error("unknown_field",
                      shown.empty() ? std::string("a field not in the schema was sent")
                                    : "field '" + shown + "' is not in the schema",
                      shown);
  }

  // Applies missing policies to fields never set; `require_label` makes the label required.
  Status finish(bool require_label) {
    const auto& fields = schema_.fields();
    for (size_t k = 0; k < fields.size(); ++k) {
      if (seen_[k]) continue;
      const FieldSpec& f = fields[k];
      if (f.role == FieldRole::Pii || f.role == FieldRole::Ignore) continue;
      LS_TRY(set_missing(f));
    }
    if (pii_used_ > 0) {
      const std::span<const std::string> words(pii_words_.data(), pii_used_);
      for (size_t k = 0; k < texts_used_; ++k) redact_words(lead_.texts[k].second, words);
      for (size_t k = 0; k < meta_used_; ++k) redact_words(lead_.meta[k].second, words);
    }
    shrink(lead_.texts, texts_used_);
    shrink(lead_.meta, meta_used_);
    shrink(lead_.missing_fields, missing_used_);
    if (require_label && !lead_.label) {
      if (const auto* l = schema_.label_field()) return missing_error(*l);
    }
    return ok();
  }

 private:
  Status set_missing(const FieldSpec& f) {
    if (!f.missing_allowed) return missing_error(f);
    if (f.role == FieldRole::Feature) {
      lead_.features[static_cast<size_t>(f.feature_index)] = kMissing;
      auto& list = lead_.missing_fields;
      for (size_t k = 0; k < missing_used_; ++k) {
        if (list[k] == f.name) return ok();
      }
      (missing_used_ < list.size() ? list[missing_used_] : grow(list)).assign(f.name);
      ++missing_used_;
    }
    return ok();
  }

  Status set_number(const FieldSpec& f, double x) {
    if (f.is_age) lead_.age = x;
    switch (f.role) {
      case FieldRole::Feature: {
        const double encoded = f.type == FieldType::Timestamp ? x / 86400.0 : x;
        lead_.features[static_cast<size_t>(f.feature_index)] = static_cast<float>(encoded);
        break;
      }
      case FieldRole::Label:
        lead_.label = static_cast<float>(x);
        break;
      case FieldRole::Meta:
        if (f.type == FieldType::Timestamp) {
          detail::format_iso8601(x, slot(lead_.meta, meta_used_, f));
        } else {
          slot(lead_.meta, meta_used_, f).assign(format_number(x));
        }
        break;
      default:
        break;
    }
    return ok();
  }

  Status set_id(const FieldSpec& f, std::string_view id) {
    if (trim(id).empty()) return set_missing(f);
    // Ids travel to logs, the outbox, CRM payloads and CSV exports, where a NUL, newline or
    // escape byte breaks lines and tools: refused rather than carried.
    if (std::any_of(id.begin(), id.end(), [](char c) {
          const auto u = static_cast<unsigned char>(c);
          return u < 0x20 || u == 0x7f;
        })) {
      return make_error("invalid_lead_id",
                        "field '" + f.name + "': the lead id contains a control character",
                        f.name);
    }
    if (looks_like_pii(id)) {
      if (!options_.pseudonymise_lead_id) {
        return make_error("lead_id_looks_like_pii",
                          "field '" + f.name +
                              "': the lead id looks like a phone number, e-mail, PAN or "
                              "Aadhaar; send an opaque id",
                          f.name);
      }
      lead_.id = options_.pseudonymise_lead_id(id);
      return ok();
    }
    lead_.id.assign(id);
    return ok();
  }

  // The value string for field f in a (name, value) list whose first `used` entries are this
  // lead's; entries beyond are leftovers from an earlier lead, reused for their capacity.
  static std::string& slot(std::vector<std::pair<std::string, std::string>>& list, size_t& used,
                           const FieldSpec& f) {
    for (size_t k = 0; k < used; ++k) {
      if (list[k].first == f.name) return list[k].second;  // duplicate key: last one wins
    }
    auto& entry = used < list.size() ? list[used] : grow(list);
    ++used;
    entry.first.assign(f.name);
    return entry.second;
  }

  static bool word_byte(char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || u >= 0x80;  // UTF-8 letters (Devanagari names too) count
  }

  // The words (3+ bytes, with a letter) of a PII value such as "Philomena Wraxhurst". An
  // e-mail address gives only its local part ("philomena.w92"): its domain ("gmail", "com")
  // names nobody, and the scrubber already takes whole addresses out of free text.
  void collect_pii_words(std::string_view v) {
    for (size_t i = 0; i < v.size();) {
      if (v[i] == '@') {
        while (i < v.size() && v[i] != ' ' && v[i] != ',' && v[i] != ';') ++i;
        continue;
      }
      if (!word_byte(v[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      bool letter = false;
      for (; j < v.size() && word_byte(v[j]); ++j) {
        letter |= !std::isdigit(static_cast<unsigned char>(v[j]));
      }
      if (j - i >= 3 && letter && pii_used_ < 32) {
        const auto word = v.substr(i, j - i);
        if (pii_used_ < pii_words_.size()) pii_words_[pii_used_].assign(word);
        else pii_words_.emplace_back(word);
        ++pii_used_;
      }
      i = j;
    }
  }

  // Calls fn(start, end, is_pii_word) for each word of `text` (a run of word bytes).
  template <typename Fn>
  static void for_each_word(std::string_view text, std::span<const std::string> words, Fn&& fn) {
    for (size_t i = 0; i < text.size();) {
      if (!word_byte(text[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < text.size() && word_byte(text[j])) ++j;
      const std::string_view w = text.substr(i, j - i);
      if (!fn(i, j, std::any_of(words.begin(), words.end(), [&](const std::string& p) {
            return detail::iequals(w, p);
          }))) {
        return;
      }
      i = j;
    }
  }

  // Replaces each whole word of `text` equal (ASCII case-insensitively) to a PII word with
  // "[name]": the lead's own name in its notes ("ask for Philomena") never reaches an
  // embedding, a cache key or a response. Most notes do not name their lead: they are only
  // scanned, and rewritten when they do.
  static void redact_words(std::string& text, std::span<const std::string> words) {
    bool any = false;
    for_each_word(text, words, [&](size_t, size_t, bool hit) { return !(any = hit); });
    if (!any) return;
    thread_local std::string out;  // reused: parsing a warm lead allocates nothing
    out.clear();
    size_t copied = 0;
    for_each_word(text, words, [&](size_t from, size_t to, bool hit) {
      if (hit) {
        out.append(text, copied, from - copied).append("[name]");
        copied = to;
      }
      return true;
    });
    out.append(text, copied, std::string::npos);
    text.assign(out);
  }

  const Schema& schema_;
  const ParseOptions& options_;
  Lead& lead_;
  size_t texts_used_ = 0, meta_used_ = 0, missing_used_ = 0;
  std::string scratch_;
  size_t pii_used_ = 0;
  static thread_local std::vector<char> seen_;
  static thread_local std::vector<std::string> pii_words_;  // reused; wiped after each lead
};

thread_local std::vector<char> LeadBuilder::seen_;
thread_local std::vector<std::string> LeadBuilder::pii_words_;

}  // namespace

Status parse_lead_into(const Schema& schema, simdjson::dom::element object, Lead& out,
                       const ParseOptions& options) {
  simdjson::dom::object obj;
  if (object.get_object().get(obj) != simdjson::SUCCESS) {
    return make_error("not_an_object", "a lead must be a JSON object");
  }
  LeadBuilder builder(schema, options, out);
  const auto& fields = schema.fields();
  size_t next = 0;
  for (auto [key, value] : obj) {
    // Clients usually send fields in schema order: try the next field before hashing.
    int index = -1;
    if (next < fields.size() && fields[next].name == key) {
      index = static_cast<int>(next);
    } else {
      index = schema.field_index(key);
    }
    if (index >= 0) next = static_cast<size_t>(index) + 1;
    if (index < 0) {
      LS_TRY(builder.unknown(key));
      continue;
    }
    LS_TRY(builder.set(static_cast<size_t>(index), from_json(value)));
  }
  return builder.finish(false);
}

Result<Lead> parse_lead(const Schema& schema, simdjson::dom::element object,
                        const ParseOptions& options) {
  Lead lead;
  LS_TRY(parse_lead_into(schema, object, lead, options));
  return lead;
}

Result<Lead> parse_lead_json(const Schema& schema, std::string_view json,
                             const ParseOptions& options) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size(), true).get(root); err) {
    return make_error("invalid_json",
                      std::string("malformed JSON: ") + simdjson::error_message(err));
  }
  return parse_lead(schema, root, options);
}

Result<RecordParser> RecordParser::create(std::shared_ptr<const Schema> schema,
                                          const std::vector<std::string>& header, Options options) {
  RecordParser p;
  std::vector<char> present(schema->fields().size(), 0);
  for (size_t c = 0; c < header.size(); ++c) {
    auto name = trim(header[c]);
    if (c == 0 && name.starts_with("\xEF\xBB\xBF")) name = trim(name.substr(3));  // UTF-8 BOM
    const int index = schema->field_index(name);
    if (index >= 0) {
      if (present[static_cast<size_t>(index)]) {
        return make_error("duplicate_column",
                          "column '" + std::string(name) + "' appears twice in the header",
                          std::string(name));
      }
      present[static_cast<size_t>(index)] = 1;
    } else if (schema->unknown_fields_rejected()) {
      std::string shown = displayable_name(name);
      return make_error("unknown_field",
                        shown.empty() ? std::string("a column not in the schema is present")
                                      : "column '" + shown + "' is not in the schema",
                        shown);
    }
    p.column_field_.push_back(index);
  }
  for (size_t k = 0; k < schema->fields().size(); ++k) {
    const FieldSpec& f = schema->fields()[k];
    const bool required =
        (!f.missing_allowed && f.role != FieldRole::Pii && f.role != FieldRole::Ignore) ||
        (options.require_label && f.role == FieldRole::Label);
    if (required && !present[k]) {
      return make_error("missing_column", "required column '" + f.name + "' is not in the header",
                        f.name);
    }
    if (f.role == FieldRole::Feature && !present[k]) p.absent_features_.push_back(f.name);
  }
  if (options.require_label && schema->label_field() == nullptr) {
    return make_error("missing_column", "the schema has no label field");
  }
  p.schema_ = std::move(schema);
  p.options_ = std::move(options);
  return p;
}

Status RecordParser::parse_into(std::span<const std::string_view> cells, Lead& out) const {
  if (cells.size() != column_field_.size()) {
    return make_error("column_count_mismatch", "record has " + std::to_string(cells.size()) +
                                                   " cells, header has " +
                                                   std::to_string(column_field_.size()));
  }
  LeadBuilder builder(*schema_, options_.parse, out);
  for (size_t c = 0; c < cells.size(); ++c) {
    const int index = column_field_[c];
    if (index < 0) continue;
    Value v;
    v.kind = Value::String;
    v.str = cells[c];
    LS_TRY(builder.set(static_cast<size_t>(index), v));
  }
  return builder.finish(options_.require_label);
}

Result<Lead> RecordParser::parse(std::span<const std::string_view> cells) const {
  Lead lead;
  LS_TRY(parse_into(cells, lead));
  return lead;
}

bool is_minor(const Lead& lead) { return lead.age && *lead.age < 18.0; }

std::string describe_feature_value(const Schema& schema, size_t feature_index, float value) {
  if (feature_index >= schema.feature_count()) return "?";
  if (std::isnan(value)) return "missing";
  const FieldSpec& f = schema.feature_field(feature_index);
  switch (f.type) {
    case FieldType::Boolean:
      return value >= 0.5f ? "yes" : "no";
    case FieldType::Category: {
      // Compare as float first: casting an out-of-range float to an integer is UB.
      if (value >= 0.0f && value < static_cast<float>(f.categories.size())) {
        return f.categories[static_cast<size_t>(value)];
      }
      return "other";
    }
    case FieldType::Timestamp: {
      const double seconds = static_cast<double>(value) * 86400.0;
      if (!detail::timestamp_in_range(seconds)) return format_float(value);
      return detail::format_iso8601(seconds).substr(0, 10);
    }
    case FieldType::MoneyInr: {
      if (value >= 100.0f) return format_float(value / 100.0f) + " crore";
      return format_float(value) + " lakh";
    }
    case FieldType::Integer:
      return format_number(std::round(static_cast<double>(value)));
    default:
      return format_float(value);
  }
}

}  // namespace core
