// Value parsers shared by JSON and CSV input: money in lakhs, timestamps, numbers.

#include "core/values.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/core.h"
#include "core/text_util.h"

namespace core {
namespace {

using detail::ascii_lower;
using detail::iequals;
using detail::trim;

constexpr double kRupeesPerLakh = 100000.0;

tl::unexpected<Error> bad_money(std::string message) {
  return make_error("invalid_money", std::move(message));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Strips a leading currency marker (₹, Rs, Rs., INR); returns true if one was there.
bool strip_currency(std::string_view& s) {
  s = trim(s);
  static constexpr std::string_view kRupeeSign = "\xE2\x82\xB9";  // ₹
  bool stripped = false;
  if (s.starts_with(kRupeeSign)) {
    s.remove_prefix(kRupeeSign.size());
    stripped = true;
  } else if (s.size() >= 3 && iequals(s.substr(0, 3), "inr")) {
    s.remove_prefix(3);
    stripped = true;
  } else if (s.size() >= 2 && iequals(s.substr(0, 2), "rs")) {
    s.remove_prefix(2);
    if (!s.empty() && s.front() == '.') s.remove_prefix(1);
    stripped = true;
  }
  s = trim(s);
  return stripped;
}

struct Amount {
  double value = 0;
  double lakhs_per_unit = 0;  // 0: no unit given
  bool currency = false;      // ₹/Rs/INR prefix
};

// Unit words, case-insensitive, an optional trailing '.' allowed ("Cr.").
double unit_in_lakhs(std::string_view unit) {
  if (!unit.empty() && unit.back() == '.') unit.remove_suffix(1);
  unit = trim(unit);
  static constexpr std::string_view kLakh[] = {"l", "lk", "lac", "lacs", "lakh", "lakhs", "lakhs"};
  static constexpr std::string_view kCrore[] = {"cr", "crs", "crore", "crores"};
  static constexpr std::string_view kThousand[] = {"k", "thousand"};
  for (auto u : kLakh)
    if (iequals(unit, u)) return 1.0;
  for (auto u : kCrore)
    if (iequals(unit, u)) return 100.0;
  for (auto u : kThousand)
    if (iequals(unit, u)) return 0.01;
  return 0;
}

Result<Amount> parse_amount(std::string_view s) {
  Amount a;
  a.currency = strip_currency(s);
  if (!s.empty() && s.back() == '+') s = trim(s.substr(0, s.size() - 1));  // "2 Cr+"
  size_t i = 0;
  while (i < s.size() && (is_digit(s[i]) || s[i] == ',' || s[i] == '.')) ++i;
  std::string_view number = s.substr(0, i);
  std::string_view unit = trim(s.substr(i));
  if (number.empty()) return bad_money("money value has no number");
  auto parsed = detail::parse_plain_number(number);
  if (!parsed) return bad_money("money value has a malformed number");
  a.value = *parsed;
  if (!unit.empty()) {
    a.lakhs_per_unit = unit_in_lakhs(unit);
    if (a.lakhs_per_unit == 0) return bad_money("unknown money unit (use L, lakh, cr, crore, k)");
  }
  return a;
}

double amount_to_lakhs(const Amount& a) {
  if (a.lakhs_per_unit != 0) return a.value * a.lakhs_per_unit;
  if (a.currency) return a.value / kRupeesPerLakh;  // "₹12000000": rupees
  return detail::bare_money_to_lakhs(a.value);
}

// Splits "a - b", "a – b", "a to b". Returns false when there is no range separator.
bool split_range(std::string_view s, std::string_view& left, std::string_view& right) {
  static constexpr std::string_view kSeparators[] = {"\xE2\x80\x93", "\xE2\x80\x94", "-"};
  for (auto sep : kSeparators) {
    auto pos = s.find(sep);
    if (pos != std::string_view::npos) {
      left = s.substr(0, pos);
      right = s.substr(pos + sep.size());
      return true;
    }
  }
  // " to " as a word.
  for (size_t pos = 1; pos + 3 < s.size(); ++pos) {
    if (detail::is_space(s[pos - 1]) && iequals(s.substr(pos, 2), "to") &&
        detail::is_space(s[pos + 2])) {
      left = s.substr(0, pos);
      right = s.substr(pos + 2);
      return true;
    }
  }
  return false;
}

// Portal qualifiers around an amount ("upto 80L", "approx 1.2 Cr", "90L negotiable") carry no
// number of their own: the stated amount is used.
std::string_view strip_qualifiers(std::string_view s) {
  static constexpr std::string_view kPrefixes[] = {
      "up to",   "upto",   "under",         "below",   "within", "max.", "max",
      "maximum", "min.",   "min",           "minimum", "above",  "over", "around",
      "approx.", "approx", "approximately", "about",   "budget", "~"};
  static constexpr std::string_view kSuffixes[] = {
      "approx.", "approx", "negotiable", "neg.", "onwards", "only", "max", "(negotiable)"};
  for (bool changed = true; changed;) {
    changed = false;
    for (auto p : kPrefixes) {
      if (s.size() > p.size() && iequals(s.substr(0, p.size()), p) &&
          (p == "~" || detail::is_space(s[p.size()]) || s[p.size()] == ':')) {
        s = trim(s.substr(p.size()));
        if (!s.empty() && s.front() == ':') s = trim(s.substr(1));
        changed = true;
      }
    }
    for (auto p : kSuffixes) {
      if (s.size() > p.size() && iequals(s.substr(s.size() - p.size()), p) &&
          detail::is_space(s[s.size() - p.size() - 1])) {
        s = trim(s.substr(0, s.size() - p.size()));
        changed = true;
      }
    }
  }
  return s;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

tl::unexpected<Error> bad_time() {
  return make_error("invalid_timestamp",
                    "timestamp must be ISO 8601 (2024-03-15, 2024-03-15T10:20:30Z) or epoch "
                    "seconds");
}

// Reads exactly `n` digits at s[pos].
bool read_digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!is_digit(s[pos + k])) return false;
    out = out * 10 + (s[pos + k] - '0');
  }
  pos += n;
  return true;
}

}  // namespace

