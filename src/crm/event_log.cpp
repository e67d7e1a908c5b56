// Event log: append-only segment files holding the outbox's undelivered events.
#include "crm/event_log.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace crm::detail {
namespace {

constexpr uint32_t kLive = 0x3156454c;  // "LEV1"
constexpr uint32_t kDone = 0x314e4f44;  // "DON1"
constexpr size_t kHeaderBytes = 32;
constexpr size_t kStateBytes = 80;
constexpr size_t kErrorBytes = 63;
constexpr size_t kPayloadStart = kHeaderBytes + kStateBytes;
constexpr uint32_t kMaxRecord = 1u << 24;  // far above any valid event (ids ≤ 128, body ~1 KB)

uint32_t crc32c(const char* p, size_t n) {
  uint32_t c = ~0u;
#if defined(__SSE4_2__)
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
  }
  c = static_cast<uint32_t>(c64);
  for (; n > 0; ++p, --n) c = _mm_crc32_u8(c, static_cast<uint8_t>(*p));
#else
  for (; n > 0; ++p, --n) {
    c ^= static_cast<uint8_t>(*p);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
  }
#endif
  return ~c;
}

template <typename T>
void put(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <typename T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

core::Error io_error(const std::string& what) {
  return core::Error{"outbox_io_error", what + ": " + std::strerror(errno), ""};
}

// Repeats a pread or pwrite until all n bytes moved (short counts, EINTR).
template <typename Char, typename Op>
bool transfer_all(Op op, int fd, Char* p, size_t n, uint64_t off) {
  while (n > 0) {
    const ssize_t k = op(fd, p, n, static_cast<off_t>(off));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
    off += static_cast<uint64_t>(k);
  }
  return true;
}
bool pwrite_all(int fd, const char* p, size_t n, uint64_t off) {
  return transfer_all(::pwrite, fd, p, n, off);
}
bool pread_all(int fd, char* p, size_t n, uint64_t off) {
  return transfer_all(::pread, fd, p, n, off);
}

void encode_state(const LogRecord& r, char* s) {
  std::memset(s, 0, kStateBytes);
  put<int32_t>(s, r.attempts);
  put<int32_t>(s + 4, r.last_status);
  put<int64_t>(s + 8, r.next_attempt_at);
  const size_t n = std::min(r.last_error.size(), kErrorBytes);
  s[16] = static_cast<char>(n);
  std::memcpy(s + 17, r.last_error.data(), n);
}

// Parses one record at p (n bytes available). Returns its length, 0 at a torn or invalid
// record. `live` tells whether it holds an event (then `r` is filled).
size_t parse_record(const char* p, size_t n, bool& live, LogRecord& r) {
  if (n < kPayloadStart) return 0;
  const uint32_t magic = get<uint32_t>(p);
  const uint32_t length = get<uint32_t>(p + 4);
  if ((magic != kLive && magic != kDone) || length < kPayloadStart || length > kMaxRecord ||
      length > n) {
    return 0;
  }
  r.seq = get<int64_t>(p + 8);
  live = magic == kLive;
  if (!live) return length;
  const uint32_t crc = get<uint32_t>(p + 24);
  const uint32_t payload_len = get<uint32_t>(p + 28);
  if (payload_len != length - kPayloadStart || payload_len < 8) return 0;
  const char* pl = p + kPayloadStart;
  if (crc32c(pl, payload_len) != crc) return 0;
  const size_t id_len = get<uint16_t>(pl), lead_len = get<uint16_t>(pl + 2);
  const size_t body_len = get<uint32_t>(pl + 4);
  if (8 + id_len + lead_len + body_len != payload_len) return 0;
  r.created_at = get<int64_t>(p + 16);
  const char* s = p + kHeaderBytes;
  r.attempts = get<int32_t>(s);
  r.last_status = get<int32_t>(s + 4);
  r.next_attempt_at = get<int64_t>(s + 8);
  r.last_error.assign(s + 17, std::min<size_t>(static_cast<uint8_t>(s[16]), kErrorBytes));
  r.event_id.assign(pl + 8, id_len);
  r.lead_id.assign(pl + 8 + id_len, lead_len);
  r.body.assign(pl + 8 + id_len + lead_len, body_len);
  return length;
}

bool read_file(int fd, std::string& out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  out.resize(static_cast<size_t>(st.st_size));
  return out.empty() || pread_all(fd, out.data(), out.size(), 0);
}

// Calls fn(record, offset, length, live) for each record of the segment up to the first torn or
// invalid one; returns where that one starts (the end of the good records).
template <typename Fn>
core::Result<size_t> walk_records(const LogSegment& seg, size_t& file_size, Fn&& fn) {
  std::string data;
  if (!read_file(seg.fd, data)) return tl::unexpected(io_error("read " + seg.path));
  file_size = data.size();
  size_t off = 0;
  while (off < data.size()) {
    bool live = false;
    LogRecord r;
    const size_t len = parse_record(data.data() + off, data.size() - off, live, r);
    if (len == 0) break;
    fn(std::move(r), off, len, live);
    off += len;
  }
  return off;
}

}  // namespace

