#pragma once
// core: the lead schema, the Lead value, feature encoding, PII policy and errors.
// Every other module depends on core; core depends on nothing of ours.
// The schema file format and the encoding are specified in docs/SCHEMA.md.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "core/result.h"

namespace core {

// ---------------------------------------------------------------------------------------------
// Schema

enum class FieldType { Number, Integer, Boolean, Category, Text, Timestamp, Id, MoneyInr };
enum class FieldRole { Feature, Label, Pii, Id, Consent, TextForRerank, Meta, Ignore };

// Spelling in schema files: "number", "money_inr", "text-for-rerank", ...
std::string_view to_string(FieldType type);
std::string_view to_string(FieldRole role);

struct FieldSpec {
  std::string name;
  std::string description;  // human words for reasons; defaults to `name`
  FieldType type = FieldType::Number;
  FieldRole role = FieldRole::Feature;
  std::vector<std::string> categories;  // Category only; the implicit `other` is code size()
  double min = std::numeric_limits<double>::quiet_NaN();  // NaN = unbounded
  double max = std::numeric_limits<double>::quiet_NaN();  // NaN = unbounded
  bool clamp = false;           // out of range: clamp instead of field_out_of_range
  bool missing_allowed = true;  // false: absent/missing value is `missing_field`
  bool is_age = false;          // holds the lead's declared age (minors are not processed)
  size_t max_length = 0;        // Text/Id: max length in Unicode code points; 0 = unlimited
  int feature_index = -1;       // column in the encoded row; -1 if not a feature
};

// An immutable lead schema. Share it as std::shared_ptr<const Schema>; all methods are
// const and thread-safe.
class Schema {
 public:
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::vector<FieldSpec>& fields() const { return fields_; }
  // nullptr when the schema has no field of that name.
  const FieldSpec* field(std::string_view name) const;
  // Index of `name` in fields(), or -1.
  int field_index(std::string_view name) const;

  size_t feature_count() const { return feature_fields_.size(); }
  // Model column order (the order of role:feature fields in the file).
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const FieldSpec& feature_field(size_t i) const { return fields_[feature_fields_[i]]; }

  const FieldSpec* label_field() const { return opt(label_); }
  const FieldSpec* id_field() const { return opt(id_); }
  const FieldSpec* consent_field() const { return opt(consent_); }
  const FieldSpec* age_field() const { return opt(age_); }
  // Fields with role text-for-rerank, in schema order.
  std::vector<const FieldSpec*> text_fields() const;

  // Code of `value` among f's categories (matched trimmed, ASCII case-insensitively), or
  // f.categories.size() (the implicit `other`) when unknown. f must be a Category field.
  int category_code(const FieldSpec& f, std::string_view value) const;

  // True when `value` (trimmed, case-insensitive) is one of the schema's missing tokens.
  bool is_missing_token(std::string_view value) const;
  const std::vector<std::string>& missing_tokens() const { return missing_tokens_; }
  bool unknown_fields_rejected() const { return reject_unknown_; }

  // Canonical JSON of this schema; parse_schema(to_json()) gives an equal schema.
  std::string to_json() const;

 private:
  friend Result<std::shared_ptr<const Schema>> parse_schema(std::string_view json);
  const FieldSpec* opt(int i) const { return i < 0 ? nullptr : &fields_[static_cast<size_t>(i)]; }

  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::string name_;
  std::string version_;
  bool version_is_number_ = false;
  std::string description_;
  bool reject_unknown_ = false;
  std::vector<std::string> missing_tokens_;  // stored lower-cased and trimmed
  std::vector<FieldSpec> fields_;
  std::vector<size_t> feature_fields_;
  std::vector<std::string> feature_names_;
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> by_name_;
  // Per field (same index as fields_): lower-cased category -> code, for long category lists.
  std::vector<std::unordered_map<std::string, int, NameHash, std::equal_to<>>> category_index_;
  int label_ = -1, id_ = -1, consent_ = -1, age_ = -1;
};

// Parses a schema (docs/SCHEMA.md). Errors: `schema_invalid`, message naming the field and
// the problem, `field` set to the offending field name when there is one.
Result<std::shared_ptr<const Schema>> parse_schema(std::string_view json);
// Reads and parses a schema file. Extra error: `schema_unreadable` (cannot open/read).
Result<std::shared_ptr<const Schema>> load_schema(const std::filesystem::path& path);

// ---------------------------------------------------------------------------------------------
// Lead

// One lead as leadscore holds it. Never contains a PII field's value, an unknown field, or
// contact details in free text (texts are scrubbed while parsing).
struct Lead {
  std::string id;               // empty when the lead has no id (allowed unless the id field
                                // says "missing": "reject")
  std::vector<float> features;  // encoded row, size feature_count(); NaN = missing
  std::vector<std::pair<std::string, std::string>> texts;  // text-for-rerank field -> scrubbed
  std::vector<std::pair<std::string, std::string>> meta;   // meta field -> normalised value
  std::optional<bool> consent;
  std::optional<float> label;
  std::optional<double> age;
  std::vector<std::string> missing_fields;  // feature fields absent or missing-token
};

// Lead-id privacy policy while parsing: a client-sent lead id that looks like a phone number,
// e-mail, PAN or Aadhaar is refused with `lead_id_looks_like_pii` unless `pseudonymise_lead_id`
// is set, in which case the id is replaced by its result (e.g. a keyed hash).
struct ParseOptions {
  std::function<std::string(std::string_view)> pseudonymise_lead_id;
};

// Parses one lead object against `schema`. Error codes (field = the field's name):
//   not_an_object, field_type_mismatch, field_out_of_range, unknown_field (schema rejects
//   unknowns), missing_field (missing:reject), missing_lead_id (id field with missing:reject),
//   field_too_long, invalid_money, invalid_timestamp, lead_id_looks_like_pii.
// Error messages name fields but never contain a value.
Result<Lead> parse_lead(const Schema& schema, simdjson::dom::element object,
                        const ParseOptions& options = {});
// Same, reusing `out`'s buffers (the scoring hot path: no allocation per lead once warm).
// On error `out` is left in an unspecified but valid state (never holding PII).
Status parse_lead_into(const Schema& schema, simdjson::dom::element object, Lead& out,
                       const ParseOptions& options = {});
// Same from JSON text; extra error `invalid_json`. Uses a thread-local parser.
Result<Lead> parse_lead_json(const Schema& schema, std::string_view json,
                             const ParseOptions& options = {});

// Parses CSV records (cells as strings) with the same value rules as JSON. Made once per file
// from its header; thread-safe to use from many threads.
class RecordParser {
 public:
  struct Options {
    bool require_label = false;  // training: the label column must exist and every row has one
    ParseOptions parse;
  };
  // Errors: `missing_column` (label when require_label, or a missing:reject field),
  // `duplicate_column`, `unknown_field` (schema rejects unknown columns).
  static Result<RecordParser> create(std::shared_ptr<const Schema> schema,
                                     const std::vector<std::string>& header, Options options);
  static Result<RecordParser> create(std::shared_ptr<const Schema> schema,
                                     const std::vector<std::string>& header) {
    return create(std::move(schema), header, Options{});
  }
  // Errors: `column_count_mismatch` plus the parse_lead codes (`missing_field` for a missing
  // label when require_label).
  Result<Lead> parse(std::span<const std::string_view> cells) const;
  // Same, reusing `out`'s buffers (training reads millions of rows).
  Status parse_into(std::span<const std::string_view> cells, Lead& out) const;

