// Events: ids, validation (no PII), JSON serialisation; clocks and randomness.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <ctime>
#include <mutex>
#include <random>

#include "core/core.h"
#include "crm/crm.h"
#include "crm/event_log.h"
#include "crm/time_format.h"

namespace crm {

int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Random default_random() {
  struct State {
    std::mutex mu;
    std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> dist{0.0, 1.0};
  };
  auto state = std::make_shared<State>();
  return [state] {
    std::lock_guard lock(state->mu);
    return state->dist(state->rng);
  };
}

std::string new_event_id() {
  std::string id;
  new_event_id(system_clock_ms(), id);
  return id;
}

void new_event_id(int64_t unix_ms, std::string& out) {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(system_clock_ms()) << 16)};
  const auto ms = static_cast<uint64_t>(unix_ms) & ((uint64_t{1} << 48) - 1);
  const uint64_t hi = rng() & 0xFFFF;  // 16 + 64 = 80 random bits
  const uint64_t lo = rng();
  out.resize(26);
  // 10 digits of time (50 bits, top 2 zero), then 16 digits of randomness.
  for (int i = 0; i < 10; ++i) out[static_cast<size_t>(9 - i)] = kCrockford[(ms >> (5 * i)) & 31];
  for (int i = 0; i < 16; ++i) {
    const int shift = 5 * i;  // bit offset from the least significant end of the 80 bits
    uint64_t digit = 0;
    if (shift >= 64) {
      digit = hi >> (shift - 64);
    } else if (shift + 5 <= 64) {
      digit = lo >> shift;
    } else {
      digit = (lo >> shift) | (hi << (64 - shift));
    }
    out[static_cast<size_t>(25 - i)] = kCrockford[digit & 31];
  }
}

namespace {

// An e-mail-like '@' between word characters, or ≥ 10 digits in one run allowing the
// separators people type inside phone numbers (space, dash, dot, parentheses, '+').
bool looks_like_contact(std::string_view v) {
  const size_t at = v.find('@');
  if (at != std::string_view::npos && at > 0 && at + 1 < v.size()) return true;
  int digits = 0;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      if (++digits >= 10) return true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '+') {
      digits = 0;
    }
  }
  return false;
}

}  // namespace

core::Status validate_event(const Event& e) {
  if (e.event_id.empty() || e.event_id.size() > 128) {
    return core::make_error("invalid_event", "event_id must be 1-128 characters", "event_id");
  }
  if (e.lead_id.empty() || e.lead_id.size() > 128) {
    return core::make_error("invalid_event", "lead_id must be 1-128 characters", "lead_id");
  }
  if (e.model_version.size() > 128) {
    return core::make_error("invalid_event", "model_version too long", "model_version");
  }
  if (!(e.intent_score >= 0.0 && e.intent_score <= 1.0)) {
    return core::make_error("invalid_event", "intent_score must be in [0, 1]", "intent_score");
  }
  if (e.score < 0 || e.score > 100) {
    return core::make_error("invalid_event", "score must be in [0, 100]", "score");
  }
  if (e.grade.empty() || e.grade.size() > 2) {
    return core::make_error("invalid_event", "grade must be 1-2 characters", "grade");
  }
  if (e.reasons.size() > 32) {
    return core::make_error("invalid_event", "at most 32 reasons", "reasons");
  }
  for (size_t i = 0; i < e.reasons.size(); ++i) {
    const auto& r = e.reasons[i];
    auto where = [i] { return "reasons[" + std::to_string(i) + "]"; };  // errors only
    if (r.feature.empty() || r.feature.size() > 64 || r.value.size() > 64) {
      return core::make_error("invalid_event", "reason feature/value must be ≤ 64 characters",
                              where());
    }
    if (!std::isfinite(r.impact)) {
      return core::make_error("invalid_event", "reason impact must be finite", where());
    }
    // DPDP: reasons describe model features; contact data must never reach a CRM push.
    if (looks_like_contact(r.feature) || looks_like_contact(r.value)) {
      return core::make_error("pii_in_event", "reason looks like contact data", where());
    }
  }
  return core::ok();
}

void write_event_json(const Event& e, std::string& out) {
  core::JsonWriter w(out);
  w.begin_object();
  w.field("event_id", e.event_id);
  w.field("type", "lead.scored");
  w.field("lead_id", e.lead_id);
  w.field("model_version", e.model_version);
  w.field("intent_score", e.intent_score);
  w.field("score", e.score);
  w.field("grade", e.grade);
  w.key("reasons").begin_array();
  for (const auto& r : e.reasons) {
    w.begin_object();
    w.field("feature", r.feature);
    w.field("value", r.value);
    w.field("impact", r.impact);
    w.end_object();
  }
  w.end_array();
  w.field("scored_at", format_iso8601_ms(e.scored_at_ms));
  w.end_object();
}