LogSegment::~LogSegment() {
  if (fd >= 0) ::close(fd);
}

core::Status EventLog::Unsynced::sync() const {
  for (const auto& s : segments) {
    if (::fdatasync(s->fd) != 0) return tl::unexpected(io_error("fdatasync " + s->path));
  }
  return core::ok();
}

std::string EventLog::segment_path(uint32_t number) const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08u", number);
  return base_ + "-log." + buf;
}

core::Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& db_path, bool owner,
                                                       uint64_t segment_bytes) {
  std::unique_ptr<EventLog> log(new EventLog(db_path, std::max<uint64_t>(segment_bytes, 4096)));
  if (owner) {
    const std::string lock_path = db_path + "-log.lock";
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return core::make_error("outbox_open_failed",
                              "cannot open " + lock_path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return core::make_error("outbox_busy",
                              "another leadscore process (a running server?) is using the outbox " +
                                  db_path);
    }
    log->lock_fd_ = fd;
  }
  LS_TRY(log->load(owner));
  return log;
}

EventLog::~EventLog() {
  segments_.clear();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

core::Status EventLog::load(bool owner) {
  namespace fs = std::filesystem;
  const fs::path base(base_);
  const fs::path dir = base.parent_path().empty() ? fs::path(".") : base.parent_path();
  const std::string prefix = base.filename().string() + "-log.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 8 || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const auto number = static_cast<uint32_t>(std::stoul(digits));
    auto seg = std::make_shared<LogSegment>();
    seg->path = segment_path(number);
    seg->fd = ::open(seg->path.c_str(), (owner ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (seg->fd < 0) {
      if (errno == ENOENT) continue;  // deleted by the owner while we listed (reader)
      return core::make_error("outbox_open_failed",
                              "cannot open " + seg->path + ": " + std::strerror(errno));
    }
    segments_.emplace(number, std::move(seg));
  }
  if (ec) {
    return core::make_error("outbox_open_failed",
                            "cannot list " + dir.string() + ": " + ec.message());
  }
  if (!owner) return core::ok();
  // Sizes and live counts; torn tails are cut so appends continue after the last good record.
  for (auto& [number, seg] : segments_) {
    size_t file_size = 0;
    LS_ASSIGN_OR_RETURN(const size_t off,
                        walk_records(*seg, file_size, [&](LogRecord&&, size_t, size_t, bool live) {
                          seg->live += live;
                        }));
    if (off < file_size && ::ftruncate(seg->fd, static_cast<off_t>(off)) != 0) {
      return tl::unexpected(io_error("truncate " + seg->path));
    }
    seg->size = off;
  }
  for (auto it = segments_.begin(); it != segments_.end();) {
    auto next = std::next(it);
    if (it->second->live == 0 && next != segments_.end()) {
      ::unlink(it->second->path.c_str());
      segments_.erase(it);
    }
    it = next;
  }
  if (segments_.empty() || segments_.rbegin()->second->size >= segment_bytes_) {
    return start_segment(segments_.empty() ? 1 : segments_.rbegin()->first + 1);
  }
  current_ = segments_.rbegin()->first;
  return core::ok();
}

core::Status EventLog::start_segment(uint32_t number) {
  auto seg = std::make_shared<LogSegment>();
  seg->path = segment_path(number);
  seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (seg->fd < 0) return tl::unexpected(io_error("create " + seg->path));
  const uint32_t previous = current_;
  segments_[number] = std::move(seg);
  current_ = number;
  if (previous != 0) drop_if_empty(previous);
  return core::ok();
}

// Remembers the segment for the next take_unsynced().
void EventLog::note_written(const std::shared_ptr<LogSegment>& seg) {
  if (seg->dirty) return;
  seg->dirty = true;
  unsynced_.push_back(seg);
}

void EventLog::drop_if_empty(uint32_t number) {
  auto it = segments_.find(number);
  if (it == segments_.end() || it->second->live > 0 || number == current_) return;
  ::unlink(it->second->path.c_str());
  segments_.erase(it);
}

core::Status EventLog::scan(const std::function<void(LogRecord&&)>& fn, int64_t& max_seq) {
  if (!owner()) {
    // A reader sees the owner's segments as they are now (it may have added or deleted some).
    segments_.clear();
    LS_TRY(load(false));
  }
  for (auto& [number, seg] : segments_) {
    size_t file_size = 0;
    auto walked = walk_records(*seg, file_size,
                               [&, n = number](LogRecord&& r, size_t off, size_t len, bool live) {
                                 max_seq = std::max(max_seq, r.seq);
                                 if (!live) return;
                                 r.at = {n, off, static_cast<uint32_t>(len)};
                                 fn(std::move(r));
                               });
    if (!walked) return tl::unexpected(walked.error());
  }
  return core::ok();
}

core::Status EventLog::begin_record(std::string_view event_id, std::string_view lead_id,
                                    std::string& buf) {
  if (event_id.size() > 0xffff || lead_id.size() > 0xffff) {
    return core::make_error("invalid_event", "event too large for the outbox");
  }
  buf.assign(kPayloadStart + 8, '\0');
  char* pl = buf.data() + kPayloadStart;
  put<uint16_t>(pl, static_cast<uint16_t>(event_id.size()));
  put<uint16_t>(pl + 2, static_cast<uint16_t>(lead_id.size()));
  buf.append(event_id);
  buf.append(lead_id);
  return core::ok();
}

core::Status EventLog::finish_record(std::string& buf) {
  const size_t length = buf.size();
  if (length > kMaxRecord) {
    return core::make_error("invalid_event", "event too large for the outbox");
  }
  char* p = buf.data();
  char* pl = p + kPayloadStart;
  const size_t payload_len = length - kPayloadStart;
  put<uint32_t>(pl + 4, static_cast<uint32_t>(payload_len - 8 - get<uint16_t>(pl) -
                                               get<uint16_t>(pl + 2)));
  put<uint32_t>(p, kLive);
  put<uint32_t>(p + 4, static_cast<uint32_t>(length));
  put<uint32_t>(p + 24, crc32c(pl, payload_len));
  put<uint32_t>(p + 28, static_cast<uint32_t>(payload_len));
  return core::ok();
}

core::Status EventLog::append(LogRecord& r, std::string_view body) {
  thread_local std::string buf;  // no allocation per append once warm
  LS_TRY(begin_record(r.event_id, r.lead_id, buf));
  buf.append(body);
  LS_TRY(finish_record(buf));
  LogRecord* one = &r;
  return append_encoded(std::span<LogRecord* const>(&one, 1), buf);
}

core::Status EventLog::append_encoded(std::span<LogRecord* const> recs, std::string& buf) {
  // seq, time and state are outside the CRC: the caller encodes before it knows them.
  size_t at = 0;
  for (LogRecord* r : recs) {
    if (at + kPayloadStart > buf.size()) break;
    char* p = buf.data() + at;
    put<int64_t>(p + 8, r->seq);
    put<int64_t>(p + 16, r->created_at);
    encode_state(*r, p + kHeaderBytes);
    at += get<uint32_t>(p + 4);
  }
  if (at != buf.size()) {
    return core::make_error("invalid_event", "the batch does not hold exactly its records");
  }

  auto& seg = segments_.at(current_);
  if (!pwrite_all(seg->fd, buf.data(), buf.size(), seg->size)) {
    const int saved = errno;
    // Leave no partial record behind (the next append writes at the same offset anyway).
    (void)::ftruncate(seg->fd, static_cast<off_t>(seg->size));
    errno = saved;
    return tl::unexpected(io_error("write " + seg->path));
  }
  at = 0;
  for (LogRecord* r : recs) {
    const auto length = get<uint32_t>(buf.data() + at + 4);
    r->at = {current_, seg->size + at, length};
    at += length;
  }
  seg->size += buf.size();
  seg->live += static_cast<int64_t>(recs.size());
  note_written(seg);
  if (seg->size >= segment_bytes_) {
    // A failed rotation is not the caller's failure: the events are written; retry next time.
    (void)start_segment(current_ + 1);
  }
  return core::ok();
}

core::Status EventLog::write_state(const LogRecord& r) {
  auto it = segments_.find(r.at.segment);
  if (it == segments_.end()) return core::make_error("outbox_io_error", "record not in the log");
  char state[kStateBytes];
  encode_state(r, state);
  if (!pwrite_all(it->second->fd, state, kStateBytes, r.at.offset + kHeaderBytes)) {
    return tl::unexpected(io_error("write " + it->second->path));
  }
  return core::ok();
}

core::Status EventLog::mark_done(const RecordLocation& at, int64_t seq) {
  auto it = segments_.find(at.segment);
  if (it == segments_.end()) return core::make_error("outbox_io_error", "record not in the log");
  auto& seg = it->second;
  thread_local std::string zeros;
  zeros.assign(at.length, '\0');
  // Keep length and seq (the next seq after a restart must stay above every seq ever used);
  // everything else, including the body, becomes zeros.
  put<uint32_t>(zeros.data(), kDone);
  put<uint32_t>(zeros.data() + 4, at.length);
  put<int64_t>(zeros.data() + 8, seq);
  if (!pwrite_all(seg->fd, zeros.data(), at.length, at.offset)) {
    return tl::unexpected(io_error("write " + seg->path));
  }
  note_written(seg);
  if (--seg->live == 0) drop_if_empty(at.segment);
  return core::ok();
}

core::Result<LogRecord> EventLog::read(const RecordLocation& at) {
  auto it = segments_.find(at.segment);
  if (it == segments_.end()) return core::make_error("outbox_io_error", "record not in the log");
  thread_local std::string buf;
  buf.resize(at.length);
  if (!pread_all(it->second->fd, buf.data(), at.length, at.offset)) {
    return tl::unexpected(io_error("read " + it->second->path));
  }
  bool live = false;
  LogRecord r;
  if (parse_record(buf.data(), buf.size(), live, r) != at.length || !live) {
    return core::make_error("outbox_io_error", "damaged record in " + it->second->path);
  }
  r.at = at;
  return r;
}

EventLog::Unsynced EventLog::take_unsynced() {
  Unsynced u{std::move(unsynced_)};
  unsynced_.clear();
  for (auto& s : u.segments) s->dirty = false;
  return u;
}

std::vector<std::string> EventLog::files() const {
  std::vector<std::string> out;
  for (const auto& [n, s] : segments_) out.push_back(s->path);
  return out;
}

}  // namespace crm::detail

// ---------------------------------------------------------------------------------------------
// The append ring

namespace crm::detail {
namespace {

constexpr uint32_t kSkip = 0x31504b53;  // "SKP1": the rest of the file is unused this lap
constexpr uint64_t kMinRing = 256 << 10;  // a quarter holds any valid event (< 5 KB) well

uint64_t padded(uint64_t length) { return (length + 7) & ~uint64_t{7}; }
uint64_t publish_word(uint32_t magic, uint32_t length) {
  return uint64_t{magic} | (uint64_t{length} << 32);
}

// Writes `bytes` zeros at `off` (so the blocks are allocated: a store into the mapping never
// needs a block, which could fail with SIGBUS on a full disk).
bool write_zeros(int fd, uint64_t off, uint64_t bytes) {
  static const std::string zeros(1 << 20, '\0');
  while (bytes > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, zeros.size()));
    if (!pwrite_all(fd, zeros.data(), n, off)) return false;
    off += n;
    bytes -= n;
  }
  return true;
}

// The published, intact records in a ring file's bytes, in seq order. A record still being
// copied in (publish word not yet stored) or being zeroed reads as damaged and is skipped.
std::vector<LogRecord> ring_records(const std::string& data) {
  std::vector<LogRecord> found;
  for (size_t off = 0; off + 8 <= data.size();) {
    const uint32_t magic = get<uint32_t>(data.data() + off);
    const uint32_t length = get<uint32_t>(data.data() + off + 4);
    bool live = false;
    LogRecord r;
    if (magic == kSkip && length >= 8 && length <= data.size() - off) {
      off += length;
    } else if (magic == kLive && parse_record(data.data() + off, data.size() - off, live, r)) {
      found.push_back(std::move(r));
      off += padded(length);
    } else {
      off += 8;  // zeroed space, or a record whose copy was cut short (never acknowledged)
    }
  }
  std::sort(found.begin(), found.end(),
            [](const LogRecord& a, const LogRecord& b) { return a.seq < b.seq; });
  return found;
}

}  // namespace

