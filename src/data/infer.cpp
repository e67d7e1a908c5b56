// Draft schema inference: one pass over a CSV collecting per-column value statistics.

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/json_writer.h"
#include "data/data.h"

namespace data {

namespace {

// docs/SCHEMA.md defaults plus the placeholders real lead exports use.
constexpr std::string_view kMissingTokens[] = {"", "NA", "N/A", "null", "None", "Select", "-",
                                               "nan", "#N/A"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower_char(a[i]) != lower_char(b[i])) return false;
  }
  return true;
}

// Index into kMissingTokens, or -1.
int missing_token(std::string_view cell) {
  const std::string_view t = trim(cell);
  for (size_t i = 0; i < std::size(kMissingTokens); ++i) {
    if (iequals(t, kMissingTokens[i])) return static_cast<int>(i);
  }
  return -1;
}

bool parse_double(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(v);
}

bool is_integer_text(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (s.empty() || s.size() > 15) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_bool_word(std::string_view s) {
  static constexpr std::string_view kWords[] = {"true", "false", "yes", "no", "y", "n"};
  for (auto w : kWords) {
    if (iequals(s, w)) return true;
  }
  return false;
}

// "2024-03-15", "2024-03-15T10:20:30+05:30", "2024-03-15 10:20".
bool is_timestamp(std::string_view s) {
  if (s.size() < 10) return false;
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return s[4] == '-' && s[7] == '-' && (s.size() == 10 || s[10] == 'T' || s[10] == ' ');
}

// Portal money text: "90L", "1.2 cr", "₹1,20,00,000", "80 lakh - 1 crore", "25k".
// Returns 0 if not money, 1 if a plain number, 2 if it carries a unit or currency mark.
int money_kind(std::string_view s) {
  std::string t = lower(trim(s));
  bool marked = false;
  for (std::string_view prefix : {"\xE2\x82\xB9", "rs.", "rs", "inr"}) {
    size_t k;
    while ((k = t.find(prefix)) != std::string::npos) {
      t.erase(k, prefix.size());
      marked = true;
    }
  }
  static constexpr std::string_view kUnits[] = {"l",  "lk",    "lac",    "lacs", "lakh", "lakhs",
                                                "cr", "crs",   "crore",  "crores", "k", "to",
                                                "thousand"};
  bool digit = false;
  size_t i = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c >= 'a' && c <= 'z') {
      size_t j = i;
      while (j < t.size() && t[j] >= 'a' && t[j] <= 'z') ++j;
      const std::string_view word(t.data() + i, j - i);
      if (std::find(std::begin(kUnits), std::end(kUnits), word) == std::end(kUnits)) return 0;
      marked = true;
      i = j;
      continue;
    }
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != ',' && c != '.' && c != ' ' && c != '-' && c != '+') {
      return 0;
    }
    ++i;
  }
  if (!digit) return 0;
  return marked ? 2 : 1;
}

std::vector<std::string> name_tokens(std::string_view name) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : lower(name)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      cur.push_back(c);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool has_token(const std::vector<std::string>& tokens,
               std::initializer_list<std::string_view> words) {
  for (const auto& t : tokens) {
    for (auto w : words) {
      if (t == w) return true;
    }
  }
  return false;
}

bool is_id_like(std::string_view name) {
  return has_token(name_tokens(name), {"id", "uuid", "key"});
}

struct ColumnStats {
  uint64_t present = 0;
  uint64_t missing = 0;
  bool all_int = true, all_num = true, all_bool_word = true, all_01 = true, all_time = true,
       all_money = true, any_money_mark = false, multiline = false;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  size_t max_len = 0;
  bool overflow = false;  // more distinct values than tracked
  std::unordered_map<std::string, uint64_t> counts;
  std::vector<std::string> order;  // first-seen order of distinct values
  std::unordered_set<std::string> all_distinct;  // for id detection, capped
  bool unique = true;
  bool track_unique = false;  // only id-like columns: a set of every value is expensive
};

constexpr size_t kUniqueTrackCap = 2'000'000;

