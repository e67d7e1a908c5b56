#pragma once
// The outbox's event log (private to src/crm): undelivered events as records in append-only
// segment files beside the SQLite file (`<path>-log.00000001`, ...). Appending is one pwrite
// into the page cache, so a committed event survives kill -9 of the process without a SQLite
// transaction per event; FULL durability adds a grouped fdatasync. A finished event (delivered,
// dead-lettered, cancelled, erased) has its record overwritten with zeros in place, so the files
// only ever hold undelivered events; a segment with no live record left is deleted.
//
// Record layout (little-endian; `length` covers everything):
//   header  u32 magic (kLive / kDone), u32 length, i64 seq, i64 created_at,
//           u32 payload_crc (CRC-32C), u32 payload_len                         32 bytes
//   state   i32 attempts, i32 last_status, i64 next_attempt_at, u8 error_len,
//           char error[63]   (rewritten in place after each failed attempt)    80 bytes
//   payload u16 event_id_len, u16 lead_id_len, u32 body_len, event_id, lead_id, body
//           (body: the event in binary, see write_event_body; older records hold JSON)
// A torn tail (power loss with synchronous=NORMAL) fails its magic, length or CRC check and is
// cut off at open.
//
// Not thread-safe: the Outbox serialises every call under its state mutex.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crm/crm.h"

namespace crm::detail {

// One segment file; closed when the last handle goes.
struct LogSegment {
  int fd = -1;
  uint64_t size = 0;
  int64_t live = 0;
  bool dirty = false;  // written since the last take_unsynced()
  std::string path;
  ~LogSegment();
};

struct RecordLocation {
  uint32_t segment = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};

// An undelivered event as stored in the log.
struct LogRecord {
  int64_t seq = 0;
  int64_t created_at = 0;
  std::string event_id, lead_id, body;
  int attempts = 0;
  int last_status = 0;
  int64_t next_attempt_at = 0;
  std::string last_error;  // at most 63 bytes are kept
  RecordLocation at{};     // set by append and scan
};

// The body of a record written by this version: the event's fields in binary (~250 bytes
// instead of ~600 of JSON), so an append writes no JSON; the webhook JSON is rendered when the
// event is read back (claimed, listed, moved to SQLite). Records of older versions, and dead
// letters replayed from SQLite, hold the JSON itself; rendering passes those through.
//   u8 0x01, u8 version 1, u16 model_version length + bytes, u8 grade length + bytes,
//   f64 intent_score, i32 score, i64 scored_at_ms, u8 reasons,
//   per reason: u8 feature length + bytes, u8 value length + bytes, f64 impact
// Appends the body of `e` (already validated: the lengths fit) to `out`.
void write_event_body(const Event& e, std::string& out);
// Turns a stored body into the webhook JSON in place (a JSON body stays as it is). False if
// a binary body does not parse (a damaged record).
bool render_event_body(std::string& body, std::string_view event_id, std::string_view lead_id);

class EventLog {
 public:
  // Opens the segments of `db_path`. As the owner (the process that appends and delivers) it
  // takes an exclusive lock first (error outbox_busy while another process holds it) and cuts
  // torn tails; otherwise it only reads. Errors: outbox_busy, outbox_open_failed.
  static core::Result<std::unique_ptr<EventLog>> open(const std::string& db_path, bool owner,
                                                      uint64_t segment_bytes);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  bool owner() const { return lock_fd_ >= 0; }

  // Calls fn for every live record, in segment order (= seq order, except replayed dead
  // letters). `max_seq` receives the largest seq of any record, live or done.
  core::Status scan(const std::function<void(LogRecord&&)>& fn, int64_t& max_seq);

  // Owner only. Appends the record with `body` (r.body is not read, so callers need not keep
  // a copy); sets r.at; rotates to a new segment past segment_bytes.
  // Errors: outbox_io_error (nothing is left half-written), invalid_event (too large).
  core::Status append(LogRecord& r, std::string_view body);
  // The same in two steps, so the costly part runs before the caller takes its lock: encode
  // (no state touched: seq, created_at and state are filled in by the write), with the body
  // appended to `buf` between begin and finish (written in place, not copied) ...
  static core::Status begin_record(std::string_view event_id, std::string_view lead_id,
                                   std::string& buf);
  static core::Status finish_record(std::string& buf);
  // ... then write records encoded back to back into `buf` (in the order of `recs`) with one
  // pwrite, each with its record's seq, created_at and state: a batch costs one system call
  // however many events it holds.
  core::Status append_encoded(std::span<LogRecord* const> recs, std::string& buf);
  // Rewrites the state block of a live record (after a failed attempt).
  core::Status write_state(const LogRecord& r);
  // Zeroes the record of event `seq` (it stays parseable as a done record that keeps its seq);
  // deletes its segment once no live record is left in it and it is not the one being appended
  // to.
  core::Status mark_done(const RecordLocation& at, int64_t seq);
  // A live record, read back (with `at` set).
  core::Result<LogRecord> read(const RecordLocation& at);
  // The segments written since the last call, to fdatasync (FULL durability, erasure)
  // without holding the caller's lock: the returned handles keep the files open.
  struct Unsynced {
    std::vector<std::shared_ptr<struct LogSegment>> segments;
    core::Status sync() const;
  };
  Unsynced take_unsynced();