core::Result<std::vector<LogRecord>> EventRing::read_records(const std::string& db_path) {
  const std::string path = file_path(db_path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::vector<LogRecord>{};
    return core::make_error("outbox_io_error",
                            "cannot open " + path + ": " + std::strerror(errno));
  }
  std::string data;
  const bool ok = read_file(fd, data);
  const int err = errno;
  ::close(fd);
  if (!ok) {
    return core::make_error("outbox_io_error", "cannot read " + path + ": " + std::strerror(err));
  }
  return ring_records(data);
}

core::Result<std::unique_ptr<EventRing>> EventRing::open(const std::string& db_path,
                                                         uint64_t bytes) {
  const std::string path = file_path(db_path);
  const uint64_t want = std::max<uint64_t>(padded(bytes), kMinRing);
  // Records a killed process left: read them before the file is resized or zeroed.
  auto left = read_records(db_path);
  if (!left) return core::make_error("outbox_open_failed", left.error().message);
  auto fail = [&](const std::string& what) {
    return core::make_error("outbox_open_failed",
                            what + " " + path + ": " + std::strerror(errno));
  };
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return fail("cannot stat");
  }
  if (static_cast<uint64_t>(st.st_size) != want) {
    if (::ftruncate(fd, 0) != 0 || !write_zeros(fd, 0, want) || ::fdatasync(fd) != 0) {
      ::close(fd);
      return fail("cannot allocate");
    }
  }
  void* map = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED) {
    ::close(fd);
    return fail("cannot map");
  }
  std::unique_ptr<EventRing> ring(new EventRing(path, fd, static_cast<char*>(map), want));
  ring->leftovers_ = *std::move(left);
  return ring;
}

