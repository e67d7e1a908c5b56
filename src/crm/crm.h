#pragma once
// crm: the durable CRM push. A scored lead becomes an `Event` (no PII by construction), is
// written to the `Outbox` (an append-only event log; finished events move to SQLite), and a
// `Deliverer` POSTs it to the broker's CRM webhook, signed (HMAC-SHA256), retried with backoff,
// in order per lead, dead-lettered when hopeless. `Receiver` is the reference webhook endpoint
// (`leadscore crm-receiver`). docs/CRM.md is the integrator-facing contract.
//
// Typical wiring (HTTP server):
//   LS_ASSIGN_OR_RETURN(std::unique_ptr<crm::Outbox> outbox,
//                       crm::Outbox::open({.path = "var/outbox.sqlite"}));
//   crm::Deliverer deliverer(*outbox, {.url = crm_url, .secret = secret});
//   LS_TRY(deliverer.start());
//   // on an io thread, after scoring a consenting lead: durable when append_now returns (the
//   // append ring), or, with sync_full, once the callback runs after a grouped fdatasync:
//   if (outbox->appends_at_once()) { auto st = outbox->append_now(event); send the response; }
//   else outbox->append(std::move(event), [=](core::Status st) { send the response });

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.h"
#include "core/result.h"

namespace crm {

// ---------------------------------------------------------------------------------------------
// Time and randomness are injected so retention and backoff are testable without sleeping.

// Returns the current time as Unix milliseconds.
using Clock = std::function<int64_t()>;
// Returns a uniform double in [0, 1).
using Random = std::function<double()>;

int64_t system_clock_ms();
// A thread-safe Random seeded from std::random_device.
Random default_random();

// A clock that only moves when told to; thread-safe. For tests and tools.
class ManualClock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t now() const { return now_.load(); }
  void advance(std::chrono::milliseconds d) { now_ += d.count(); }
  void set(int64_t ms) { now_ = ms; }
  Clock as_clock() { return [this] { return now_.load(); }; }

 private:
  std::atomic<int64_t> now_;
};

// ---------------------------------------------------------------------------------------------
// Events. The only way to put data into the outbox: a closed set of non-personal fields.
// There is deliberately no free-form map and no text field, so a caller cannot forward a
// lead's name, phone, e-mail or notes (DPDP data minimisation).

struct Reason {
  std::string feature;  // schema field name, e.g. "site_visit_scheduled"
  std::string value;    // the feature's value in words/numbers, e.g. "yes", "3", "Pune"
  double impact = 0;    // TreeSHAP contribution (log-odds)
};

struct Event {
  std::string event_id;  // new_event_id() unless replaying; unique
  std::string lead_id;
  std::string model_version;
  double intent_score = 0;  // calibrated probability in [0, 1]
  int score = 0;            // 0..100
  std::string grade;        // "A".."D"
  std::vector<Reason> reasons;
  int64_t scored_at_ms = 0;  // Unix ms; serialised as ISO 8601 UTC
};

// A new time-ordered, ULID-style id: 26 Crockford base32 characters (48-bit ms time, 80 random
// bits). Thread-safe.
std::string new_event_id();
// The same, stamped with `unix_ms` (e.g. the event's scored_at, saving a clock read) and
// written into `out` (reusing its buffer: no allocation on the scoring path).
void new_event_id(int64_t unix_ms, std::string& out);

// Checks an event before it is stored: ids present and short (≤ 128), intent_score in [0, 1],
// score in [0, 100], grade 1-2 chars, ≤ 32 reasons, reason feature/value ≤ 64 chars, and no
// reason value that looks like contact data (an '@' address or a run of ≥ 10 digits), since
// reasons must never carry PII. Codes: invalid_event, pii_in_event (field names the place).
core::Status validate_event(const Event& e);

// The webhook body for one event (a JSON object; see docs/CRM.md). Appends to `out`.
void write_event_json(const Event& e, std::string& out);

// ---------------------------------------------------------------------------------------------
// Signing: X-Leadscore-Signature = "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).

std::string hmac_sha256_hex(std::string_view key, std::string_view data);
std::string sign(std::string_view secret, int64_t unix_seconds, std::string_view body);