  const Schema& schema() const { return *schema_; }
  size_t column_count() const { return column_field_.size(); }
  // The schema's feature fields the header lacks, in schema order (each row gets NaN for them).
  // create() does not refuse these; training and evaluation do (model::load_dataset).
  const std::vector<std::string>& absent_features() const { return absent_features_; }

 private:
  RecordParser() = default;
  std::shared_ptr<const Schema> schema_;
  std::vector<int> column_field_;  // column -> index in schema.fields(), -1 = unknown (ignored)
  std::vector<std::string> absent_features_;
  Options options_;
};

// True when the lead's declared age is under 18 (issue 9: `minor_not_processed`).
bool is_minor(const Lead& lead);

// ---------------------------------------------------------------------------------------------
// Values

// Parses an Indian money amount to lakhs (1 lakh = 100,000 rupees; 1 crore = 100 lakh).
// "90L", "90 lakh(s)", "Rs. 85 Lac", "1.2 cr(ore)", "₹1,20,00,000", "12000000", "25k",
// "80 lakh - 1 crore" (range -> midpoint), "1-1.5 Cr". A bare number (no unit) >= 100000 is
// rupees, below is lakhs. Error: `invalid_money`.
Result<double> parse_money_inr_lakh(std::string_view text);

// Parses ISO 8601 ("2024-03-15", "2024-03-15T10:20:30Z", "...+05:30", space instead of T) or
// epoch seconds to epoch seconds (UTC). Error: `invalid_timestamp`.
Result<double> parse_timestamp_seconds(std::string_view text);

// A date of the proleptic Gregorian calendar.
struct CivilDate {
  int64_t year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31
  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};
// The date `days` after 1970-01-01 (negative: before), UTC (Howard Hinnant's civil_from_days).
CivilDate civil_from_days(int64_t days);

// Words for an encoded feature value, for reasons: "yes"/"no", the category name, "other",
// "missing", a date for timestamps, or the number ("90 lakh" for money).
std::string describe_feature_value(const Schema& schema, size_t feature_index, float value);

// ---------------------------------------------------------------------------------------------
// Privacy

// Replaces contact details in free text with tokens: [phone], [email], [pan], [aadhaar].
// Handles +91/0091/0 prefixes, spaces, dashes, dots, parentheses, '/', '_' and the Unicode
// dashes and spaces (U+2010..U+2015, U+2212, U+FF0D, U+2009, U+202F, U+3000, ...), invisible
// marks (ZWSP, LRM, soft hyphen) even inside a digit run, number words between digit groups
// ("98 two 0..."), Devanagari digits, PAN as ABCPK-1234-F, obfuscated e-mails ("name at gmail
// dot com").
// Leaves ordinary numbers (budgets, BHK, years, sectors, pincodes) alone.
std::string scrub_contact_details(std::string_view text);
// Same into `out` (cleared first, capacity reused; must not alias `text`).
void scrub_contact_details(std::string_view text, std::string& out);

// True when a lead id is (only) a phone number, e-mail address, PAN or Aadhaar-like number.
// A lead id pseudonym ("p_" + 32 lowercase hex) never is, whatever digit runs its hex holds.
bool looks_like_pii(std::string_view lead_id);

// A client-sent name (e.g. an unknown JSON key) safe to repeat in an error: short, plain and
// not PII-looking; "" otherwise (a phone number used as a key is never echoed).
std::string displayable_name(std::string_view name);

}  // namespace core
