// Schema loading and validation (format: docs/SCHEMA.md).

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/core.h"
#include "core/text_util.h"

namespace core {
namespace {

constexpr size_t kMaxFieldNameLength = 128;
constexpr size_t kDefaultIdMaxLength = 128;
constexpr size_t kLinearCategoryScan = 8;  // longer category lists get a hash index
constexpr size_t kMaxIndexedCategoryLength = 256;

struct TypeName {
  FieldType value;
  std::string_view name;
};
constexpr TypeName kTypeNames[] = {
    {FieldType::Number, "number"},   {FieldType::Integer, "integer"},
    {FieldType::Boolean, "boolean"}, {FieldType::Category, "category"},
    {FieldType::Text, "text"},       {FieldType::Timestamp, "timestamp"},
    {FieldType::Id, "id"},           {FieldType::MoneyInr, "money_inr"},
};
struct RoleName {
  FieldRole value;
  std::string_view name;
};
constexpr RoleName kRoleNames[] = {
    {FieldRole::Feature, "feature"}, {FieldRole::Label, "label"},
    {FieldRole::Pii, "pii"},         {FieldRole::Id, "id"},
    {FieldRole::Consent, "consent"}, {FieldRole::TextForRerank, "text-for-rerank"},
    {FieldRole::Meta, "meta"},       {FieldRole::Ignore, "ignore"},
};

// Finds `name` in a {value, name} table.
template <typename Table, typename T>
bool lookup(const Table& table, std::string_view name, T& out) {
  for (const auto& entry : table) {
    if (entry.name == name) {
      out = entry.value;
      return true;
    }
  }
  return false;
}

tl::unexpected<Error> invalid(std::string message, std::string field = {}) {
  return make_error("schema_invalid", std::move(message), std::move(field));
}

tl::unexpected<Error> invalid_field(const std::string& field, const std::string& problem) {
  return invalid("field '" + field + "': " + problem, field);
}

bool is_numeric(FieldType t) {
  return t == FieldType::Number || t == FieldType::Integer || t == FieldType::MoneyInr;
}

bool role_accepts_type(FieldRole role, FieldType type) {
  switch (role) {
    case FieldRole::Feature:
      return type != FieldType::Text && type != FieldType::Id;
    case FieldRole::Label:
      return type == FieldType::Boolean || type == FieldType::Number || type == FieldType::Integer;
    case FieldRole::Id:
      return type == FieldType::Id;
    case FieldRole::Consent:
      return type == FieldType::Boolean;
    case FieldRole::TextForRerank:
      return type == FieldType::Text;
    case FieldRole::Pii:
    case FieldRole::Meta:
    case FieldRole::Ignore:
      return true;
  }
  return false;
}

std::string_view json_kind(simdjson::dom::element_type t) {
  using simdjson::dom::element_type;
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

Result<double> get_number(simdjson::dom::element e, const std::string& field,
                          std::string_view key) {
  double d = 0;
  if (e.get_double().get(d) != simdjson::SUCCESS || !std::isfinite(d)) {
    return invalid_field(field,
                         detail::cat("'", key, "' must be a number, got ", json_kind(e.type())));
  }
  return d;
}

Result<std::string_view> get_string(simdjson::dom::element e, const std::string& field,
                                    std::string_view key) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) {
    std::string msg = detail::cat("'", key, "' must be a string, got ", json_kind(e.type()));
    return field.empty() ? invalid(msg) : invalid_field(field, msg);
  }
  return s;
}

Result<FieldSpec> parse_field(simdjson::dom::element e, size_t position) {
  simdjson::dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) {
    return invalid("fields[" + std::to_string(position) + "] must be an object");
  }
  FieldSpec f;
  // The name first, so every later error can name the field.
  simdjson::dom::element name_el;
  if (obj["name"].get(name_el) != simdjson::SUCCESS) {
    return invalid("fields[" + std::to_string(position) + "] has no 'name'");
  }
  std::string_view name;
  if (name_el.get_string().get(name) != simdjson::SUCCESS) {
    return invalid("fields[" + std::to_string(position) + "]: 'name' must be a string");
  }
  if (detail::trim(name).empty() || detail::trim(name) != name) {
    return invalid("fields[" + std::to_string(position) +
                   "]: 'name' must be non-empty without surrounding spaces");
  }
  if (name.size() > kMaxFieldNameLength) {
    return invalid("fields[" + std::to_string(position) + "]: 'name' longer than " +
                   std::to_string(kMaxFieldNameLength) + " characters");
  }
  f.name = std::string(name);
  f.description = f.name;

