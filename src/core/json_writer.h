#pragma once
// A small streaming JSON writer: the one place where leadscore escapes strings for output
// (HTTP responses, manifests, outbox events). Appends to a caller-owned std::string so hot
// paths can reuse the buffer (clear() keeps capacity).

#include <cstdint>
#include <string>
#include <string_view>

namespace core {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // Writes `"name":`; the next call writes its value.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(unsigned v) { return value(static_cast<uint64_t>(v)); }
  // Shortest representation that round-trips the double; NaN/Inf are written as null
  // because JSON has no spelling for them.
  JsonWriter& value(double v);
  JsonWriter& value(float v);
  JsonWriter& null();
  // Inserts already-serialised JSON verbatim (caller guarantees validity).
  JsonWriter& raw(std::string_view json);

  // key + value shorthand.
  template <typename T>
  JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

 private:
  void separator();
  std::string& out_;
  bool need_comma_ = false;
};

// Appends `s` to `out` as a quoted JSON string: escapes quotes, backslashes and control
// characters; invalid UTF-8 bytes are replaced by U+FFFD so output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace core