// Verifies the two headers against the body in constant time. Errors (all mean HTTP 401):
// missing_signature, invalid_timestamp, timestamp_out_of_range (|now - ts| > max_skew),
// invalid_signature.
core::Status verify_signature(std::string_view secret, std::string_view timestamp_header,
                              std::string_view body, std::string_view signature_header,
                              int64_t now_unix_seconds, int64_t max_skew_seconds);

// ---------------------------------------------------------------------------------------------
// Outbox: a durable queue of CRM events.
//
// Undelivered events live in an append-only event log beside the SQLite file
// (`<path>-log.NNNNNNNN` segments, private format). An append is a copy into a mapped ring
// file (`<path>-log.ring`), which a drainer thread moves into the log in batches: the event is
// in the page cache at once, so a committed event survives kill -9 of the process without a
// system call or a SQLite transaction per event (the per-event index updates of a SQLite queue
// cost more CPU than scoring the lead did).
// The delivery state (attempts, next attempt, leases, per-lead order) is kept in memory and
// written back into the event's record after each failed attempt. When an event finishes, it
// moves to SQLite (`delivered`, kept for the lead's access record until
// `purge_delivered_older_than` removes it; `dead_letter`, kept until retried or purged) and its
// log record is overwritten with zeros, so the log only holds undelivered events.
// `secure_delete` is on and erasure checkpoints the WAL, so erased rows leave no bytes behind in
// the files either. The SQLite table `outbox` is an inbox: dead letters replayed by
// `retry_dead_letters` (possibly from another process, e.g. the CLI while the server runs) and
// outboxes written by older versions are moved from it into the log.
//
// One process owns an outbox (an exclusive lock on `<path>-log.lock`): it appends and delivers.
// Opening an owned outbox fails with outbox_busy, unless `allow_reader` is set: then the
// Outbox can list, count, show records (read from the owner's ring, then its log) and move or
// purge dead letters, but not append, deliver, cancel or erase (those answer outbox_busy).
//
// Threading: every method is thread-safe. `append` never blocks on SQLite (with sync_full it
// waits for nothing either: its callback runs after a grouped fdatasync on the writer thread).
// `claim` and `reschedule` work in memory. Methods that touch SQLite run on one writer thread
// and block the caller until it ran them (call them from a worker or the deliverer, not from an
// io thread), or take a callback. Callbacks run on the writer thread (or inline in `append`):
// never call a blocking Outbox method from inside one (it would wait for itself).

struct OutboxOptions {
  std::string path{};  // SQLite file; created (with its directory and tables) if missing
  // false: an append is written to the page cache before its callback runs (survives kill -9
  // of the process); true: also fdatasync'ed (survives power loss). With true, concurrent
  // appends share one fdatasync (group commit): the writer syncs everything written so far as
  // soon as it is free; max_batch_delay > 0 additionally holds a sync until the oldest waiting
  // append is that old or max_batch appends wait. SQLite runs with synchronous=FULL or NORMAL
  // accordingly.
  bool sync_full = false;
  std::chrono::microseconds max_batch_delay{0};
  size_t max_batch = 256;
  // Undelivered events beyond this are refused (outbox_overloaded): each costs 140-340 bytes of
  // memory (its body stays on disk), so the default bounds that to a few hundred MB while a
  // CRM is down.
  size_t max_queued = 1'000'000;
  uint64_t segment_bytes = 64ull << 20;  // event log segment size
  // The append ring (sync_full off): an append is a copy into this mapped file, and a drainer
  // thread moves what arrived into the log and the delivery queue every ring_drain_interval
  // (one write per batch: cheaper than a write per append). When the ring is full, appends
  // drain it themselves. An event may take up to a quarter of it. At least 256 KB.
  uint64_t ring_bytes = 16ull << 20;
  std::chrono::milliseconds ring_drain_interval{10};
  bool allow_reader = false;             // see above
  // How often the owner looks for dead letters replayed by another process.
  std::chrono::milliseconds inbox_poll{500};
  Clock clock = system_clock_ms;
};

// Where an event is in its life.
enum class EventState { kPending, kDelivered, kDeadLetter };
std::string_view to_string(EventState s);