  bool has_type = false, has_role = false, has_categories = false, has_max_length = false;
  bool has_min = false, has_max = false;
  for (auto [key, value] : obj) {
    if (key == "name") continue;
    if (key == "type") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, f.name, key));
      if (!lookup(kTypeNames, s, f.type)) {
        return invalid_field(f.name, detail::cat("unknown type '", s,
                                                 "' (number, integer, boolean, category, text, "
                                                 "timestamp, id, money_inr)"));
      }
      has_type = true;
    } else if (key == "role") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, f.name, key));
      if (!lookup(kRoleNames, s, f.role)) {
        return invalid_field(f.name, detail::cat("unknown role '", s,
                                                 "' (feature, label, pii, id, consent, "
                                                 "text-for-rerank, meta, ignore)"));
      }
      has_role = true;
    } else if (key == "description") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, f.name, key));
      if (!detail::trim(s).empty()) f.description = std::string(detail::trim(s));
    } else if (key == "categories") {
      simdjson::dom::array arr;
      if (value.get_array().get(arr) != simdjson::SUCCESS) {
        return invalid_field(f.name, "'categories' must be an array of strings");
      }
      for (auto c : arr) {
        LS_ASSIGN_OR_RETURN(auto s, get_string(c, f.name, "categories[]"));
        auto t = detail::trim(s);
        if (t.empty()) return invalid_field(f.name, "empty category");
        if (t.size() > kMaxIndexedCategoryLength) {
          return invalid_field(f.name, "category longer than 256 bytes");
        }
        for (const auto& prev : f.categories) {
          if (detail::iequals(prev, t)) {
            return invalid_field(f.name, "duplicate category '" + std::string(t) +
                                             "' (categories match case-insensitively)");
          }
        }
        f.categories.emplace_back(t);
      }
      has_categories = true;
    } else if (key == "min") {
      LS_ASSIGN_OR_RETURN(f.min, get_number(value, f.name, key));
      has_min = true;
    } else if (key == "max") {
      LS_ASSIGN_OR_RETURN(f.max, get_number(value, f.name, key));
      has_max = true;
    } else if (key == "out_of_range") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, f.name, key));
      if (s == "clamp") {
        f.clamp = true;
      } else if (s != "reject") {
        return invalid_field(f.name, "'out_of_range' must be \"reject\" or \"clamp\"");
      }
    } else if (key == "missing") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, f.name, key));
      if (s == "reject") {
        f.missing_allowed = false;
      } else if (s != "allow") {
        return invalid_field(f.name, "'missing' must be \"allow\" or \"reject\"");
      }
    } else if (key == "age") {
      bool b = false;
      if (value.get_bool().get(b) != simdjson::SUCCESS) {
        return invalid_field(f.name, "'age' must be true or false");
      }
      f.is_age = b;
    } else if (key == "max_length") {
      int64_t n = 0;
      if (value.get_int64().get(n) != simdjson::SUCCESS || n <= 0) {
        return invalid_field(f.name, "'max_length' must be a positive integer");
      }
      f.max_length = static_cast<size_t>(n);
      has_max_length = true;
    } else {
      return invalid_field(f.name, "unknown key '" + std::string(key) + "'");
    }
  }

  if (!has_type) return invalid_field(f.name, "missing 'type'");
  if (!has_role) return invalid_field(f.name, "missing 'role'");
  if (!role_accepts_type(f.role, f.type)) {
    return invalid_field(f.name, "role '" + std::string(to_string(f.role)) +
                                     "' cannot have type '" + std::string(to_string(f.type)) + "'");
  }
  if (f.type == FieldType::Id && f.role != FieldRole::Id && f.role != FieldRole::Pii &&
      f.role != FieldRole::Meta && f.role != FieldRole::Ignore) {
    return invalid_field(f.name, "type 'id' is only for roles id, pii, meta or ignore");
  }
  if (has_categories && f.type != FieldType::Category) {
    return invalid_field(f.name, "'categories' given for type '" + std::string(to_string(f.type)) +
                                     "' (only for category)");
  }
  if (f.type == FieldType::Category && f.role != FieldRole::Pii && f.role != FieldRole::Ignore &&
      f.categories.empty()) {
    return invalid_field(f.name, "type 'category' needs a non-empty 'categories' list");
  }
  if ((has_min || has_max) && !is_numeric(f.type)) {
    return invalid_field(f.name, "'min'/'max' only apply to number, integer and money_inr");
  }
  if (has_min && has_max && f.min > f.max) {
    return invalid_field(f.name, "'min' is greater than 'max'");
  }
  if (f.clamp && !has_min && !has_max) {
    return invalid_field(f.name, "'out_of_range': \"clamp\" needs 'min' or 'max'");
  }
  if (has_max_length && f.type != FieldType::Text && f.type != FieldType::Id) {
    return invalid_field(f.name, "'max_length' only applies to text and id");
  }
  if (!has_max_length && f.type == FieldType::Id) f.max_length = kDefaultIdMaxLength;
  if (f.is_age && f.type != FieldType::Number && f.type != FieldType::Integer) {
    return invalid_field(f.name, "'age' needs type number or integer");
  }
  if (f.is_age &&
      (f.role == FieldRole::Pii || f.role == FieldRole::Ignore || f.role == FieldRole::Label)) {
    return invalid_field(f.name, "'age' field must have role feature or meta");
  }
  if (!f.missing_allowed && (f.role == FieldRole::Pii || f.role == FieldRole::Ignore)) {
    return invalid_field(f.name, "'missing': \"reject\" has no effect on role '" +
                                     std::string(to_string(f.role)) + "'");
  }
  return f;
}

}  // namespace