void observe(ColumnStats& s, std::string_view raw, size_t max_categories) {
  const std::string_view v = trim(raw);
  s.present++;
  s.max_len = std::max(s.max_len, raw.size());
  if (raw.find('\n') != std::string_view::npos) s.multiline = true;
  double d = 0;
  const bool num = parse_double(v, d);
  if (!num) s.all_num = false;
  if (!is_integer_text(v)) s.all_int = false;
  if (num) {
    s.min = std::min(s.min, d);
    s.max = std::max(s.max, d);
  }
  if (!is_bool_word(v)) s.all_bool_word = false;
  if (v != "0" && v != "1") s.all_01 = false;
  if (!is_timestamp(v)) s.all_time = false;
  if (s.all_money) {
    const int m = money_kind(v);
    if (m == 0) s.all_money = false;
    if (m == 2) s.any_money_mark = true;
  }
  if (!s.overflow) {
    auto it = s.counts.find(std::string(v));
    if (it != s.counts.end()) {
      ++it->second;
    } else if (s.counts.size() >= max_categories) {
      s.overflow = true;
      s.counts.clear();
      s.order.clear();
    } else {
      s.counts.emplace(std::string(v), 1);
      s.order.emplace_back(v);
    }
  }
  if (s.track_unique && s.unique && s.all_distinct.size() < kUniqueTrackCap) {
    if (!s.all_distinct.emplace(v).second) s.unique = false;
  }
}

std::string describe(std::string_view name) {
  std::string out;
  for (char c : name) out.push_back(c == '_' ? ' ' : c);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

}  // namespace

