// Outbox: undelivered events in the event log and in memory, finished ones in SQLite.
#include <condition_variable>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <map>
#include <set>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "crm/crm.h"
#include "crm/event_log.h"
#include "crm/seq_index.h"
#include "crm/time_format.h"

namespace crm {
namespace {

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr const char* kSchema = R"sql(
-- The inbox: events to move into the event log (replayed dead letters, older versions' queue).
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  last_status INTEGER NOT NULL DEFAULT 0,
  head INTEGER NOT NULL DEFAULT 0,
  leased_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS dead_letter(
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  failed_at INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  last_status INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS dead_letter_lead ON dead_letter(lead_id);
CREATE TABLE IF NOT EXISTS delivered(
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  lead_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL,
  recipient TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS delivered_lead ON delivered(lead_id);
CREATE INDEX IF NOT EXISTS delivered_at ON delivered(delivered_at);
)sql";

// The webhook JSON of a record read back from the log (this version's records hold the event
// in binary: detail::write_event_body).
core::Status render_body(std::string& body, std::string_view event_id, std::string_view lead_id) {
  if (detail::render_event_body(body, event_id, lead_id)) return core::ok();
  return core::make_error("outbox_io_error",
                          "damaged event body in the outbox log (event " + std::string(event_id) +
                              ")");
}

// Refusals of an append, the same whichever path (ring or log) refused it.
core::Error overloaded_error(int64_t held) {
  return {"outbox_overloaded",
          "the CRM outbox already holds " + std::to_string(held) + " undelivered events", ""};
}
core::Error closed_error() { return {"outbox_closed", "the outbox is closed", ""}; }

core::Error sql_error(sqlite3* db, std::string_view what) {
  return core::Error{"outbox_io_error", std::string(what) + ": " + sqlite3_errmsg(db), ""};
}

// A cached prepared statement, reset when the Query goes out of scope.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Query& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  core::Status run() {
    const int rc = step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return tl::unexpected(sql_error(db_, "step"));
    return core::ok();
  }
  int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

}  // namespace

std::string redact_url(std::string_view url) {
  std::string_view rest = url;
  std::string scheme;
  if (auto p = rest.find("://"); p != std::string_view::npos) {
    scheme = std::string(rest.substr(0, p + 3));
    rest.remove_prefix(p + 3);
  }
  if (auto q = rest.find_first_of("?#"); q != std::string_view::npos) rest = rest.substr(0, q);
  const auto slash = rest.find('/');
  const auto at = rest.substr(0, slash).rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  return scheme + std::string(rest);
}

namespace {

void read_events(Query& sel, EventState state, std::vector<StoredEvent>& out) {
  while (sel.step() == SQLITE_ROW) {
    StoredEvent e;
    e.seq = sel.i64(0);
    e.event_id = sel.text(1);
    e.lead_id = sel.text(2);
    e.body = sel.text(3);
    e.created_at_ms = sel.i64(4);
    e.attempts = static_cast<int>(sel.i64(5));
    e.state = state;
    switch (state) {
      case EventState::kPending:
        e.next_attempt_at_ms = sel.i64(6);
        e.last_error = sel.text(7);
        e.last_status = static_cast<int>(sel.i64(8));
        break;
      case EventState::kDelivered:
        e.finished_at_ms = sel.i64(6);
        e.recipient = sel.text(7);
        break;
      case EventState::kDeadLetter:
        e.finished_at_ms = sel.i64(6);
        e.last_error = sel.text(7);
        e.last_status = static_cast<int>(sel.i64(8));
        break;
    }
    out.push_back(std::move(e));
  }
}

constexpr const char* kPendingCols =
    "SELECT seq, event_id, lead_id, body, created_at, attempts, next_attempt_at, last_error, "
    "last_status FROM outbox ";
constexpr const char* kDeliveredCols =
    "SELECT seq, event_id, lead_id, body, created_at, attempts, delivered_at, recipient "
    "FROM delivered ";
constexpr const char* kDeadCols =
    "SELECT seq, event_id, lead_id, body, created_at, attempts, failed_at, last_error, "
    "last_status FROM dead_letter ";

}  // namespace

// A lead's undelivered seqs, ascending: a vector consumed from a front index. Most leads have
// one or a few pending events; a std::deque (a 512-byte block each) made an outage with many
// distinct leads cost ~950 bytes per event instead of ~200.
class SeqQueue {
 public:
  bool empty() const { return front_ == v_.size(); }
  int64_t front() const { return v_[front_]; }
  int64_t back() const { return v_.back(); }
  const int64_t* begin() const { return v_.data() + front_; }
  const int64_t* end() const { return v_.data() + v_.size(); }
  // In order: at the back for a new seq, sorted in for a replayed (older) one.
  void insert(int64_t seq) {
    if (empty() || back() < seq) {
      v_.push_back(seq);
    } else {
      v_.insert(v_.begin() + static_cast<std::ptrdiff_t>(std::lower_bound(begin(), end(), seq) - v_.data()),
                seq);
    }
  }
  void erase(int64_t seq) {
    if (!empty() && front() == seq) {
      ++front_;  // the usual case: the head finished
    } else if (auto at = std::lower_bound(begin(), end(), seq); at != end() && *at == seq) {
      v_.erase(v_.begin() + (at - v_.data()));
    }
    if (empty()) {
      v_.clear();
      front_ = 0;
    } else if (front_ > 16 && front_ * 2 > v_.size()) {
      v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(front_));
      front_ = 0;
    }
  }

 private:
  std::vector<int64_t> v_;
  size_t front_ = 0;
};

// The state mutex: held for a page-cache write and a few map updates (about a microsecond),
// so a waiter spins briefly before sleeping (glibc's adaptive mutex) instead of paying a futex
// sleep and wake-up, which profiling showed as the main cost of contended appends.
class StateMutex {
 public:
  StateMutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&m_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~StateMutex() { pthread_mutex_destroy(&m_); }
  StateMutex(const StateMutex&) = delete;
  StateMutex& operator=(const StateMutex&) = delete;
  void lock() { pthread_mutex_lock(&m_); }
  void unlock() { pthread_mutex_unlock(&m_); }

 private:
  pthread_mutex_t m_;
};

class Outbox::Impl {
 public:
  using LogRecord = detail::LogRecord;

  // An undelivered event in memory: only what scheduling needs (56 bytes, in a SeqIndex
  // slot). Ids, body and last error stay in the log record and are read back when claimed or
  // listed, so a long CRM outage costs little memory and each append touches little.
  struct Pending {
    int64_t created_at = 0;
    int64_t next_attempt_at = 0;
    int64_t leased_until = 0;  // > 0 while claimed
    detail::RecordLocation at{};
    int32_t attempts = 0;
    const std::string* lead = nullptr;  // its key in by_lead (node-based map: stable)
    bool due = false;                   // in `due` (the lead's head, not leased)
  };
  // A lead's undelivered events in seq order; only the first (the head) may be sent.
  struct LeadQueue {
    SeqQueue seqs;
    int64_t head = 0;
  };