// One stored event, as shown by records, listings and the CLI. `body` is the JSON sent to the
// CRM (no PII).
struct StoredEvent {
  int64_t seq = 0;  // outbox order
  std::string event_id;
  std::string lead_id;
  std::string body;
  EventState state = EventState::kPending;
  int attempts = 0;
  int64_t created_at_ms = 0;
  int64_t next_attempt_at_ms = 0;  // pending only
  int64_t finished_at_ms = 0;      // delivered_at or dead-lettered at
  std::string last_error;          // e.g. "http_503", "network: Couldn't connect to server"
  int last_status = 0;             // last HTTP status, 0 if none
  std::string recipient;           // delivered only: scheme://host[:port]/path (no query)
};

// "https://user:pw@crm.example.com/hook?token=x" -> "https://crm.example.com/hook": webhook
// URLs often carry credentials in user info or the query string; never show or store those.
std::string redact_url(std::string_view url);

// What leadscore holds about one lead in the outbox (GET /v1/leads/{id}/record). Delivered
// events carry the recipient they went to; pending ones go to the deliverer's current
// --crm-url (the HTTP layer knows it and should show it redacted the same way).
struct LeadRecord {
  std::string lead_id;
  std::vector<StoredEvent> pending, delivered, dead_letter;
};
// {"lead_id":..,"pending":[..],"delivered":[..],"dead_letter":[..]}; each event with its body
// embedded as JSON, state, attempts, times (ISO 8601), last_error and recipient.
void write_lead_record_json(const LeadRecord& r, core::JsonWriter& w);

struct EraseCounts {
  int64_t pending = 0, delivered = 0, dead_letter = 0;
  int64_t total() const { return pending + delivered + dead_letter; }
};

struct OutboxCounts {
  int64_t pending = 0, delivered = 0, dead_letter = 0;
};

struct OutboxStats {
  uint64_t appended = 0;       // events committed by append
  uint64_t transactions = 0;   // log writes: batches drained from the ring, or fdatasync groups
                               // (sync_full)
  uint64_t refused = 0;        // appends refused (overloaded, closed, invalid, I/O error)
  int64_t depth = 0;           // pending events (this process's view)
  // CPU time of the writer thread (CLOCK_THREAD_CPUTIME_ID): grouped fdatasyncs of appends
  // (sync_full) including their callbacks, and running everything else (ack, dead letters,
  // privacy, CLI). Plain appends run on the caller's thread and are not in either.
  uint64_t append_cpu_ns = 0;
  uint64_t other_cpu_ns = 0;
};

// An event handed to the deliverer by `claim`.
struct ClaimedEvent {
  int64_t seq = 0;
  std::string event_id;
  std::string lead_id;
  std::string body;
  int attempts = 0;  // attempts before this one
  int64_t created_at_ms = 0;
};

class Outbox {
 public:
  using Callback = std::function<void(core::Status)>;

  // Opens (creating if needed) the database and starts the writer thread.
  // Errors: outbox_open_failed.
  static core::Result<std::unique_ptr<Outbox>> open(OutboxOptions options);
  // Commits everything already queued, then stops the writer.
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Commits the event; `on_committed` runs once it is durable: inline after its copy into the
  // append ring (sync_full false; a full ring is drained first), or on the writer thread
  // after the grouped fdatasync of its log write (sync_full), so it must be quick (post to
  // your io thread). Errors go through the callback too: invalid_event, pii_in_event,
  // outbox_overloaded, outbox_closed, outbox_busy (a reader), outbox_io_error.
  void append(Event event, Callback on_committed);
  // True when an append is durable as soon as it returns (the append ring: sync_full off).
  bool appends_at_once() const;
  // The append without a callback, when appends_at_once(): the event is committed (in the
  // ring) when this returns ok. Saves the callback's allocations on the scoring path.
  // Errors: as append's, and internal with sync_full (use append).
  core::Status append_now(const Event& event);
  // Same, as a future (blocks whoever waits on it; fine for CLI and tests).
  std::future<core::Status> append(Event event);

  // Called when an event becomes deliverable (its lead had nothing else pending), on the
  // appending thread or the writer thread; the deliverer uses it to wake up. Must be quick and
  // thread-safe. Set it before appending.
  void set_commit_listener(std::function<void()> listener);