std::string_view to_string(FieldType type) {
  for (const auto& t : kTypeNames) {
    if (t.value == type) return t.name;
  }
  return "?";
}

std::string_view to_string(FieldRole role) {
  for (const auto& r : kRoleNames) {
    if (r.value == role) return r.name;
  }
  return "?";
}

const FieldSpec* Schema::field(std::string_view name) const {
  int i = field_index(name);
  return i < 0 ? nullptr : &fields_[static_cast<size_t>(i)];
}

int Schema::field_index(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : static_cast<int>(it->second);
}

std::vector<const FieldSpec*> Schema::text_fields() const {
  std::vector<const FieldSpec*> out;
  for (const auto& f : fields_) {
    if (f.role == FieldRole::TextForRerank) out.push_back(&f);
  }
  return out;
}

int Schema::category_code(const FieldSpec& f, std::string_view value) const {
  const auto t = detail::trim(value);
  const auto n = static_cast<int>(f.categories.size());
  const auto k = static_cast<size_t>(&f - fields_.data());
  if (&f >= fields_.data() && k < fields_.size() && !category_index_[k].empty()) {
    char buf[kMaxIndexedCategoryLength];
    if (t.size() > sizeof buf) return n;  // longer than every indexed category
    for (size_t i = 0; i < t.size(); ++i) buf[i] = detail::ascii_lower(t[i]);
    auto it = category_index_[k].find(std::string_view(buf, t.size()));
    return it == category_index_[k].end() ? n : it->second;
  }
  for (int c = 0; c < n; ++c) {
    if (detail::iequals(f.categories[static_cast<size_t>(c)], t)) return c;
  }
  return n;
}

bool Schema::is_missing_token(std::string_view value) const {
  auto t = detail::trim(value);
  if (t.empty()) return true;
  for (const auto& tok : missing_tokens_) {
    if (detail::iequals(tok, t)) return true;
  }
  return false;
}