core::Result<std::string> infer_schema(CsvReader& reader, const InferOptions& opt,
                                       std::string* summary) {
  LS_TRY(reader.read_header());
  const auto& header = reader.header();
  if (!opt.label.empty() && reader.column(opt.label) < 0) {
    return core::make_error("unknown_field", "label column '" + opt.label + "' is not in the header",
                            opt.label);
  }
  std::vector<ColumnStats> stats(header.size());
  for (size_t c = 0; c < header.size(); ++c) stats[c].track_unique = is_id_like(header[c]);
  bool seen_token[std::size(kMissingTokens)] = {};
  std::vector<std::string> extra_tokens;  // spellings of seen tokens not in our list's case
  for (;;) {
    LS_ASSIGN_OR_RETURN(bool got, reader.next());
    if (!got) break;
    const auto rec = reader.record();
    for (size_t c = 0; c < rec.size(); ++c) {
      const int m = missing_token(rec[c]);
      if (m >= 0) {
        stats[c].missing++;
        seen_token[m] = true;
        const std::string_view t = trim(rec[c]);
        if (t != kMissingTokens[m] &&
            std::find(extra_tokens.begin(), extra_tokens.end(), t) == extra_tokens.end()) {
          extra_tokens.emplace_back(t);
        }
        continue;
      }
      observe(stats[c], rec[c], opt.max_categories);
    }
  }
  const uint64_t rows = reader.records_read();

  std::string out = "{\n  \"name\": ";
  core::append_json_string(out, opt.name);
  out += ",\n  \"version\": 1,\n  \"unknown_fields\": \"ignore\",\n  \"missing_tokens\": [";
  {
    bool first = true;
    for (size_t i = 0; i < std::size(kMissingTokens); ++i) {
      // Always the docs/SCHEMA.md defaults; others only when the file uses them.
      if (!(i <= 4 || seen_token[i])) continue;
      if (!first) out += ", ";
      first = false;
      core::append_json_string(out, kMissingTokens[i]);
    }
    for (const auto& t : extra_tokens) {
      out += ", ";
      core::append_json_string(out, t);
    }
  }
  out += "],\n  \"fields\": [\n";

  bool have_id = false;
  for (size_t c = 0; c < header.size(); ++c) {
    const ColumnStats& s = stats[c];
    const std::string& name = header[c];
    const auto tokens = name_tokens(name);
    std::string type, role = "feature";
    const bool has_values = s.present > 0;
    if (!has_values) {
      type = "text";
    } else if (s.all_bool_word || s.all_01) {
      type = "boolean";
    } else if (s.all_int) {
      type = "integer";
    } else if (s.all_num) {
      type = "number";
    } else if (s.all_time) {
      type = "timestamp";
    } else if (s.all_money && s.any_money_mark) {
      type = "money_inr";
    } else if (!s.overflow && s.max_len <= 64 && !s.multiline) {
      type = "category";
    } else {
      type = "text";
    }
    const bool id_like = is_id_like(name);
    const bool pii_name =
        has_token(tokens, {"phone", "mobile", "mob", "contact", "msisdn", "aadhaar", "aadhar", "pan"}) ||
        (has_token(tokens, {"email", "mail"}) && type != "integer" && type != "number" &&
         type != "boolean") ||
        // "campaign_name" with repeated values is a category, not a person's name.
        (has_token(tokens, {"name", "fullname", "firstname", "lastname", "surname"}) &&
         (type == "text" || (type == "category" && s.order.size() * 2 > s.present))) ||
        has_token(tokens, {"address"});
    if (name == opt.label) {
      role = "label";
      if (type != "boolean" && type != "integer" && type != "number") type = "category";
    } else if (pii_name) {
      role = "pii";
      type = "text";
    } else if (!have_id && id_like && s.unique && s.missing == 0 && has_values) {
      role = "id";
      type = "id";
      have_id = true;
    } else if (has_token(tokens, {"probability", "prediction", "predicted"})) {
      role = "ignore";  // an earlier model's output: a leak, not a feature
    } else if (type == "timestamp") {
      role = "meta";
    } else if ((type == "text" || type == "category") &&
               has_token(tokens, {"notes", "note", "comment", "comments", "remarks", "remark",
                                  "message", "description", "query", "requirement"})) {
      type = "text";
      role = "text-for-rerank";
    } else if (type == "text") {
      role = "meta";
    } else if (iequals(name, "consent") && type == "boolean") {
      role = "consent";
    }
    std::string field;
    core::JsonWriter j(field);
    j.begin_object();
    j.field("name", std::string_view(name));
    j.field("type", std::string_view(type));
    j.field("role", std::string_view(role));
    if (type == "category" && role != "label") {
      // Schemas match categories case-insensitively: merge case variants under their most
      // frequent spelling, then order by frequency.
      std::vector<std::pair<std::string, uint64_t>> merged;  // spelling, total count
      std::vector<uint64_t> best;                             // count of the chosen spelling
      for (const auto& v : s.order) {
        const uint64_t n = s.counts.at(v);
        auto it = std::find_if(merged.begin(), merged.end(),
                               [&](const auto& m) { return iequals(m.first, v); });
        if (it == merged.end()) {
          merged.emplace_back(v, n);
          best.push_back(n);
          continue;
        }
        const size_t k = static_cast<size_t>(it - merged.begin());
        it->second += n;
        if (n > best[k]) {
          best[k] = n;
          it->first = v;
        }
      }
      std::stable_sort(merged.begin(), merged.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      std::vector<std::string> cats;
      for (auto& m : merged) cats.push_back(std::move(m.first));
      j.key("categories").begin_array();
      for (const auto& v : cats) j.value(std::string_view(v));
      j.end_array();
    }
    if ((type == "integer" || type == "number" || type == "money_inr") && role == "feature" &&
        s.all_num && s.min >= 0) {
      j.field("min", int64_t{0});  // observed non-negative; a human sets the real bounds
    }
    if (type == "text" && role != "pii") {
      j.field("max_length", static_cast<int64_t>(std::max<size_t>(2000, s.max_len)));
    }
    if (name == "age" && (type == "integer" || type == "number")) j.field("age", true);
    j.field("description", std::string_view(describe(name)));
    if (summary != nullptr) {
      char line[256];
      std::snprintf(line, sizeof line, "%-28s %-10s %-16s missing %5.1f%%", name.c_str(),
                    type.c_str(), role.c_str(),
                    rows ? 100.0 * static_cast<double>(s.missing) / static_cast<double>(rows) : 0.0);
      *summary += line;
      if (has_values && s.all_num) {
        std::snprintf(line, sizeof line, "  range [%g, %g]", s.min, s.max);
        *summary += line;
      }
      if (type == "category") {
        std::snprintf(line, sizeof line, "  %zu categories", s.order.size());
        *summary += line;
      }
      if (s.overflow && type == "text") *summary += "  (too many distinct values for a category)";
      *summary += '\n';
    }
    j.end_object();
    out += "    ";
    out += field;
    out += c + 1 < header.size() ? ",\n" : "\n";
  }
  out += "  ]\n}\n";
  return out;
}

}  // namespace data