namespace detail {
namespace {

constexpr char kBinaryBody = 0x01;  // a JSON body starts with '{'
constexpr char kBodyVersion = 1;

template <typename T>
void put_raw(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename Len>
void put_text(std::string& out, std::string_view v) {
  put_raw<Len>(out, static_cast<Len>(v.size()));
  out.append(v);
}

// Reads the fields back in order; every read checks the bytes left.
class BodyReader {
 public:
  explicit BodyReader(std::string_view b) : b_(b) {}
  template <typename T>
  bool raw(T& v) {
    if (b_.size() < sizeof v) return false;
    std::memcpy(&v, b_.data(), sizeof v);
    b_.remove_prefix(sizeof v);
    return true;
  }
  template <typename Len>
  bool text(std::string& v) {
    Len n = 0;
    if (!raw(n) || b_.size() < n) return false;
    v.assign(b_.data(), n);
    b_.remove_prefix(n);
    return true;
  }
  bool done() const { return b_.empty(); }

 private:
  std::string_view b_;
};

}  // namespace

void write_event_body(const Event& e, std::string& out) {
  out.push_back(kBinaryBody);
  out.push_back(kBodyVersion);
  put_text<uint16_t>(out, e.model_version);
  put_text<uint8_t>(out, e.grade);
  put_raw<double>(out, e.intent_score);
  put_raw<int32_t>(out, e.score);
  put_raw<int64_t>(out, e.scored_at_ms);
  put_raw<uint8_t>(out, static_cast<uint8_t>(e.reasons.size()));
  for (const auto& r : e.reasons) {
    put_text<uint8_t>(out, r.feature);
    put_text<uint8_t>(out, r.value);
    put_raw<double>(out, r.impact);
  }
}

bool render_event_body(std::string& body, std::string_view event_id, std::string_view lead_id) {
  if (body.empty() || body[0] != kBinaryBody) return true;  // JSON already
  BodyReader in(std::string_view(body).substr(1));
  Event e;
  e.event_id = event_id;
  e.lead_id = lead_id;
  uint8_t version = 0, reasons = 0;
  int32_t score = 0;
  if (!in.raw(version) || version != kBodyVersion || !in.text<uint16_t>(e.model_version) ||
      !in.text<uint8_t>(e.grade) || !in.raw(e.intent_score) || !in.raw(score) ||
      !in.raw(e.scored_at_ms) || !in.raw(reasons)) {
    return false;
  }
  e.score = score;
  e.reasons.resize(reasons);
  for (auto& r : e.reasons) {
    if (!in.text<uint8_t>(r.feature) || !in.text<uint8_t>(r.value) || !in.raw(r.impact)) {
      return false;
    }
  }
  if (!in.done()) return false;
  std::string json;
  write_event_json(e, json);
  body = std::move(json);
  return true;
}

}  // namespace detail

std::string format_iso8601_ms(int64_t unix_ms) {
  // Every scored lead formats one timestamp: no gmtime_r (it takes glibc's time zone lock,
  // which the io threads then contend for) and no printf.
  const int64_t days = unix_ms >= 0 ? unix_ms / 86'400'000 : (unix_ms - 86'399'999) / 86'400'000;
  const int64_t in_day = unix_ms - days * 86'400'000;
  const core::CivilDate date = core::civil_from_days(days);
  char buf[32];
  auto put = [&buf](int at, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
  };
  if (date.year < 0 || date.year > 9999) return "0000-01-01T00:00:00.000Z";  // not a real score
  put(0, date.year, 4);
  buf[4] = '-';
  put(5, date.month, 2);
  buf[7] = '-';
  put(8, date.day, 2);
  buf[10] = 'T';
  put(11, in_day / 3'600'000, 2);
  buf[13] = ':';
  put(14, in_day / 60'000 % 60, 2);
  buf[16] = ':';
  put(17, in_day / 1000 % 60, 2);
  buf[19] = '.';
  put(20, in_day % 1000, 3);
  buf[23] = 'Z';
  return std::string(buf, 24);
}

std::string_view to_string(EventState s) {
  switch (s) {
    case EventState::kPending: return "pending";
    case EventState::kDelivered: return "delivered";
    case EventState::kDeadLetter: return "dead_letter";
  }
  return "unknown";
}

}  // namespace crm