EventRing::~EventRing() {
  close();
  ::munmap(map_, capacity_);
  ::close(fd_);
}

std::vector<LogRecord> EventRing::leftovers() { return std::move(leftovers_); }

void EventRing::clear() {
  std::lock_guard lock(reserve_mu_);
  std::memset(map_, 0, capacity_);
  head_ = 0;
  tail_.store(0, std::memory_order_release);
  events_.store(0, std::memory_order_relaxed);
}

std::atomic_ref<uint64_t> EventRing::word(uint64_t pos) const {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(map_ + pos % capacity_));
}

bool EventRing::append(std::string& record, std::atomic<int64_t>& next_seq, int64_t now) {
  const uint64_t length = record.size();
  const uint64_t slot = padded(length);
  if (slot > max_record()) return false;
  uint64_t at = 0;
  int64_t seq = 0;
  {
    std::lock_guard lock(reserve_mu_);
    if (closed_.load(std::memory_order_relaxed)) return false;
    const uint64_t off = head_ % capacity_;
    const uint64_t skip = off + slot > capacity_ ? capacity_ - off : 0;
    if (head_ + skip + slot - tail_.load(std::memory_order_acquire) > capacity_) return false;
    if (skip > 0) {
      word(head_).store(publish_word(kSkip, static_cast<uint32_t>(skip)),
                        std::memory_order_release);
      head_ += skip;
    }
    at = head_;
    head_ += slot;
    // Seqs are handed out in ring order, so draining in ring order keeps seq order.
    seq = next_seq.fetch_add(1, std::memory_order_relaxed);
    events_.fetch_add(1);  // seq_cst: the Outbox's drainer checks it after saying it sleeps
    writers_.fetch_add(1, std::memory_order_relaxed);
  }
  char* p = record.data();
  put<int64_t>(p + 8, seq);
  put<int64_t>(p + 16, now);
  LogRecord state;
  state.next_attempt_at = now;
  encode_state(state, p + kHeaderBytes);
  char* dst = map_ + at % capacity_;
  std::memcpy(dst + 8, p + 8, length - 8);
  word(at).store(get<uint64_t>(p), std::memory_order_release);  // publish: magic and length
  writers_.fetch_sub(1, std::memory_order_release);
  return true;
}