  explicit Impl(OutboxOptions o) : opt(std::move(o)) {}

  ~Impl() {
    {
      std::lock_guard lock(wmu);
      stopping = true;
    }
    wcv.notify_all();
    if (writer.joinable()) writer.join();
    for (auto& [sql, s] : stmts) sqlite3_finalize(s);
    if (db) sqlite3_close(db);
  }

  // The database holds lead ids and scores: owner-only, like the event log and the audit log.
  // SQLite creates -wal and -shm with the main file's mode, so creating that one 0600 (before
  // SQLite does, with its 0644) covers all three. Files left group- or world-readable by older
  // versions are tightened.
  core::Status create_owner_only() {
    const int fd = ::open(opt.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return core::make_error("outbox_open_failed",
                              "cannot open " + opt.path + ": " + std::strerror(errno));
    }
    struct stat st {};
    const bool ok = ::fstat(fd, &st) == 0 && ((st.st_mode & 077) == 0 || ::fchmod(fd, 0600) == 0);
    const int err = errno;
    ::close(fd);
    if (!ok) {
      return core::make_error("outbox_open_failed",
                              "cannot make " + opt.path + " owner-only: " + std::strerror(err));
    }
    for (const char* suffix : {"-wal", "-shm"}) {
      const std::string side = opt.path + suffix;
      if (::stat(side.c_str(), &st) == 0 && (st.st_mode & 077) != 0) ::chmod(side.c_str(), 0600);
    }
    return core::ok();
  }

  core::Status open() {
    // The default outbox lives under a data dir that may not exist yet.
    if (const auto parent = std::filesystem::path(opt.path).parent_path(); !parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
    }
    LS_TRY(create_owner_only());
    if (sqlite3_open_v2(opt.path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      return core::make_error("outbox_open_failed", "cannot open " + opt.path + ": " + msg);
    }
    sqlite3_busy_timeout(db, 5000);
    const std::string pragmas =
        std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
        (opt.sync_full ? "FULL" : "NORMAL") +
        // secure_delete: deleted rows (erasure, retention) are zeroed, not left in free space.
        "; PRAGMA secure_delete=ON; PRAGMA journal_size_limit=67108864;";
    LS_TRY(setup(pragmas.c_str()));
    LS_TRY(setup(kSchema));

    auto opened = detail::EventLog::open(opt.path, true, opt.segment_bytes);
    if (!opened && opened.error().code == "outbox_busy" && opt.allow_reader) {
      opened = detail::EventLog::open(opt.path, false, opt.segment_bytes);
    }
    if (!opened) return tl::unexpected(opened.error());
    log = *std::move(opened);
    if (log->owner() && !opt.sync_full) {
      LS_ASSIGN_OR_RETURN(ring, detail::EventRing::open(opt.path, opt.ring_bytes));
      LS_TRY(recover(ring->leftovers()));
      ring->clear();
    } else if (log->owner()) {
      // With sync_full every append is fdatasync'ed through the log: no ring. What a run
      // without it left in one moves into the log (synced) before the ring file goes.
      auto left = detail::EventRing::read_records(opt.path);
      if (!left) return core::make_error("outbox_open_failed", left.error().message);
      LS_TRY(recover(std::move(*left)));
      if (auto st = log->take_unsynced().sync(); !st) {
        return core::make_error("outbox_open_failed", st.error().message);
      }
      std::error_code ec;
      std::filesystem::remove(detail::EventRing::file_path(opt.path), ec);
    }
    writer = std::thread([this] { run(); });
    if (ring) drainer = std::thread([this] { run_drainer(); });
    return core::ok();
  }

  core::Status setup(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      return core::make_error("outbox_open_failed", "cannot set up " + opt.path + ": " + msg);
    }
    return core::ok();
  }

  // Loads the log, then the ring's leftovers, into memory. A record whose event SQLite already
  // shows as delivered or dead-lettered (a crash between that commit and zeroing the record),
  // or a second copy of a seq (a crash while moving the inbox), is zeroed instead.
  core::Status recover(std::vector<LogRecord> ring_leftovers) {
    int64_t max_seq = 0;
    // One read transaction for the per-event checks: without it every query takes and drops
    // SQLite's file locks (fcntl, fstat), which made opening 1,000,000 pending events take 1.9 s.
    if (auto st = q("BEGIN").run(); !st) {
      return core::make_error("outbox_open_failed", st.error().message);
    }
    auto loaded = load_log_and_leftovers(std::move(ring_leftovers), max_seq);
    (void)q(loaded ? "COMMIT" : "ROLLBACK").run();  // it only read: either just ends it
    LS_TRY(loaded);
    for (const char* sql : {"SELECT COALESCE(MAX(seq), 0) FROM delivered",
                            "SELECT COALESCE(MAX(seq), 0) FROM dead_letter",
                            "SELECT COALESCE(MAX(seq), 0) FROM outbox",
                            "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'"}) {
      auto n = count(sql);
      if (!n) return core::make_error("outbox_open_failed", n.error().message);
      max_seq = std::max(max_seq, *n);
    }
    next_seq = max_seq + 1;
    if (auto st = drain_inbox(); !st) return core::make_error("outbox_open_failed", st.error().message);
    inbox_version = data_version();
    return core::ok();
  }

  // recover's reading part (inside its read transaction).
  core::Status load_log_and_leftovers(std::vector<LogRecord> ring_leftovers, int64_t& max_seq) {
    std::vector<std::pair<detail::RecordLocation, int64_t>> stale;  // (where, seq)
    core::Status inner = core::ok();
    LS_TRY(log->scan(
        [&](LogRecord&& r) {
          if (!inner) return;
          auto finished = is_finished(r.seq);
          if (!finished) {
            inner = tl::unexpected(finished.error());
            return;
          }
          if (*finished || pending.contains(r.seq)) {
            stale.emplace_back(r.at, r.seq);
            return;
          }
          add(std::move(r));
        },
        max_seq));
    if (!inner) return core::make_error("outbox_open_failed", inner.error().message);
    for (const auto& [at, seq] : stale) LS_TRY(log->mark_done(at, seq));
    // Acknowledged events a killed process left in the ring go into the log, unless they made
    // it there (or further) before it died.
    for (auto& r : ring_leftovers) {
      max_seq = std::max(max_seq, r.seq);
      auto finished = is_finished(r.seq);
      if (!finished) return core::make_error("outbox_open_failed", finished.error().message);
      if (*finished || pending.contains(r.seq)) continue;
      LS_TRY(log->append(r, r.body));
      add(std::move(r));
    }
    return core::ok();
  }