CivilDate civil_from_days(int64_t days) {
  // Howard Hinnant's algorithm (the inverse of days_from_civil above).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

namespace detail {

Result<double> parse_plain_number(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return make_error("invalid_number", "empty number");
  std::string_view int_part = s;
  std::string_view rest;
  const auto dot = s.find_first_of(".eE");
  if (dot != std::string_view::npos) {
    int_part = s.substr(0, dot);
    rest = s.substr(dot);
  }
  std::string buffer;
  if (int_part.find(',') != std::string_view::npos) {
    // Digit grouping: Indian (1,20,00,000) or Western (12,000,000); validated so that
    // "1,2,3" or "12,,000" are not silently accepted.
    std::vector<std::string_view> groups;
    size_t start = 0;
    for (size_t k = 0; k <= int_part.size(); ++k) {
      if (k == int_part.size() || int_part[k] == ',') {
        groups.push_back(int_part.substr(start, k - start));
        start = k + 1;
      }
    }
    for (auto g : groups) {
      if (g.empty()) return make_error("invalid_number", "bad digit grouping");
      for (char c : g)
        if (!is_digit(c)) return make_error("invalid_number", "not a number");
    }
    const size_t middles = groups.size() - 2;
    size_t middle_len = 0;
    for (size_t k = 1; k + 1 < groups.size(); ++k) {
      if (middle_len == 0) middle_len = groups[k].size();
      if (groups[k].size() != middle_len || (middle_len != 2 && middle_len != 3)) {
        return make_error("invalid_number", "bad digit grouping");
      }
    }
    const size_t first_max = (middles > 0 && middle_len == 2) ? 2 : 3;
    if (groups.front().size() > first_max || groups.back().size() != 3) {
      return make_error("invalid_number", "bad digit grouping");
    }
    for (auto g : groups) buffer.append(g);
    buffer.append(rest);
    s = buffer;
  }
  if (s.empty() || !(is_digit(s.front()) || s.front() == '.' || s.front() == '-')) {
    return make_error("invalid_number", "not a number");
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    return make_error("invalid_number", "not a number");
  }
  return v;
}

double bare_money_to_lakhs(double v) { return v >= kRupeesPerLakh ? v / kRupeesPerLakh : v; }

std::string format_iso8601(double epoch_seconds) {
  std::string out;
  format_iso8601(epoch_seconds, out);
  return out;
}

void format_iso8601(double epoch_seconds, std::string& out) {
  const auto total = static_cast<int64_t>(std::floor(epoch_seconds));
  int64_t days = total >= 0 ? total / 86400 : -((-total + 86399) / 86400);
  int64_t secs = total - days * 86400;
  const CivilDate date = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  out.assign(buf);
}

bool timestamp_in_range(double epoch_seconds) {
  // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
  return epoch_seconds >= -62135596800.0 && epoch_seconds <= 253402300799.0;
}

double epoch_number_to_seconds(double v) {
  // Exports often carry milliseconds; 1e11 s is the year 5138, 1e11 ms is 1973.
  return std::fabs(v) >= 1e11 ? v / 1000.0 : v;
}

}  // namespace detail

Result<double> parse_money_inr_lakh(std::string_view text) {
  std::string_view s = strip_qualifiers(trim(text));
  if (s.empty()) return bad_money("empty money value");
  if (s.front() == '-') return bad_money("negative money value");
  std::string_view left, right;
  double lakhs = 0;
  if (split_range(s, left, right)) {
    if (trim(left).empty() || trim(right).empty())
      return bad_money("money range with an empty end");
    LS_ASSIGN_OR_RETURN(auto lo, parse_amount(left));
    LS_ASSIGN_OR_RETURN(auto hi, parse_amount(right));
    // "1-1.5 Cr": a unit on one end applies to both.
    if (lo.lakhs_per_unit == 0 && hi.lakhs_per_unit != 0 && !lo.currency) {
      lo.lakhs_per_unit = hi.lakhs_per_unit;
    }
    if (hi.lakhs_per_unit == 0 && lo.lakhs_per_unit != 0 && !hi.currency) {
      hi.lakhs_per_unit = lo.lakhs_per_unit;
    }
    const double a = amount_to_lakhs(lo), b = amount_to_lakhs(hi);
    if (a > b) return bad_money("money range with its low end above its high end");
    lakhs = (a + b) / 2;
  } else {
    LS_ASSIGN_OR_RETURN(auto a, parse_amount(s));
    lakhs = amount_to_lakhs(a);
  }
  if (!std::isfinite(lakhs) || lakhs < 0) return bad_money("money value out of range");
  return lakhs;
}

Result<double> parse_timestamp_seconds(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return bad_time();
  // Epoch seconds (or milliseconds).
  if (s.find('-', 1) == std::string_view::npos && s.find(':') == std::string_view::npos) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return bad_time();
    v = detail::epoch_number_to_seconds(v);
    if (!detail::timestamp_in_range(v)) return bad_time();
    return v;
  }
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
      !read_digits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' ||
      !read_digits(s, pos, 2, day)) {
    return bad_time();
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month))) {
    return bad_time();
  }
  double fraction = 0;
  int offset_seconds = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return bad_time();
    ++pos;
    if (!read_digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
        !read_digits(s, pos, 2, minute)) {
      return bad_time();
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_digits(s, pos, 2, second)) return bad_time();
      if (pos < s.size() && s[pos] == '.') {
        size_t start = pos;
        ++pos;
        while (pos < s.size() && is_digit(s[pos])) ++pos;
        if (pos == start + 1) return bad_time();
        std::from_chars(s.data() + start, s.data() + pos, fraction);
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return bad_time();
    if (pos < s.size()) {
      if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
        pos = s.size();
      } else if (s[pos] == '+' || s[pos] == '-') {
        const int sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!read_digits(s, pos, 2, oh)) return bad_time();
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (!read_digits(s, pos, 2, om) || pos != s.size() || oh > 23 || om > 59) {
          return bad_time();
        }
        offset_seconds = sign * (oh * 3600 + om * 60);
      } else {
        return bad_time();
      }
    }
  }
  const int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds) +
         fraction;
}

}  // namespace core