  // Files of the log (for tests and tools).
  std::vector<std::string> files() const;

 private:
  EventLog(std::string base, uint64_t segment_bytes) : base_(std::move(base)), segment_bytes_(segment_bytes) {}
  core::Status load(bool owner);
  core::Status start_segment(uint32_t number);
  void note_written(const std::shared_ptr<LogSegment>& seg);
  void drop_if_empty(uint32_t number);
  std::string segment_path(uint32_t number) const;

  std::string base_;
  uint64_t segment_bytes_;
  int lock_fd_ = -1;
  std::map<uint32_t, std::shared_ptr<LogSegment>> segments_;
  uint32_t current_ = 0;  // segment appended to (owner)
  std::vector<std::shared_ptr<LogSegment>> unsynced_;
};

// The append ring, in front of the log (appends without sync_full): a fixed-size file
// (`<path>-log.ring`, written with zeros when created, so its blocks exist) mapped shared and
// kept resident. An append reserves space and a seq under a short lock, copies its record in
// and publishes it (the record's first 8 bytes, stored last): the event is then in the page
// cache, so it survives kill -9 of the process, and the caller's thread made no system call.
// One drainer at a time moves published records, in seq order, into the log (one pwrite per
// batch) and zeroes their space, so the ring holds no event once it is in the log. A process
// killed before draining leaves its records for the next owner's open to move.
// Records keep the log's layout, each padded to 8 bytes; a skip marker fills the end of the
// file when a record does not fit there.
//
// Thread-safe: any number of appenders; take/release by one drainer at a time.
class EventRing {
 public:
  // Maps (creating or resizing) file_path(db_path) with `bytes` of space (at least 256 KB).
  // Records a killed process left in it are kept for leftovers(). Error: outbox_open_failed.
  static core::Result<std::unique_ptr<EventRing>> open(const std::string& db_path,
                                                       uint64_t bytes);
  ~EventRing();
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  // `<db_path>-log.ring`: the ring file of the outbox at db_path.
  static std::string file_path(const std::string& db_path) { return db_path + "-log.ring"; }
  // The records the ring file holds now (published and intact, in seq order; none if there is
  // no such file), without mapping or changing it: what open() keeps for leftovers(), what a
  // reader (the CLI while the server runs) adds to the log's view, and what an outbox opened
  // with sync_full recovers. Error: outbox_io_error.
  static core::Result<std::vector<LogRecord>> read_records(const std::string& db_path);

  // The records found at open (published and intact), in seq order, with `at` unset. The
  // owner moves them into the log, then calls clear().
  std::vector<LogRecord> leftovers();
  // Zeroes the whole ring (after leftovers() moved into the log, before any append).
  void clear();

  // Copies `record` (as EventLog::finish_record made it) in, with the next seq of `next_seq`,
  // created_at = next_attempt_at = now. False when there is no room (drain, then retry), the
  // record is larger than max_record(), or the ring is closed.
  bool append(std::string& record, std::atomic<int64_t>& next_seq, int64_t now);
  // Refuses appends from now on and waits for those copying their record in.
  void close();
  bool closed() const { return closed_.load(); }
  // The largest record append can take.
  uint64_t max_record() const { return capacity_ / 4; }

  // The published records from the oldest, in seq order, up to about `max_bytes`: their bytes
  // back to back into `bytes`, one LogRecord each (seq, created_at, next_attempt_at, lead_id)
  // into `recs`; only records reserved before the call. Stops at a record still being copied
  // in, unless `wait` (then it waits for it). Returns the position to release() once they
  // are in the log.
  uint64_t take(size_t max_bytes, bool wait, std::string& bytes, std::vector<LogRecord>& recs);
  // Zeroes the space of the records taken up to `end` and frees it.
  void release(uint64_t end, size_t records);

  // Events appended and not released yet (seq_cst: the drainer's sleep depends on it).
  int64_t events() const { return events_.load(); }
  const std::string& path() const { return path_; }

 private:
  EventRing(std::string path, int fd, char* map, uint64_t capacity)
      : path_(std::move(path)), fd_(fd), map_(map), capacity_(capacity) {}
  std::atomic_ref<uint64_t> word(uint64_t pos) const;  // the 8 bytes that publish a record

  std::string path_;
  int fd_;
  char* map_;
  uint64_t capacity_;
  std::vector<LogRecord> leftovers_;
  std::mutex reserve_mu_;
  uint64_t head_ = 0;                 // next free position (monotonic; under reserve_mu_)
  std::atomic<uint64_t> tail_{0};     // oldest position not released (monotonic)
  std::atomic<int64_t> events_{0};    // published or being copied, not yet released
  std::atomic<int> writers_{0};       // appends copying their record in
  std::atomic<bool> closed_{false};
};

}  // namespace crm::detail
