#include "http/http.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace http {
namespace {

std::atomic<int> g_log_fd{2};

}  // namespace

void append_log_timestamp(std::string& out) {
  // RFC 3339 UTC with milliseconds.
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  out.append(frac);
}

void set_log_fd(int fd) { g_log_fd.store(fd); }

void log_event(std::string_view level, std::string_view event,
               std::initializer_list<LogField> fields) {
  log_event(level, event, std::span<const LogField>(fields.begin(), fields.size()));
}

void log_event(std::string_view level, std::string_view event, std::span<const LogField> fields) {
  const int fd = g_log_fd.load(std::memory_order_relaxed);
  if (fd < 0) return;
  thread_local std::string line;
  line.clear();
  std::string ts;
  append_log_timestamp(ts);
  core::JsonWriter w(line);
  w.begin_object().field("ts", std::string_view(ts)).field("level", level).field("event", event);
  for (const auto& f : fields) {
    w.key(f.key());
    switch (f.kind()) {
      case LogField::Kind::kString: w.value(f.str()); break;
      case LogField::Kind::kInt: w.value(f.i()); break;
      case LogField::Kind::kDouble: w.value(f.d()); break;
      case LogField::Kind::kBool: w.value(f.b()); break;
    }
  }
  w.end_object();
  line.push_back('\n');
  // One write(2) per line: concurrent lines never interleave (pipes: up to PIPE_BUF atomic).
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace http