  // --- deliverer side ---
  // Up to `limit` due events (next_attempt_at ≤ now) that are each the oldest pending event of
  // their lead, earliest due first, then in outbox order. Claimed events are leased until
  // now + lease, so an event is never claimed twice at once and a stalled deliverer's claims
  // come back after the lease; `reschedule` ends the lease. Leases are not persisted: after a
  // restart every pending event is claimable.
  core::Result<std::vector<ClaimedEvent>> claim(size_t limit, std::chrono::milliseconds lease);
  // Moves events acknowledged with 2xx to `delivered` (recipient stored without query string).
  core::Status ack(const std::vector<int64_t>& seqs, std::string_view recipient);
  // Records a failed attempt: attempts = attempts_total, retry at next_attempt_at_ms.
  core::Status reschedule(int64_t seq, int attempts_total, int64_t next_attempt_at_ms,
                          std::string_view error, int http_status);
  // The same for several failed attempts, in one transaction (one WAL commit, not one each).
  struct Reschedule {
    int64_t seq = 0;
    int attempts_total = 0;
    int64_t next_attempt_at_ms = 0;
    std::string error;
    int http_status = 0;
  };
  core::Status reschedule(const std::vector<Reschedule>& failures);
  // Moves one pending event to dead_letter.
  core::Status dead_letter(int64_t seq, int attempts_total, std::string_view error,
                           int http_status);

  // --- privacy ---
  // Withdrawal: deletes the lead's pending events (queued pushes). Returns how many.
  core::Result<int64_t> cancel_lead(std::string_view lead_id);
  void cancel_lead(std::string lead_id, std::function<void(core::Result<int64_t>)> done);
  // Erasure: deletes the lead's pending, delivered and dead-letter events, then checkpoints the
  // WAL so no copy of them remains in the files.
  core::Result<EraseCounts> erase_lead(std::string_view lead_id);
  void erase_lead(std::string lead_id, std::function<void(core::Result<EraseCounts>)> done);
  // Access: everything held about the lead.
  core::Result<LeadRecord> record_for_lead(std::string_view lead_id);
  void record_for_lead(std::string lead_id, std::function<void(core::Result<LeadRecord>)> done);
  // Retention: deletes delivered events whose delivery is older than `age` (per the clock).
  core::Result<int64_t> purge_delivered_older_than(std::chrono::milliseconds age);

  // --- inspection and dead letters (CLI) ---
  int64_t depth() const;  // pending events (lock-free)
  core::Result<OutboxCounts> counts();
  core::Result<std::vector<StoredEvent>> list(EventState state, size_t limit);
  // Moves dead letters back to pending with attempts reset and their original order;
  // `event_id` empty = all. Returns how many.
  core::Result<int64_t> retry_dead_letters(std::string_view event_id = {});
  // Deletes dead letters that failed more than `age` ago (nullopt = all). Returns how many.
  core::Result<int64_t> purge_dead_letters(std::optional<std::chrono::milliseconds> age);
  OutboxStats stats() const;
  const OutboxOptions& options() const;
  // The event log's segment files (tests and tools: e.g. scanning them for canaries).
  std::vector<std::string> log_files() const;

  class Impl;