  core::Result<bool> is_finished(int64_t seq) {
    auto q1 = q("SELECT EXISTS (SELECT 1 FROM delivered WHERE seq = ?1) OR "
                "EXISTS (SELECT 1 FROM dead_letter WHERE seq = ?1)");
    q1.bind(1, seq);
    if (q1.step() != SQLITE_ROW) return tl::unexpected(sql_error(db, "select"));
    return q1.i64(0) != 0;
  }

  int64_t data_version() {
    auto v = count("PRAGMA data_version");
    return v ? *v : -1;
  }

  // Moves the inbox table's events into the log (owner, writer thread or open).
  core::Status drain_inbox() {
    std::vector<LogRecord> rows;
    {
      static const std::string sql = std::string(kPendingCols) + "ORDER BY seq";
      std::vector<StoredEvent> events;
      auto sel = q(sql.c_str());
      read_events(sel, EventState::kPending, events);
      for (auto& e : events) {
        LogRecord r;
        r.seq = e.seq;
        r.event_id = std::move(e.event_id);
        r.lead_id = std::move(e.lead_id);
        r.body = std::move(e.body);
        r.created_at = e.created_at_ms;
        r.attempts = e.attempts;
        r.next_attempt_at = e.next_attempt_at_ms;
        r.last_error = std::move(e.last_error);
        r.last_status = e.last_status;
        rows.push_back(std::move(r));
      }
    }
    if (rows.empty()) return core::ok();
    bool woke = false;
    {
      std::lock_guard lock(mu);
      for (auto& r : rows) {
        raise_next_seq(r.seq + 1);
        if (pending.contains(r.seq)) continue;
        LS_TRY(log->append(r, r.body));
        r.body = std::string();
        woke |= add(std::move(r));
      }
    }
    auto del = q("DELETE FROM outbox WHERE seq <= ?1");
    del.bind(1, rows.back().seq);
    LS_TRY(del.run());
    if (woke) notify_listener();
    return core::ok();
  }

  // --- in-memory queue (caller holds mu) ---

  // Adds an event; returns true if it became its lead's deliverable head. `counted`: already
  // in `depth` (an event from the append ring, counted when it was appended).
  bool add(LogRecord&& r, bool counted = false) {
    const int64_t seq = r.seq;
    auto lq = by_lead.try_emplace(std::move(r.lead_id)).first;  // one hash lookup per append
    // New seqs are the largest so far: both inserts go at the end in O(1) (a replayed dead
    // letter is older and is inserted in order).
    pending.insert(seq, Pending{r.created_at, r.next_attempt_at, 0, r.at, r.attempts, &lq->first});
    lq->second.seqs.insert(seq);
    if (!counted) depth.fetch_add(1);
    return refresh_head(lq);
  }

  // Removes an event (finished or withdrawn).
  void remove(int64_t seq) {
    Pending* p = pending.find(seq);
    if (p == nullptr) return;
    unschedule(seq, *p);
    auto lq = by_lead.find(*p->lead);
    pending.erase(seq);
    if (lq != by_lead.end()) {
      lq->second.seqs.erase(seq);
      refresh_head(lq);
    }
    depth.fetch_sub(1);
  }

  // Makes the lead's oldest event its head (a replayed dead letter can be older than the
  // current one); forgets a lead with nothing left. Returns true if a head became due.
  bool refresh_head(std::unordered_map<std::string, LeadQueue>::iterator lq) {
    if (lq->second.seqs.empty()) {
      by_lead.erase(lq);
      return false;
    }
    const int64_t h = lq->second.seqs.front();
    if (h == lq->second.head) return false;
    if (Pending* old = pending.find(lq->second.head); old != nullptr && old->due) {
      due.erase({old->next_attempt_at, lq->second.head});
      old->due = false;
    }
    lq->second.head = h;
    return make_due(h, pending.at(h));
  }

  // Takes the event out of the due and leased sets (it is finished, or due again later).
  void unschedule(int64_t seq, Pending& p) {
    if (p.due) due.erase({p.next_attempt_at, seq});
    if (p.leased_until > 0) leased.erase({p.leased_until, seq});
    p.due = false;
    p.leased_until = 0;
  }

  bool make_due(int64_t seq, Pending& p) {
    if (p.due || p.leased_until > 0) return false;
    due.insert({p.next_attempt_at, seq});
    p.due = true;
    return true;
  }

  bool is_head(int64_t seq, const Pending& p) const {
    auto lq = by_lead.find(*p.lead);
    return lq != by_lead.end() && lq->second.head == seq;
  }

  void notify_listener() {
    std::function<void()> l;
    {
      std::lock_guard lock(listener_mu);
      l = listener;
    }
    if (l) l();
  }

  // --- SQLite (writer thread) ---

  Query q(const char* sql) {
    auto it = stmts.find(sql);
    if (it == stmts.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
        // Programming error in a constant statement: fail loudly in tests.
        std::fprintf(stderr, "crm outbox: cannot prepare %s: %s\n", sql, sqlite3_errmsg(db));
        std::abort();
      }
      it = stmts.emplace(sql, s).first;
    }
    return Query(db, it->second);
  }