std::string Schema::to_json() const {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("name", name_);
  if (version_is_number_) {
    w.key("version").raw(version_);
  } else {
    w.field("version", version_);
  }
  if (!description_.empty()) w.field("description", description_);
  w.field("unknown_fields", reject_unknown_ ? "reject" : "ignore");
  w.key("missing_tokens").begin_array();
  for (const auto& t : missing_tokens_) w.value(t);
  w.end_array();
  w.key("fields").begin_array();
  for (const auto& f : fields_) {
    w.begin_object();
    w.field("name", f.name);
    w.field("type", to_string(f.type));
    w.field("role", to_string(f.role));
    if (f.description != f.name) w.field("description", f.description);
    if (f.type == FieldType::Category && !f.categories.empty()) {
      w.key("categories").begin_array();
      for (const auto& c : f.categories) w.value(c);
      w.end_array();
    }
    if (!std::isnan(f.min)) w.field("min", f.min);
    if (!std::isnan(f.max)) w.field("max", f.max);
    if (f.clamp) w.field("out_of_range", "clamp");
    if (!f.missing_allowed) w.field("missing", "reject");
    if (f.is_age) w.field("age", true);
    if (f.max_length != 0) w.field("max_length", static_cast<uint64_t>(f.max_length));
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

Result<std::shared_ptr<const Schema>> parse_schema(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size(), true).get(root); err) {
    return invalid(std::string("not valid JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return invalid("the schema must be a JSON object");
  }
  auto schema = std::make_shared<Schema>();
  schema->missing_tokens_ = {"", "na", "n/a", "null", "none"};
  bool has_name = false, has_version = false, has_fields = false;
  simdjson::dom::array fields;
  for (auto [key, value] : obj) {
    if (key == "name") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, {}, key));
      if (detail::trim(s).empty()) return invalid("'name' must not be empty");
      schema->name_ = std::string(s);
      has_name = true;
    } else if (key == "version") {
      if (value.is_string()) {
        std::string_view s = value.get_string().value_unsafe();
        if (detail::trim(s).empty()) return invalid("'version' must not be empty");
        schema->version_ = std::string(s);
      } else if (int64_t n = 0; value.get_int64().get(n) == simdjson::SUCCESS) {
        schema->version_ = std::to_string(n);
        schema->version_is_number_ = true;
      } else {
        return invalid("'version' must be an integer or a string");
      }
      has_version = true;
    } else if (key == "description") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, {}, key));
      schema->description_ = std::string(s);
    } else if (key == "unknown_fields") {
      LS_ASSIGN_OR_RETURN(auto s, get_string(value, {}, key));
      if (s == "reject") {
        schema->reject_unknown_ = true;
      } else if (s != "ignore") {
        return invalid("'unknown_fields' must be \"ignore\" or \"reject\"");
      }
    } else if (key == "missing_tokens") {
      simdjson::dom::array arr;
      if (value.get_array().get(arr) != simdjson::SUCCESS) {
        return invalid("'missing_tokens' must be an array of strings");
      }
      schema->missing_tokens_.clear();
      for (auto t : arr) {
        LS_ASSIGN_OR_RETURN(auto s, get_string(t, {}, "missing_tokens[]"));
        auto tok = detail::lower(detail::trim(s));
        bool dup = false;
        for (const auto& prev : schema->missing_tokens_) dup = dup || prev == tok;
        if (!dup) schema->missing_tokens_.push_back(std::move(tok));
      }
    } else if (key == "fields") {
      if (value.get_array().get(fields) != simdjson::SUCCESS) {
        return invalid("'fields' must be an array");
      }
      has_fields = true;
    } else {
      return invalid("unknown top-level key '" + std::string(key) + "'");
    }
  }
  if (!has_name) return invalid("missing 'name'");
  if (!has_version) return invalid("missing 'version'");
  if (!has_fields) return invalid("missing 'fields'");

  size_t position = 0;
  for (auto e : fields) {
    LS_ASSIGN_OR_RETURN(auto f, parse_field(e, position));
    if (schema->by_name_.count(f.name) != 0) {
      return invalid_field(f.name, "duplicate field name");
    }
    const size_t index = schema->fields_.size();
    auto claim = [&](int& slot, std::string_view what) -> Status {
      if (slot >= 0) {
        return invalid_field(f.name, "second " + std::string(what) + " field (first is '" +
                                         schema->fields_[static_cast<size_t>(slot)].name + "')");
      }
      slot = static_cast<int>(index);
      return ok();
    };
    if (f.role == FieldRole::Id) LS_TRY(claim(schema->id_, "id"));
    if (f.role == FieldRole::Label) LS_TRY(claim(schema->label_, "label"));
    if (f.role == FieldRole::Consent) LS_TRY(claim(schema->consent_, "consent"));
    if (f.is_age) LS_TRY(claim(schema->age_, "age"));
    if (f.role == FieldRole::Feature) {
      f.feature_index = static_cast<int>(schema->feature_fields_.size());
      schema->feature_fields_.push_back(index);
      schema->feature_names_.push_back(f.name);
    }
    schema->by_name_.emplace(f.name, index);
    schema->fields_.push_back(std::move(f));
    ++position;
  }
  // Hash lookup pays off over a linear case-insensitive scan for long lists (localities).
  schema->category_index_.resize(schema->fields_.size());
  for (size_t k = 0; k < schema->fields_.size(); ++k) {
    const auto& cats = schema->fields_[k].categories;
    if (cats.size() <= kLinearCategoryScan) continue;
    for (size_t c = 0; c < cats.size(); ++c) {
      schema->category_index_[k].emplace(detail::lower(cats[c]), static_cast<int>(c));
    }
  }
  if (schema->id_ < 0) return invalid("no field with role 'id' (every schema needs a lead id)");
  if (schema->feature_fields_.empty()) return invalid("no field with role 'feature'");
  return std::shared_ptr<const Schema>(std::move(schema));
}

Result<std::shared_ptr<const Schema>> load_schema(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error("schema_unreadable", "cannot open schema file " + path.string());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return make_error("schema_unreadable", "cannot read schema file " + path.string());
  }
  auto r = parse_schema(ss.str());
  if (!r) {
    auto e = std::move(r).error();
    e.message = path.filename().string() + ": " + e.message;
    return tl::unexpected<Error>(std::move(e));
  }
  return r;
}

}  // namespace core