void EventRing::close() {
  {
    std::lock_guard lock(reserve_mu_);
    closed_ = true;
  }
  while (writers_.load(std::memory_order_acquire) > 0) sched_yield();
}

uint64_t EventRing::take(size_t max_bytes, bool wait, std::string& bytes,
                         std::vector<LogRecord>& recs) {
  uint64_t pos = tail_.load(std::memory_order_acquire);
  uint64_t end = 0;  // what was reserved when we looked: a full ring's end is its start
  {
    std::lock_guard lock(reserve_mu_);
    end = head_;
  }
  while (pos < end && bytes.size() < max_bytes) {
    uint64_t w = word(pos).load(std::memory_order_acquire);
    if (w == 0) {
      if (!wait) break;
      // Reserved and still being copied in: a memcpy away.
      do {
        sched_yield();
        w = word(pos).load(std::memory_order_acquire);
      } while (w == 0);
    }
    const auto magic = static_cast<uint32_t>(w);
    const auto length = static_cast<uint32_t>(w >> 32);
    if (magic == kSkip) {
      pos += length;
      continue;
    }
    const char* p = map_ + pos % capacity_;
    LogRecord r;
    r.seq = get<int64_t>(p + 8);
    r.created_at = get<int64_t>(p + 16);
    r.next_attempt_at = get<int64_t>(p + kHeaderBytes + 8);
    const char* pl = p + kPayloadStart;
    r.lead_id.assign(pl + 8 + get<uint16_t>(pl), get<uint16_t>(pl + 2));
    recs.push_back(std::move(r));
    bytes.append(reinterpret_cast<const char*>(&w), 8);
    bytes.append(p + 8, length - 8);
    pos += padded(length);
  }
  return pos;
}

void EventRing::release(uint64_t end, size_t records) {
  const uint64_t from = tail_.load(std::memory_order_relaxed);
  // Zero every byte, publish words included, so the space reads as free again and no lead id
  // stays in the file once its event is in the log.
  for (uint64_t pos = from; pos < end;) {
    const uint64_t off = pos % capacity_;
    const uint64_t n = std::min(end - pos, capacity_ - off);
    std::memset(map_ + off, 0, n);
    pos += n;
  }
  events_.fetch_sub(static_cast<int64_t>(records), std::memory_order_relaxed);
  tail_.store(end, std::memory_order_release);
}

}  // namespace crm::detail
