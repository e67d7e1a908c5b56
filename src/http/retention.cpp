// The retention job: storage limitation (DPDP s.8(7)) for the cache, the CRM outbox's
// delivered events and the audit log (Rule 6 asks for one year of logs, not more).

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "http/http.h"

namespace http {
namespace {

using SysClock = std::chrono::system_clock;

// The "ts" of one JSON line, or nullopt when absent or unreadable.
std::optional<SysClock::time_point> line_time(std::string_view line) {
  static constexpr std::string_view kTag = "\"ts\":\"";
  const size_t at = line.find(kTag);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view ts = line.substr(at + kTag.size());
  if (ts.size() < 19) return std::nullopt;
  // Seconds precision is enough for a retention window of days.
  auto secs = core::parse_timestamp_seconds(std::string(ts.substr(0, 19)) + "Z");
  if (!secs) return std::nullopt;
  return SysClock::time_point(std::chrono::seconds(static_cast<int64_t>(*secs)));
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

tl::unexpected<core::Error> io_error(const std::string& what) {
  return core::make_error("retention_io_failed", what + ": " + std::strerror(errno));
}

}  // namespace

core::Result<int64_t> trim_jsonl_before(const std::string& path, SysClock::time_point cutoff) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return int64_t{0};
    return io_error("cannot open the audit log");
  }
  FdCloser closer(fd);
  // Writers append whole lines with one write(2); the lock keeps two trims apart and any
  // writer that also takes it (flock LOCK_SH) out of the rewrite.
  if (::flock(fd, LOCK_EX) != 0) return io_error("cannot lock the audit log");

  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(data.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read the audit log");
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }

  size_t keep_from = 0;
  int64_t dropped = 0;
  while (keep_from < data.size()) {
    const size_t nl = data.find('\n', keep_from);
    if (nl == std::string::npos) break;  // a partial last line is never dropped
    const auto t = line_time(std::string_view(data).substr(keep_from, nl - keep_from));
    if (!t || *t >= cutoff) break;
    keep_from = nl + 1;
    ++dropped;
  }
  if (dropped == 0) return int64_t{0};

  const std::string_view kept = std::string_view(data).substr(keep_from);
  size_t off = 0;
  while (off < kept.size()) {
    const ssize_t n = ::pwrite(fd, kept.data() + off, kept.size() - off, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot rewrite the audit log");
    }
    off += static_cast<size_t>(n);
  }
  if (::ftruncate(fd, static_cast<off_t>(kept.size())) != 0 || ::fsync(fd) != 0) {
    return io_error("cannot truncate the audit log");
  }
  return dropped;
}

RetentionReport run_retention_once(const RetentionOptions& opts) {
  RetentionReport r;
  if (opts.purge_cache) r.cache_purged = opts.purge_cache();
  auto purge_outbox = [&r](const auto& purge, std::chrono::milliseconds age, int64_t& purged,
                           std::string_view store) {
    if (!purge) return;
    auto n = purge(age);
    if (n) {
      purged = *n;
    } else {
      ++r.errors;
      log_event("error", "retention_failed", {{"store", store}, {"code", n.error().code}});
    }
  };
  purge_outbox(opts.purge_delivered, opts.delivered_max_age, r.delivered_purged, "outbox");
  purge_outbox(opts.purge_dead_letters, opts.dead_letter_max_age, r.dead_letters_purged,
               "outbox_dead_letter");
  if (!opts.audit_log_path.empty()) {
    const auto now = opts.now ? opts.now() : SysClock::now();
    const auto cutoff =
        now - std::chrono::duration_cast<SysClock::duration>(opts.audit_max_age);
    auto n = trim_jsonl_before(opts.audit_log_path, cutoff);
    if (n) {
      r.audit_lines_dropped = *n;
    } else {
      ++r.errors;
      log_event("error", "retention_failed",
                {{"store", "audit_log"}, {"code", n.error().code}});
    }
  }
  return r;
}

namespace {

class RetentionThread final : public RetentionJob {
 public:
  RetentionThread(Server& server, RetentionOptions opts)
      : opts_(std::move(opts)),
        cache_(server.metrics().counter("leadscore_retention_purged_total",
                                        "Items removed by the retention job",
                                        {{"store", "cache"}})),
        outbox_(server.metrics().counter("leadscore_retention_purged_total",
                                         "Items removed by the retention job",
                                         {{"store", "outbox_delivered"}})),
        dead_(server.metrics().counter("leadscore_retention_purged_total",
                                       "Items removed by the retention job",
                                       {{"store", "outbox_dead_letter"}})),
        audit_(server.metrics().counter("leadscore_retention_purged_total",
                                        "Items removed by the retention job",
                                        {{"store", "audit_log"}})),
        thread_([this] { loop(); }) {}

  ~RetentionThread() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      const RetentionReport r = run_retention_once(opts_);
      cache_.inc(r.cache_purged);
      outbox_.inc(static_cast<uint64_t>(r.delivered_purged));
      dead_.inc(static_cast<uint64_t>(r.dead_letters_purged));
      audit_.inc(static_cast<uint64_t>(r.audit_lines_dropped));
      if (r.cache_purged + static_cast<uint64_t>(r.delivered_purged + r.dead_letters_purged +
                                                 r.audit_lines_dropped) > 0) {
        log_event("info", "retention",
                  {{"cache_purged", static_cast<uint64_t>(r.cache_purged)},
                   {"delivered_purged", r.delivered_purged},
                   {"dead_letters_purged", r.dead_letters_purged},
                   {"audit_lines_dropped", r.audit_lines_dropped}});
      }
      lock.lock();
      cv_.wait_for(lock, opts_.interval, [this] { return stop_; });
    }
  }

  RetentionOptions opts_;
  Counter& cache_;
  Counter& outbox_;
  Counter& dead_;
  Counter& audit_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after everything it uses
};

}  // namespace

std::unique_ptr<RetentionJob> start_retention(Server& server, RetentionOptions opts) {
  return std::make_unique<RetentionThread>(server, std::move(opts));
}

}  // namespace http