 private:
  explicit Outbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Retry policy (pure functions, used by the deliverer and unit-tested on their own).

struct RetryPolicy {
  std::chrono::milliseconds base{500};       // first retry waits up to this
  std::chrono::milliseconds cap{10 * 60 * 1000};  // no backoff wait exceeds this
  int max_attempts = 10;                     // dead-letter after this many attempts
  std::chrono::milliseconds max_age{24 * 3600 * 1000};  // or when the event is this old
  std::chrono::milliseconds max_retry_after{3600 * 1000};  // Retry-After is honoured up to this
};

// Full jitter: u · min(cap, base · 2^(attempt-1)) for the attempt-th failure (attempt ≥ 1),
// u in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int attempt, double u);

// Parses Retry-After (delta seconds, or an IMF-fixdate HTTP date) into a delay from now.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           int64_t now_ms);

enum class AttemptOutcome { kDelivered, kRetry, kDeadLetter };
// 2xx → delivered; network error (http_status 0), 408, 429, 5xx → retry; other → dead letter.
AttemptOutcome classify(int http_status, bool network_error);

// ---------------------------------------------------------------------------------------------
// Deliverer: a background thread with a libcurl multi handle.

struct DelivererOptions {
  std::string url{};     // the CRM webhook (--crm-url)
  std::string secret{};  // HMAC key
  int concurrency = 8;          // requests in flight
  size_t batch_size = 1;        // 1: one event object per request; >1: a JSON array
  std::chrono::milliseconds timeout{10000};  // per request
  // Claimed events not finished within this are claimable again (crash recovery).
  // 0 = timeout + 5 s.
  std::chrono::milliseconds lease{0};
  RetryPolicy retry{};
  Clock clock = system_clock_ms;  // scheduling (backoff, age, latency); signing uses real time
  Random random = nullptr;        // jitter; default_random() if empty
  std::chrono::milliseconds idle_poll{200};  // re-check interval when nothing is due
};

// Delivery latency = time from append to 2xx acknowledgement. Upper bounds in ms.
inline constexpr std::array<int64_t, 12> kLatencyBucketsMs = {
    10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000};

struct DeliveryStats {
  uint64_t delivered = 0;      // events acknowledged 2xx
  uint64_t retried = 0;        // failed attempts rescheduled
  uint64_t dead_lettered = 0;  // events moved to dead_letter
  uint64_t requests = 0;       // HTTP requests completed (any outcome)
  int64_t depth = 0;           // outbox depth
  int64_t in_flight = 0;       // events in requests not finished yet
  // Last time (clock ms) the deliverer made progress: a 2xx, or it found nothing to send.
  // /readyz: depth > 0 and now - last_progress_ms > threshold means stuck.
  int64_t last_progress_ms = 0;
  // The CRM looked unreachable (connection failures, 502 or 504, in a row): the deliverer
  // pauses, then probes with one request at a time until another answer comes (docs/CRM.md).
  bool circuit_open = false;
  // Cumulative counts per kLatencyBucketsMs bound (Prometheus style), plus +Inf at the end.
  std::array<uint64_t, kLatencyBucketsMs.size() + 1> latency_le{};
  double latency_sum_seconds = 0;
};

class Deliverer {
 public:
  // `outbox` must outlive the deliverer.
  Deliverer(Outbox& outbox, DelivererOptions options);
  ~Deliverer();  // stop()
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Starts the background thread. Errors: invalid_crm_url, deliverer_started.
  core::Status start();
  // Stops sending (in-flight requests are abandoned; their events come back after the lease).
  void stop();

  DeliveryStats stats() const;
  // true if events are waiting and nothing was delivered for `threshold`.
  bool stuck(std::chrono::milliseconds threshold) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Receiver: the reference webhook endpoint (also `leadscore crm-receiver`).

struct ReceiverOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;   // 0 = ephemeral; see Receiver::port()
  std::string secret{};
  int64_t max_skew_seconds = 300;
  std::string store_path{};  // if set: each accepted event appended as one JSON line
  bool print = false;      // print one line per accepted event to stdout
  int fail_first = 0;      // answer 503 to the first N requests
  int retry_after_seconds = -1;  // with fail_first: send Retry-After (≥ 0)
  std::chrono::milliseconds delay{0};  // wait before answering each request
  int threads = 2;
};

struct ReceivedEvent {
  std::string event_id, lead_id, grade;
  int score = 0;
  std::string body;  // the event JSON as received (minified)
};

class Receiver {
 public:
  explicit Receiver(ReceiverOptions options);
  ~Receiver();  // stop()
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Binds, loads already-stored event ids from store_path (so de-duplication survives a
  // restart) and starts serving. Errors: receiver_bind_failed, receiver_store_failed.
  core::Status start();
  void stop();
  uint16_t port() const;

  // Accepted events in arrival order (each event id once).
  std::vector<ReceivedEvent> events() const;
  uint64_t requests() const;    // every HTTP request
  uint64_t duplicates() const;  // events answered 200 but not stored again
  uint64_t rejected() const;    // 401/400 answers

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace crm