  core::Status exec(const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return tl::unexpected(sql_error(db, sql));
    }
    return core::ok();
  }

  core::Result<int64_t> count(const char* sql) {
    auto query = q(sql);
    if (query.step() != SQLITE_ROW) return tl::unexpected(sql_error(db, "count"));
    return query.i64(0);
  }

  // Runs fn inside BEGIN IMMEDIATE .. COMMIT (ROLLBACK on error), statements prepared once.
  template <typename Fn>
  auto transaction(Fn&& fn) -> decltype(fn()) {
    if (auto st = q("BEGIN IMMEDIATE").run(); !st) return tl::unexpected(st.error());
    auto result = fn();
    if (!result) {
      (void)q("ROLLBACK").run();
      return result;
    }
    if (auto st = q("COMMIT").run(); !st) {
      (void)q("ROLLBACK").run();
      return tl::unexpected(st.error());
    }
    return result;
  }

  core::Status require_owner() const {
    if (log->owner()) return core::ok();
    return core::make_error("outbox_busy",
                            "the outbox is owned by another process (a running server?); "
                            "this one may only read it and manage dead letters");
  }

  // Runs fn on the writer thread and waits for its result.
  template <typename T, typename Fn>
  core::Result<T> call(Fn&& fn) {
    std::promise<core::Result<T>> promise;
    auto future = promise.get_future();
    submit<T>(std::forward<Fn>(fn), [&promise](core::Result<T> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  template <typename T, typename Fn>
  void submit(Fn&& fn, std::function<void(core::Result<T>)> done) {
    {
      std::lock_guard lock(wmu);
      if (!stopping) {
        ops.emplace_back([fn = std::forward<Fn>(fn), done = std::move(done)]() mutable {
          done(fn());
        });
        wcv.notify_one();
        return;
      }
    }
    done(tl::unexpected(closed_error()));
  }

  // Writer thread: SQLite work (ops), grouped fdatasyncs (sync_full), inbox polling.
  void run() {
    pthread_setname_np(pthread_self(), "ls-outbox");  // for top -H, perf, /proc/*/task
    std::unique_lock lock(wmu);
    for (;;) {
      const bool woke = wcv.wait_for(lock, opt.inbox_poll, [&] {
        return stopping || !sync_waiters.empty() || !ops.empty();
      });
      if (!sync_waiters.empty()) {
        if (opt.max_batch_delay.count() > 0 && sync_waiters.size() < opt.max_batch && !stopping) {
          wcv.wait_until(lock, first_arrival + opt.max_batch_delay, [&] {
            return stopping || sync_waiters.size() >= opt.max_batch || !ops.empty();
          });
        }
        auto batch = std::move(sync_waiters);
        sync_waiters.clear();
        lock.unlock();
        const uint64_t t0 = thread_cpu_ns();
        detail::EventLog::Unsynced todo;
        {
          std::lock_guard state(mu);
          todo = log->take_unsynced();
        }
        const core::Status st = todo.sync();
        ++transactions;
        for (auto& done : batch) done(st);
        append_cpu_ns += thread_cpu_ns() - t0;
        lock.lock();
        continue;
      }
      if (!ops.empty()) {
        auto batch = std::move(ops);
        ops.clear();
        lock.unlock();
        const uint64_t t0 = thread_cpu_ns();
        for (auto& op : batch) op();
        other_cpu_ns += thread_cpu_ns() - t0;
        lock.lock();
        continue;
      }
      if (stopping) return;
      if (!woke && log->owner()) {
        lock.unlock();
        // Another process (the CLI) replayed dead letters into the inbox.
        if (const int64_t v = data_version(); v != inbox_version) {
          inbox_version = v;
          (void)drain_inbox();
        }
        lock.lock();
      }
    }
  }

  OutboxOptions opt;
  sqlite3* db = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> stmts;  // keyed by the constant SQL's address
  int64_t inbox_version = -1;

  // State: the log and the in-memory queue.
  StateMutex mu;
  std::unique_ptr<detail::EventLog> log;
  std::atomic<int64_t> next_seq{1};  // ring appends take theirs without `mu`
  void raise_next_seq(int64_t at_least) {
    int64_t cur = next_seq.load();
    while (cur < at_least && !next_seq.compare_exchange_weak(cur, at_least)) {
    }
  }
  detail::SeqIndex<Pending> pending;
  std::unordered_map<std::string, LeadQueue> by_lead;
  std::set<std::pair<int64_t, int64_t>> due;     // (next_attempt_at, seq)
  std::set<std::pair<int64_t, int64_t>> leased;  // (leased_until, seq)
  bool closed = false;

  // Writer thread queue.
  std::thread writer;
  std::mutex wmu;
  std::condition_variable wcv;
  std::vector<std::function<void()>> ops;
  std::vector<Callback> sync_waiters;
  std::chrono::steady_clock::time_point first_arrival;
  bool stopping = false;

  std::mutex listener_mu;
  std::function<void()> listener;
  std::atomic<int64_t> depth{0};  // undelivered events: in memory, and in the ring not drained
  std::atomic<uint64_t> appended{0}, transactions{0}, refused{0};

  void refuse(Callback& on_committed, core::Error e) {
    ++refused;
    on_committed(tl::unexpected(std::move(e)));
  }
  core::Status refuse(core::Error e) {
    ++refused;
    return tl::unexpected(std::move(e));
  }
  core::Status prepare(const Event& event, std::string& record);
  void commit(std::string lead_id, std::string& record, Callback on_committed);
  std::atomic<uint64_t> append_cpu_ns{0}, other_cpu_ns{0};

  // The append ring (owner, sync_full off) and its drainer.
  std::unique_ptr<detail::EventRing> ring;
  std::mutex drain_mu;  // one drain at a time: the drainer thread, or whoever must see it all
  core::Status drain_ring(bool wait);
  core::Status append_to_ring(std::string& record);
  std::thread drainer;
  std::mutex ring_mu;
  std::condition_variable ring_cv;
  bool ring_stop = false, ring_poked = false;
  std::atomic<bool> ring_sleeping{false};
  void run_drainer();
  void poke_drainer() {
    {
      std::lock_guard lock(ring_mu);
      ring_poked = true;
    }
    ring_cv.notify_one();
  }
};

Outbox::Outbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Outbox::~Outbox() {
  auto& d = *impl_;
  if (d.ring) {
    d.ring->close();  // later appends get outbox_closed; those copying in finish first
    {
      std::lock_guard lock(d.ring_mu);
      d.ring_stop = true;
    }
    d.ring_cv.notify_one();
    d.drainer.join();
    (void)d.drain_ring(true);  // on failure they stay in the ring for the next open
  }
  // Appends racing with destruction get outbox_closed, not a dangling log.
  std::lock_guard lock(d.mu);
  d.closed = true;
}

core::Result<std::unique_ptr<Outbox>> Outbox::open(OutboxOptions options) {
  if (!options.clock) options.clock = system_clock_ms;
  if (options.max_batch == 0) options.max_batch = 1;
  if (options.inbox_poll.count() <= 0) options.inbox_poll = std::chrono::milliseconds(500);
  auto impl = std::make_unique<Impl>(std::move(options));
  LS_TRY(impl->open());
  return std::unique_ptr<Outbox>(new Outbox(std::move(impl)));
}

// The costly part of an append, before any lock: checks and the log record (into `record`).
core::Status Outbox::Impl::prepare(const Event& event, std::string& record) {
  auto st = validate_event(event);
  if (st) st = detail::EventLog::begin_record(event.event_id, event.lead_id, record);
  if (st) {
    detail::write_event_body(event, record);  // binary, straight into the record: no JSON here
    st = detail::EventLog::finish_record(record);
  }
  if (!st) return refuse(st.error());
  return st;
}

// The log path (sync_full, where the ring is not used): writes the record with its own pwrite
// and queues the event in memory, under the state lock; reports the outcome after the grouped
// fdatasync.
void Outbox::Impl::commit(std::string lead_id, std::string& record, Callback on_committed) {
  bool woke = false;
  std::optional<core::Error> refusal;  // reported after the lock is released
  {
    std::lock_guard lock(mu);
    if (closed) {
      refusal = closed_error();
    } else if (auto owner = require_owner(); !owner) {
      refusal = owner.error();
    } else if (pending.size() >= opt.max_queued) {
      refusal = overloaded_error(static_cast<int64_t>(pending.size()));
    } else {
      LogRecord r;
      r.lead_id = std::move(lead_id);
      r.seq = next_seq++;
      r.created_at = opt.clock();
      r.next_attempt_at = r.created_at;
      LogRecord* one = &r;
      if (auto st = log->append_encoded(std::span<LogRecord* const>(&one, 1), record); !st) {
        refusal = st.error();
      } else {
        woke = add(std::move(r));
      }
    }
  }
  if (refusal) return refuse(on_committed, *std::move(refusal));
  ++appended;
  if (woke) notify_listener();
  if (!opt.sync_full) {
    ++transactions;
    return on_committed(core::ok());
  }
  std::lock_guard lock(wmu);
  if (sync_waiters.empty()) first_arrival = std::chrono::steady_clock::now();
  sync_waiters.push_back(std::move(on_committed));
  if (sync_waiters.size() == 1 || sync_waiters.size() >= opt.max_batch) wcv.notify_one();
}

void Outbox::append(Event event, Callback on_committed) {
  auto& d = *impl_;
  if (d.ring) return on_committed(append_now(event));
  thread_local std::string record;
  if (auto st = d.prepare(event, record); !st) return on_committed(std::move(st));
  d.commit(std::move(event.lead_id), record, std::move(on_committed));
}

bool Outbox::appends_at_once() const { return impl_->ring != nullptr; }

core::Status Outbox::append_now(const Event& event) {
  auto& d = *impl_;
  if (!d.ring) {
    return core::make_error("internal", "Outbox::append_now needs the append ring (sync_full off)");
  }
  thread_local std::string record;
  LS_TRY(d.prepare(event, record));
  return d.append_to_ring(record);
}

// The io thread's whole share of a push: a copy into the ring (the drainer moves it into the
// log and the delivery queue within ring_drain_interval). A full ring is drained here first.
core::Status Outbox::Impl::append_to_ring(std::string& record) {
  if (record.size() > ring->max_record()) {
    return refuse({"invalid_event", "event too large for the outbox", ""});
  }
  const int64_t queued = depth.load(std::memory_order_relaxed);
  if (queued >= static_cast<int64_t>(opt.max_queued)) return refuse(overloaded_error(queued));
  for (int attempt = 0;; ++attempt) {
    if (ring->append(record, next_seq, opt.clock())) {
      depth.fetch_add(1);  // now, not when drained: moving into the log does not change it
      break;
    }
    if (ring->closed()) return refuse(closed_error());
    if (attempt == 3) {
      return refuse({"outbox_overloaded", "the outbox's append ring stays full", ""});
    }
    if (auto st = drain_ring(true); !st) return refuse(st.error());
  }
  ++appended;
  if (ring_sleeping.load()) poke_drainer();
  return core::ok();
}

core::Status Outbox::Impl::drain_ring(bool wait) {
  if (!ring) return core::ok();
  std::lock_guard draining(drain_mu);
  thread_local std::string bytes;
  thread_local std::vector<LogRecord> recs;
  thread_local std::vector<LogRecord*> ptrs;
  constexpr size_t kBatchBytes = 1 << 20;
  for (;;) {
    bytes.clear();
    recs.clear();
    const uint64_t end = ring->take(kBatchBytes, wait, bytes, recs);
    if (recs.empty()) {
      ring->release(end, 0);  // skip markers only, if anything
      return core::ok();
    }
    ptrs.clear();
    for (auto& r : recs) ptrs.push_back(&r);
    bool woke = false;
    {
      std::lock_guard lock(mu);
      // On failure the records stay in the ring (still durable) and the next drain retries.
      LS_TRY(log->append_encoded(ptrs, bytes));
      for (auto& r : recs) woke |= add(std::move(r), /*counted=*/true);
    }
    ++transactions;
    // Only now is the ring's copy redundant (a crash before this: open drops the duplicate).
    ring->release(end, recs.size());
    if (woke) notify_listener();
    if (bytes.size() < kBatchBytes) return core::ok();
  }
}

// Drains every ring_drain_interval while appends come; after ~100 ms without any it sleeps
// until an append pokes it (appends check `ring_sleeping`, so a busy server pays no wake-ups).
void Outbox::Impl::run_drainer() {
  pthread_setname_np(pthread_self(), "ls-ring");
  const auto interval = std::max(opt.ring_drain_interval, std::chrono::milliseconds(1));
  const int64_t idle_ticks = std::max<int64_t>(1, 100 / interval.count());
  int64_t idle = 0;
  std::chrono::steady_clock::time_point last_report{};
  std::unique_lock lock(ring_mu);
  while (!ring_stop) {
    if (idle < idle_ticks) {
      ring_cv.wait_for(lock, interval, [&] { return ring_stop || ring_poked; });
    } else {
      ring_sleeping = true;
      // seq_cst with the appenders' count: an append either sees `ring_sleeping` (and pokes)
      // or is seen here.
      if (ring->events() == 0) ring_cv.wait(lock, [&] { return ring_stop || ring_poked; });
      ring_sleeping = false;
    }
    ring_poked = false;
    lock.unlock();
    const bool had = ring->events() > 0;
    if (auto st = drain_ring(false); !st) {
      // The events stay in the ring (durable); say so every 10 s, not every tick.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report >= std::chrono::seconds(10)) {
        last_report = now;
        std::fprintf(stderr, "crm outbox: cannot move events from the ring into the log: %s\n",
                     st.error().message.c_str());
      }
    }
    idle = had ? 0 : idle + 1;
    lock.lock();
  }
}

std::future<core::Status> Outbox::append(Event event) {
  auto promise = std::make_shared<std::promise<core::Status>>();
  auto future = promise->get_future();
  append(std::move(event), [promise](core::Status st) { promise->set_value(std::move(st)); });
  return future;
}

void Outbox::set_commit_listener(std::function<void()> listener) {
  std::lock_guard lock(impl_->listener_mu);
  impl_->listener = std::move(listener);
}

core::Result<std::vector<ClaimedEvent>> Outbox::claim(size_t limit,
                                                     std::chrono::milliseconds lease) {
  auto& d = *impl_;
  LS_TRY(d.drain_ring(/*wait=*/false));  // the deliverer sees appends without waiting a tick
  std::lock_guard lock(d.mu);
  LS_TRY(d.require_owner());
  const int64_t now = d.opt.clock();
  // Claims whose lease ran out (a stalled or stopped deliverer) are claimable again.
  while (!d.leased.empty() && d.leased.begin()->first <= now) {
    const int64_t seq = d.leased.begin()->second;
    d.leased.erase(d.leased.begin());
    auto& p = d.pending.at(seq);
    p.leased_until = 0;
    if (d.is_head(seq, p)) d.make_due(seq, p);
  }
  std::vector<ClaimedEvent> out;
  while (out.size() < limit && !d.due.empty() && d.due.begin()->first <= now) {
    const int64_t seq = d.due.begin()->second;
    d.due.erase(d.due.begin());
    auto& p = d.pending.at(seq);
    p.due = false;
    p.leased_until = std::max<int64_t>(now + lease.count(), 1);
    d.leased.insert({p.leased_until, seq});
    auto rec = d.log->read(p.at);
    if (!rec) return tl::unexpected(rec.error());
    LS_TRY(render_body(rec->body, rec->event_id, rec->lead_id));
    out.push_back({seq, std::move(rec->event_id), std::move(rec->lead_id), std::move(rec->body),
                   p.attempts, p.created_at});
  }
  return out;
}

namespace {

// Reads the events to finish back from the log, bodies included (writer thread; removals only
// happen there, so they stay pending until `finish_in_log`).
core::Result<std::vector<Outbox::Impl::LogRecord>> take_for_finish(
    Outbox::Impl& d, const std::vector<int64_t>& seqs) {
  std::vector<Outbox::Impl::LogRecord> out;
  std::lock_guard lock(d.mu);
  for (int64_t seq : seqs) {
    const auto* p = d.pending.find(seq);
    if (p == nullptr) continue;
    LS_ASSIGN_OR_RETURN(auto rec, d.log->read(p->at));
    LS_TRY(render_body(rec.body, rec.event_id, rec.lead_id));  // SQLite keeps the JSON
    rec.attempts = p->attempts;
    out.push_back(std::move(rec));
  }
  return out;
}

// After SQLite holds them: zero their records and drop them from memory. A failed zeroing
// only means the event comes back after a restart, where recovery finds it finished.
void finish_in_log(Outbox::Impl& d, const std::vector<Outbox::Impl::LogRecord>& done) {
  std::lock_guard lock(d.mu);
  for (const auto& rec : done) {
    if (!d.pending.contains(rec.seq)) continue;
    (void)d.log->mark_done(rec.at, rec.seq);
    d.remove(rec.seq);
  }
}

}  // namespace

core::Status Outbox::ack(const std::vector<int64_t>& seqs, std::string_view recipient) {
  LS_TRY(impl_->require_owner());
  return impl_->call<void>([this, &seqs, r = redact_url(recipient)]() -> core::Status {
    auto& d = *impl_;
    LS_ASSIGN_OR_RETURN(auto done, take_for_finish(d, seqs));
    if (done.empty()) return core::ok();
    LS_TRY(d.transaction([&]() -> core::Status {
      const int64_t now = d.opt.clock();
      for (const auto& rec : done) {
        auto ins = d.q(
            "INSERT OR REPLACE INTO delivered(seq, event_id, lead_id, body, created_at, attempts, "
            "delivered_at, recipient) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        ins.bind(1, rec.seq).bind(2, rec.event_id).bind(3, rec.lead_id).bind(4, rec.body);
        ins.bind(5, rec.created_at).bind(6, int64_t{rec.attempts} + 1).bind(7, now).bind(8, r);
        LS_TRY(ins.run());
      }
      return core::ok();
    }));
    finish_in_log(d, done);
    return core::ok();
  });
}

core::Status Outbox::reschedule(int64_t seq, int attempts_total, int64_t next_attempt_at_ms,
                                std::string_view error, int http_status) {
  return reschedule({{seq, attempts_total, next_attempt_at_ms, std::string(error), http_status}});
}

core::Status Outbox::reschedule(const std::vector<Reschedule>& failures) {
  auto& d = *impl_;
  std::lock_guard lock(d.mu);
  LS_TRY(d.require_owner());
  for (const auto& f : failures) {
    auto* found = d.pending.find(f.seq);
    if (found == nullptr) continue;  // cancelled or erased meanwhile
    auto& p = *found;
    d.unschedule(f.seq, p);
    p.attempts = f.attempts_total;
    p.next_attempt_at = f.next_attempt_at_ms;
    Impl::LogRecord state;  // written into the record: survives a restart
    state.at = p.at;
    state.attempts = f.attempts_total;
    state.next_attempt_at = f.next_attempt_at_ms;
    state.last_error = f.error.substr(0, 63);
    state.last_status = f.http_status;
    LS_TRY(d.log->write_state(state));
    if (d.is_head(f.seq, p)) d.make_due(f.seq, p);
  }
  return core::ok();
}

core::Status Outbox::dead_letter(int64_t seq, int attempts_total, std::string_view error,
                                 int http_status) {
  LS_TRY(impl_->require_owner());
  return impl_->call<void>([&]() -> core::Status {
    auto& d = *impl_;
    LS_ASSIGN_OR_RETURN(auto done, take_for_finish(d, {seq}));
    if (done.empty()) return core::ok();
    LS_TRY(d.transaction([&]() -> core::Status {
      const auto& rec = done[0];
      auto ins = d.q(
          "INSERT OR REPLACE INTO dead_letter(seq, event_id, lead_id, body, created_at, attempts, "
          "failed_at, last_error, last_status) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
      ins.bind(1, rec.seq).bind(2, rec.event_id).bind(3, rec.lead_id).bind(4, rec.body);
      ins.bind(5, rec.created_at).bind(6, int64_t{attempts_total}).bind(7, d.opt.clock());
      ins.bind(8, error).bind(9, int64_t{http_status});
      return ins.run();
    }));
    finish_in_log(d, done);
    return core::ok();
  });
}

namespace {

// Withdrawal: zeroes and forgets the lead's undelivered events (writer thread).
core::Result<int64_t> do_cancel(Outbox::Impl& d, const std::string& lead_id) {
  // Acknowledged events still in the ring are withdrawn too.
  LS_TRY(d.drain_ring(/*wait=*/true));
  std::lock_guard lock(d.mu);
  auto lq = d.by_lead.find(lead_id);
  if (lq == d.by_lead.end()) return int64_t{0};
  const std::vector<int64_t> seqs(lq->second.seqs.begin(), lq->second.seqs.end());
  for (int64_t seq : seqs) {
    LS_TRY(d.log->mark_done(d.pending.at(seq).at, seq));
    d.remove(seq);
  }
  return static_cast<int64_t>(seqs.size());
}

core::Result<EraseCounts> do_erase(Outbox::Impl& d, const std::string& lead_id) {
  EraseCounts c;
  LS_ASSIGN_OR_RETURN(c.pending, do_cancel(d, lead_id));
  if (c.pending > 0) {
    // The zeros reach the disk now, not at the next writeback.
    detail::EventLog::Unsynced todo;
    {
      std::lock_guard lock(d.mu);
      todo = d.log->take_unsynced();
    }
    LS_TRY(todo.sync());
  }
  auto st = d.transaction([&]() -> core::Status {
    auto inbox = d.q("DELETE FROM outbox WHERE lead_id = ?1");
    inbox.bind(1, lead_id);
    LS_TRY(inbox.run());
    c.pending += inbox.changes();
    auto dl = d.q("DELETE FROM dead_letter WHERE lead_id = ?1");
    dl.bind(1, lead_id);
    LS_TRY(dl.run());
    c.dead_letter = dl.changes();
    auto dv = d.q("DELETE FROM delivered WHERE lead_id = ?1");
    dv.bind(1, lead_id);
    LS_TRY(dv.run());
    c.delivered = dv.changes();
    return core::ok();
  });
  if (!st) return tl::unexpected(st.error());
  // Old page images holding the erased rows live in the WAL until a checkpoint copies the
  // zeroed pages into the database; TRUNCATE then empties the WAL file.
  if (c.total() > 0) LS_TRY(d.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  return c;
}

StoredEvent stored_pending(Outbox::Impl::LogRecord&& r) {
  StoredEvent e;
  e.seq = r.seq;
  e.event_id = std::move(r.event_id);
  e.lead_id = std::move(r.lead_id);
  e.body = std::move(r.body);
  e.state = EventState::kPending;
  e.attempts = r.attempts;
  e.created_at_ms = r.created_at;
  e.next_attempt_at_ms = r.next_attempt_at;
  e.last_error = std::move(r.last_error);
  e.last_status = r.last_status;
  return e;
}

// Undelivered events (of one lead, or all), in seq order, at most `limit`: from memory and
// the log (owner) or by reading the log (reader).
core::Result<std::vector<StoredEvent>> pending_events(Outbox::Impl& d, const std::string* lead,
                                                      size_t limit) {
  LS_TRY(d.drain_ring(/*wait=*/true));  // what was acknowledged is listed
  std::vector<StoredEvent> out;
  std::lock_guard lock(d.mu);
  if (d.log->owner()) {
    auto read = [&](const Outbox::Impl::Pending& p) -> core::Status {
      LS_ASSIGN_OR_RETURN(auto rec, d.log->read(p.at));
      LS_TRY(render_body(rec.body, rec.event_id, rec.lead_id));
      rec.attempts = p.attempts;
      rec.next_attempt_at = p.next_attempt_at;
      out.push_back(stored_pending(std::move(rec)));
      return core::ok();
    };
    if (lead) {
      auto lq = d.by_lead.find(*lead);
      if (lq == d.by_lead.end()) return out;
      for (int64_t seq : lq->second.seqs) {
        if (out.size() >= limit) break;
        LS_TRY(read(d.pending.at(seq)));
      }
      return out;
    }
    core::Status st = core::ok();
    d.pending.for_each([&](int64_t, const Outbox::Impl::Pending& p) {
      if (out.size() >= limit) return false;
      st = read(p);
      return st.has_value();
    });
    LS_TRY(st);
    return out;
  }
  int64_t max_seq = 0;
  std::map<int64_t, StoredEvent> by_seq;
  core::Status rendered = core::ok();
  auto keep = [&](Outbox::Impl::LogRecord&& r) {
    if (lead && r.lead_id != *lead) return;
    if (auto st = render_body(r.body, r.event_id, r.lead_id); !st) rendered = st;
    const int64_t seq = r.seq;
    by_seq.insert_or_assign(seq, stored_pending(std::move(r)));
  };
  // A running owner's acknowledged events reach the log within a drain interval: read its
  // ring first, then the log (whose copy, with its attempts, wins). A ring event finished
  // meanwhile is in SQLite by then (an ack commits there before the log record goes).
  LS_ASSIGN_OR_RETURN(auto in_ring, detail::EventRing::read_records(d.opt.path));
  for (auto& r : in_ring) {
    LS_ASSIGN_OR_RETURN(const bool finished, d.is_finished(r.seq));
    if (!finished) keep(std::move(r));
  }
  LS_TRY(d.log->scan(keep, max_seq));
  LS_TRY(rendered);
  for (auto& [seq, e] : by_seq) {
    if (out.size() >= limit) break;
    out.push_back(std::move(e));
  }
  return out;
}

core::Result<LeadRecord> do_record(Outbox::Impl& d, const std::string& lead_id) {
  static const std::string delivered =
      std::string(kDeliveredCols) + "WHERE lead_id = ?1 ORDER BY seq";
  static const std::string dead = std::string(kDeadCols) + "WHERE lead_id = ?1 ORDER BY seq";
  static const std::string inbox = std::string(kPendingCols) + "WHERE lead_id = ?1 ORDER BY seq";
  LeadRecord r;
  r.lead_id = lead_id;
  LS_ASSIGN_OR_RETURN(r.pending,
                      pending_events(d, &lead_id, std::numeric_limits<size_t>::max()));
  {
    // Replayed dead letters not yet moved into the log.
    auto s = d.q(inbox.c_str());
    s.bind(1, lead_id);
    read_events(s, EventState::kPending, r.pending);
  }
  {
    auto s = d.q(delivered.c_str());
    s.bind(1, lead_id);
    read_events(s, EventState::kDelivered, r.delivered);
  }
  {
    auto s = d.q(dead.c_str());
    s.bind(1, lead_id);
    read_events(s, EventState::kDeadLetter, r.dead_letter);
  }
  return r;
}

}  // namespace

core::Result<int64_t> Outbox::cancel_lead(std::string_view lead_id) {
  LS_TRY(impl_->require_owner());
  return impl_->call<int64_t>([this, id = std::string(lead_id)] { return do_cancel(*impl_, id); });
}
void Outbox::cancel_lead(std::string lead_id, std::function<void(core::Result<int64_t>)> done) {
  if (auto st = impl_->require_owner(); !st) return done(tl::unexpected(st.error()));
  impl_->submit<int64_t>([this, id = std::move(lead_id)] { return do_cancel(*impl_, id); },
                         std::move(done));
}

core::Result<EraseCounts> Outbox::erase_lead(std::string_view lead_id) {
  LS_TRY(impl_->require_owner());
  return impl_->call<EraseCounts>([this, id = std::string(lead_id)] { return do_erase(*impl_, id); });
}
void Outbox::erase_lead(std::string lead_id,
                        std::function<void(core::Result<EraseCounts>)> done) {
  if (auto st = impl_->require_owner(); !st) return done(tl::unexpected(st.error()));
  impl_->submit<EraseCounts>([this, id = std::move(lead_id)] { return do_erase(*impl_, id); },
                             std::move(done));
}

core::Result<LeadRecord> Outbox::record_for_lead(std::string_view lead_id) {
  return impl_->call<LeadRecord>([this, id = std::string(lead_id)] { return do_record(*impl_, id); });
}
void Outbox::record_for_lead(std::string lead_id,
                             std::function<void(core::Result<LeadRecord>)> done) {
  impl_->submit<LeadRecord>([this, id = std::move(lead_id)] { return do_record(*impl_, id); },
                            std::move(done));
}

core::Result<int64_t> Outbox::purge_delivered_older_than(std::chrono::milliseconds age) {
  return impl_->call<int64_t>([this, age]() -> core::Result<int64_t> {
    auto& d = *impl_;
    auto del = d.q("DELETE FROM delivered WHERE delivered_at < ?1");
    del.bind(1, d.opt.clock() - age.count());
    LS_TRY(del.run());
    const int64_t n = del.changes();
    if (n > 0) LS_TRY(d.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    return n;
  });
}

int64_t Outbox::depth() const { return impl_->depth.load(); }

core::Result<OutboxCounts> Outbox::counts() {
  return impl_->call<OutboxCounts>([this]() -> core::Result<OutboxCounts> {
    auto& d = *impl_;
    OutboxCounts c;
    LS_TRY(d.drain_ring(/*wait=*/true));
    if (d.log->owner()) {
      std::lock_guard lock(d.mu);
      c.pending = static_cast<int64_t>(d.pending.size());
    } else {
      LS_ASSIGN_OR_RETURN(auto all,
                          pending_events(d, nullptr, std::numeric_limits<size_t>::max()));
      c.pending = static_cast<int64_t>(all.size());
    }
    LS_ASSIGN_OR_RETURN(const int64_t inbox, d.count("SELECT COUNT(*) FROM outbox"));
    c.pending += inbox;
    LS_ASSIGN_OR_RETURN(c.delivered, d.count("SELECT COUNT(*) FROM delivered"));
    LS_ASSIGN_OR_RETURN(c.dead_letter, d.count("SELECT COUNT(*) FROM dead_letter"));
    return c;
  });
}

core::Result<std::vector<StoredEvent>> Outbox::list(EventState state, size_t limit) {
  return impl_->call<std::vector<StoredEvent>>(
      [this, state, limit]() mutable -> core::Result<std::vector<StoredEvent>> {
        static const std::string pending = std::string(kPendingCols) + "ORDER BY seq LIMIT ?1";
        static const std::string delivered = std::string(kDeliveredCols) + "ORDER BY seq LIMIT ?1";
        static const std::string dead = std::string(kDeadCols) + "ORDER BY seq LIMIT ?1";
        std::vector<StoredEvent> out;
        if (state == EventState::kPending) {
          LS_ASSIGN_OR_RETURN(out, pending_events(*impl_, nullptr, limit));
          if (out.size() >= limit) return out;
          limit -= out.size();  // then the inbox (replayed dead letters not moved yet)
        }
        const std::string& sql = state == EventState::kPending     ? pending
                                 : state == EventState::kDelivered ? delivered
                                                                   : dead;
        auto s = impl_->q(sql.c_str());
        s.bind(1, static_cast<int64_t>(limit));
        read_events(s, state, out);
        return out;
      });
}

core::Result<int64_t> Outbox::retry_dead_letters(std::string_view event_id) {
  return impl_->call<int64_t>([this, id = std::string(event_id)]() -> core::Result<int64_t> {
    auto& d = *impl_;
    int64_t moved = 0;
    auto st = d.transaction([&]() -> core::Status {
      // Into the inbox with the original seq (keeps the lead's order); created_at restarts the
      // max-age clock.
      auto ins = d.q(
          "INSERT OR IGNORE INTO outbox(seq, event_id, lead_id, body, created_at, attempts, "
          "next_attempt_at, last_error, last_status) SELECT seq, event_id, lead_id, body, ?1, 0, "
          "?1, last_error, last_status FROM dead_letter WHERE ?2 = '' OR event_id = ?2");
      ins.bind(1, d.opt.clock()).bind(2, id);
      LS_TRY(ins.run());
      moved = ins.changes();
      auto del = d.q("DELETE FROM dead_letter WHERE ?1 = '' OR event_id = ?1");
      del.bind(1, id);
      return del.run();
    });
    if (!st) return tl::unexpected(st.error());
    // The owner moves them into the log now; a reader leaves that to the owner's next poll.
    if (d.log->owner()) LS_TRY(d.drain_inbox());
    return moved;
  });
}

core::Result<int64_t> Outbox::purge_dead_letters(std::optional<std::chrono::milliseconds> age) {
  return impl_->call<int64_t>([this, age]() -> core::Result<int64_t> {
    auto& d = *impl_;
    auto del = d.q("DELETE FROM dead_letter WHERE failed_at < ?1");
    del.bind(1, age ? d.opt.clock() - age->count() : std::numeric_limits<int64_t>::max());
    LS_TRY(del.run());
    const int64_t n = del.changes();
    if (n > 0) LS_TRY(d.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    return n;
  });
}

OutboxStats Outbox::stats() const {
  return {impl_->appended.load(),      impl_->transactions.load(), impl_->refused.load(),
          impl_->depth.load(),         impl_->append_cpu_ns.load(), impl_->other_cpu_ns.load()};
}

const OutboxOptions& Outbox::options() const { return impl_->opt; }

std::vector<std::string> Outbox::log_files() const {
  std::lock_guard lock(impl_->mu);
  auto files = impl_->log->files();
  if (impl_->ring) files.push_back(impl_->ring->path());
  return files;
}

void write_lead_record_json(const LeadRecord& r, core::JsonWriter& w) {
  auto events = [&w](std::string_view name, const std::vector<StoredEvent>& list) {
    w.key(name).begin_array();
    for (const auto& e : list) {
      w.begin_object();
      w.field("event_id", e.event_id);
      w.field("state", to_string(e.state));
      w.field("attempts", e.attempts);
      w.field("created_at", format_iso8601_ms(e.created_at_ms));
      if (e.state == EventState::kPending) {
        w.field("next_attempt_at", format_iso8601_ms(e.next_attempt_at_ms));
      } else {
        w.field(e.state == EventState::kDelivered ? "delivered_at" : "failed_at",
                format_iso8601_ms(e.finished_at_ms));
      }
      if (!e.last_error.empty()) w.field("last_error", e.last_error);
      if (e.last_status != 0) w.field("last_status", e.last_status);
      if (!e.recipient.empty()) w.field("recipient", e.recipient);
      w.key("event").raw(e.body);  // our own serialised event: valid JSON, no PII
      w.end_object();
    }
    w.end_array();
  };
  w.begin_object();
  w.field("lead_id", r.lead_id);
  events("pending", r.pending);
  events("delivered", r.delivered);
  events("dead_letter", r.dead_letter);
  w.end_object();
}

}  // namespace crm
