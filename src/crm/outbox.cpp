// Outbox: SQLite WAL queue with one group-committing writer thread.
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <pthread.h>
#include <sqlite3.h>

#include "crm/crm.h"
#include "crm/time_format.h"

namespace crm {
namespace {

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr const char* kSchema = R"sql(
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
CREATE INDEX IF NOT EXISTS outbox_lead ON outbox(lead_id, seq);
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

// `head` = 1 marks the oldest pending event of its lead: the only one the deliverer may send
// (per-lead order). It is kept up to date by every statement that inserts or deletes outbox
// rows, so `claim` reads the due heads from this partial index in O(claimed · log n) instead
// of testing every pending row for an older one of its lead (O(depth) per claim, which made
// the writer thread, and with it every scoring response, slow once events queued up).
constexpr const char* kHeadIndex =
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(next_attempt_at, seq) WHERE head = 1;";
// Recomputes `head` for rows matching a WHERE clause (migration, dead-letter replay).
#define LS_OUTBOX_SET_HEADS                                                             \
  "UPDATE outbox SET head = NOT EXISTS (SELECT 1 FROM outbox p WHERE p.lead_id = "      \
  "outbox.lead_id AND p.seq < outbox.seq) "

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


class Outbox::Impl {
 public:
  struct PendingAppend {
    std::string event_id, lead_id, body;
    Callback done;
  };

  explicit Impl(OutboxOptions o) : opt(std::move(o)) {}

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    if (writer.joinable()) writer.join();
    for (auto& [sql, s] : stmts) sqlite3_finalize(s);
    if (db) sqlite3_close(db);
  }

  core::Status open() {
    // The default outbox lives under a data dir that may not exist yet.
    if (const auto parent = std::filesystem::path(opt.path).parent_path(); !parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
    }
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
        "; PRAGMA secure_delete=ON; PRAGMA journal_size_limit=67108864;"
        // A 16 MiB page cache: fewer pread copies on the append path.
        " PRAGMA cache_size=-16384;";
    auto setup = [&](const char* sql) -> core::Status {
      char* err = nullptr;
      if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown";
        sqlite3_free(err);
        return core::make_error("outbox_open_failed", "cannot set up " + opt.path + ": " + msg);
      }
      return core::ok();
    };
    LS_TRY(setup(pragmas.c_str()));
    LS_TRY(setup(kSchema));
    // Outboxes created before these columns are migrated. A claim's lease lives in its own
    // column (not next_attempt_at, which is in outbox_due: every claim would move the event's
    // index entry); `head` is added and marked once.
    if (!has_column("outbox", "leased_until")) {
      LS_TRY(setup("ALTER TABLE outbox ADD COLUMN leased_until INTEGER NOT NULL DEFAULT 0;"));
    }
    if (!has_column("outbox", "head")) {
      LS_TRY(setup("BEGIN IMMEDIATE; ALTER TABLE outbox ADD COLUMN head INTEGER NOT NULL "
                   "DEFAULT 0; " LS_OUTBOX_SET_HEADS "; COMMIT;"));
    }
    LS_TRY(setup(kHeadIndex));
    auto n = count("SELECT COUNT(*) FROM outbox");
    if (!n) return core::make_error("outbox_open_failed", n.error().message);
    depth = *n;
    writer = std::thread([this] { run(); });
    return core::ok();
  }

  bool has_column(const char* table, const char* column) {
    const std::string sql = std::string("SELECT 1 FROM pragma_table_info('") + table +
                            "') WHERE name = '" + column + "'";
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return false;
    const bool found = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return found;
  }

  // After deleting an event of `lead_id`: its next pending event (if any) becomes the head.
  core::Status promote_next(std::string_view lead_id) {
    auto up = q("UPDATE outbox SET head = 1 WHERE seq = (SELECT MIN(seq) FROM outbox "
                "WHERE lead_id = ?1) AND head = 0");
    up.bind(1, lead_id);
    return up.run();
  }

  // Deletes one pending event; promotes the lead's next event if it was the head.
  // Returns how many rows were deleted (0 or 1).
  core::Result<int64_t> delete_pending(int64_t seq) {
    // (Separate SELECT and DELETE: RETURNING goes through an ephemeral table and measured
    // slower.)
    std::string lead_id;
    bool was_head = false;
    {
      auto sel = q("SELECT lead_id, head FROM outbox WHERE seq = ?1");
      sel.bind(1, seq);
      const int rc = sel.step();
      if (rc == SQLITE_DONE) return int64_t{0};
      if (rc != SQLITE_ROW) return tl::unexpected(sql_error(db, "select"));
      lead_id = sel.text(0);
      was_head = sel.i64(1) != 0;
    }
    auto del = q("DELETE FROM outbox WHERE seq = ?1");
    del.bind(1, seq);
    LS_TRY(del.run());
    const int64_t n = del.changes();
    if (was_head && n > 0) LS_TRY(promote_next(lead_id));
    return n;
  }

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

  // Runs fn inside BEGIN IMMEDIATE .. COMMIT (ROLLBACK on error). The three statements are
  // prepared once (sqlite3_exec would parse them again for every group commit).
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
      std::lock_guard lock(mu);
      if (!stopping) {
        ops.emplace_back([this, fn = std::forward<Fn>(fn), done = std::move(done)]() mutable {
          done(fn());
        });
        cv.notify_one();
        return;
      }
    }
    done(core::make_error("outbox_closed", "the outbox is closed"));
  }

  void run() {
    pthread_setname_np(pthread_self(), "ls-outbox");  // for top -H, perf, /proc/*/task
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stopping || !appends.empty() || !ops.empty(); });
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
      if (!appends.empty()) {
        if (opt.max_batch_delay.count() > 0 && appends.size() < opt.max_batch && !stopping) {
          cv.wait_until(lock, first_arrival + opt.max_batch_delay, [&] {
            return stopping || appends.size() >= opt.max_batch || !ops.empty();
          });
        }
        std::vector<PendingAppend> batch;
        const size_t n = std::min(appends.size(), opt.max_batch);
        batch.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(appends.front()));
          appends.pop_front();
        }
        first_arrival = std::chrono::steady_clock::now();
        lock.unlock();
        const uint64_t t0 = thread_cpu_ns();
        commit(batch);
        append_cpu_ns += thread_cpu_ns() - t0;
        lock.lock();
        continue;
      }
      if (stopping) return;
    }
  }

  void commit(std::vector<PendingAppend>& batch) {
    const int64_t now = opt.clock();
    int64_t inserted = 0, new_heads = 0;
    auto st = transaction([&]() -> core::Status {
      for (auto& a : batch) {
        // An event is its lead's head when the lead has nothing else pending.
        int64_t head = 0;
        {
          auto pending = q("SELECT NOT EXISTS (SELECT 1 FROM outbox WHERE lead_id = ?1)");
          pending.bind(1, a.lead_id);
          if (pending.step() != SQLITE_ROW) return tl::unexpected(sql_error(db, "select"));
          head = pending.i64(0);
        }
        auto ins = q("INSERT OR IGNORE INTO outbox(event_id, lead_id, body, created_at, "
                     "next_attempt_at, head) VALUES(?1, ?2, ?3, ?4, ?4, ?5)");
        ins.bind(1, a.event_id).bind(2, a.lead_id).bind(3, a.body).bind(4, now).bind(5, head);
        LS_TRY(ins.run());
        if (ins.changes() > 0) {
          ++inserted;
          new_heads += head;
        }
      }
      return core::ok();
    });
    if (st) {
      depth += inserted;
      appended += batch.size();
      ++transactions;
    } else {
      refused += batch.size();
    }
    for (auto& a : batch) a.done(st);
    // Events queued behind their lead's head are not deliverable yet: no wake-up for them
    // (the deliverer claims again when it finishes the head).
    if (st && new_heads > 0) {
      std::function<void()> l;
      {
        std::lock_guard lock(listener_mu);
        l = listener;
      }
      if (l) l();
    }
  }

  OutboxOptions opt;
  sqlite3* db = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> stmts;  // keyed by the constant SQL's address
  std::thread writer;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<PendingAppend> appends;
  std::vector<std::function<void()>> ops;
  std::chrono::steady_clock::time_point first_arrival;
  bool stopping = false;
  std::mutex listener_mu;
  std::function<void()> listener;
  std::atomic<int64_t> depth{0};
  std::atomic<uint64_t> appended{0}, transactions{0}, refused{0};
  std::atomic<uint64_t> append_cpu_ns{0}, other_cpu_ns{0};
};

Outbox::Outbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Outbox::~Outbox() = default;

core::Result<std::unique_ptr<Outbox>> Outbox::open(OutboxOptions options) {
  if (!options.clock) options.clock = system_clock_ms;
  if (options.max_batch == 0) options.max_batch = 1;
  auto impl = std::make_unique<Impl>(std::move(options));
  LS_TRY(impl->open());
  return std::unique_ptr<Outbox>(new Outbox(std::move(impl)));
}

void Outbox::append(Event event, Callback on_committed) {
  if (auto st = validate_event(event); !st) {
    ++impl_->refused;
    on_committed(std::move(st));
    return;
  }
  Impl::PendingAppend a{std::move(event.event_id), std::move(event.lead_id), {}, {}};
  event.event_id = a.event_id;
  event.lead_id = a.lead_id;
  write_event_json(event, a.body);
  a.done = std::move(on_committed);
  {
    std::unique_lock lock(impl_->mu);
    if (impl_->stopping || impl_->appends.size() >= impl_->opt.max_queued) {
      const bool closed = impl_->stopping;
      lock.unlock();
      ++impl_->refused;
      a.done(closed ? core::make_error("outbox_closed", "the outbox is closed")
                    : core::make_error("outbox_overloaded", "too many events waiting to commit"));
      return;
    }
    const bool was_empty = impl_->appends.empty();
    if (was_empty) impl_->first_arrival = std::chrono::steady_clock::now();
    impl_->appends.push_back(std::move(a));
    // Wake the writer for the first event of a batch or a full batch, not for every event.
    if (was_empty || impl_->appends.size() >= impl_->opt.max_batch) impl_->cv.notify_one();
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
  return impl_->call<std::vector<ClaimedEvent>>([this, limit, lease] {
    auto& d = *impl_;
    return d.transaction([&]() -> core::Result<std::vector<ClaimedEvent>> {
      const int64_t now = d.opt.clock();
      std::vector<ClaimedEvent> out;
      {
        // Per-lead order: only a lead's oldest pending event (head) is due; earliest due
        // first, then outbox order.
        auto sel = d.q(
            "SELECT seq, event_id, lead_id, body, attempts, created_at FROM outbox "
            "INDEXED BY outbox_due WHERE head = 1 AND next_attempt_at <= ?1 "
            "AND leased_until <= ?1 "
            "ORDER BY next_attempt_at, seq LIMIT ?2");
        sel.bind(1, now).bind(2, static_cast<int64_t>(limit));
        int rc;
        while ((rc = sel.step()) == SQLITE_ROW) {
          out.push_back({sel.i64(0), sel.text(1), sel.text(2), sel.text(3),
                         static_cast<int>(sel.i64(4)), sel.i64(5)});
        }
        if (rc != SQLITE_DONE) return tl::unexpected(sql_error(d.db, "claim"));
      }
      for (const auto& e : out) {
        auto up = d.q("UPDATE outbox SET leased_until = ?1 WHERE seq = ?2");
        up.bind(1, now + lease.count()).bind(2, e.seq);
        LS_TRY(up.run());
      }
      return out;
    });
  });
}

core::Status Outbox::ack(const std::vector<int64_t>& seqs, std::string_view recipient) {
  return impl_->call<void>([this, &seqs, r = redact_url(recipient)] {
    auto& d = *impl_;
    int64_t removed = 0;
    auto st = d.transaction([&]() -> core::Status {
      const int64_t now = d.opt.clock();
      for (int64_t seq : seqs) {
        auto ins = d.q(
            "INSERT OR REPLACE INTO delivered(seq, event_id, lead_id, body, created_at, attempts, "
            "delivered_at, recipient) SELECT seq, event_id, lead_id, body, created_at, "
            "attempts + 1, ?1, ?2 FROM outbox WHERE seq = ?3");
        ins.bind(1, now).bind(2, r).bind(3, seq);
        LS_TRY(ins.run());
        LS_ASSIGN_OR_RETURN(const int64_t n, d.delete_pending(seq));
        removed += n;
      }
      return core::ok();
    });
    if (st) d.depth -= removed;
    return st;
  });
}

core::Status Outbox::reschedule(int64_t seq, int attempts_total, int64_t next_attempt_at_ms,
                                std::string_view error, int http_status) {
  return reschedule({{seq, attempts_total, next_attempt_at_ms, std::string(error), http_status}});
}

core::Status Outbox::reschedule(const std::vector<Reschedule>& failures) {
  if (failures.empty()) return core::ok();
  return impl_->call<void>([&]() -> core::Status {
    return impl_->transaction([&]() -> core::Status {
      for (const auto& f : failures) {
        auto up = impl_->q(
            "UPDATE outbox SET attempts = ?1, next_attempt_at = ?2, leased_until = 0, "
            "last_error = ?3, last_status = ?4 WHERE seq = ?5");
        up.bind(1, f.attempts_total).bind(2, f.next_attempt_at_ms).bind(3, f.error);
        up.bind(4, f.http_status).bind(5, f.seq);
        LS_TRY(up.run());
      }
      return core::ok();
    });
  });
}

core::Status Outbox::dead_letter(int64_t seq, int attempts_total, std::string_view error,
                                 int http_status) {
  return impl_->call<void>([&]() -> core::Status {
    auto& d = *impl_;
    int64_t removed = 0;
    auto st = d.transaction([&]() -> core::Status {
      auto ins = d.q(
          "INSERT OR REPLACE INTO dead_letter(seq, event_id, lead_id, body, created_at, attempts, "
          "failed_at, last_error, last_status) SELECT seq, event_id, lead_id, body, created_at, "
          "?1, ?2, ?3, ?4 FROM outbox WHERE seq = ?5");
      ins.bind(1, attempts_total).bind(2, d.opt.clock()).bind(3, error).bind(4, http_status);
      ins.bind(5, seq);
      LS_TRY(ins.run());
      LS_ASSIGN_OR_RETURN(removed, d.delete_pending(seq));
      return core::ok();
    });
    if (st) d.depth -= removed;
    return st;
  });
}

namespace {

core::Result<int64_t> do_cancel(Outbox::Impl& d, const std::string& lead_id) {
  auto del = d.q("DELETE FROM outbox WHERE lead_id = ?1");
  del.bind(1, lead_id);
  LS_TRY(del.run());
  const int64_t n = del.changes();
  d.depth -= n;
  return n;
}

core::Result<EraseCounts> do_erase(Outbox::Impl& d, const std::string& lead_id) {
  EraseCounts c;
  auto st = d.transaction([&]() -> core::Status {
    auto p = d.q("DELETE FROM outbox WHERE lead_id = ?1");
    p.bind(1, lead_id);
    LS_TRY(p.run());
    c.pending = p.changes();
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
  d.depth -= c.pending;
  // Old page images holding the erased rows live in the WAL until a checkpoint copies the
  // zeroed pages into the database; TRUNCATE then empties the WAL file.
  if (c.total() > 0) LS_TRY(d.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  return c;
}

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

core::Result<LeadRecord> do_record(Outbox::Impl& d, const std::string& lead_id) {
  static const std::string pending = std::string(kPendingCols) + "WHERE lead_id = ?1 ORDER BY seq";
  static const std::string delivered =
      std::string(kDeliveredCols) + "WHERE lead_id = ?1 ORDER BY seq";
  static const std::string dead = std::string(kDeadCols) + "WHERE lead_id = ?1 ORDER BY seq";
  LeadRecord r;
  r.lead_id = lead_id;
  {
    auto s = d.q(pending.c_str());
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
  return impl_->call<int64_t>([this, id = std::string(lead_id)] { return do_cancel(*impl_, id); });
}
void Outbox::cancel_lead(std::string lead_id, std::function<void(core::Result<int64_t>)> done) {
  impl_->submit<int64_t>([this, id = std::move(lead_id)] { return do_cancel(*impl_, id); },
                         std::move(done));
}

core::Result<EraseCounts> Outbox::erase_lead(std::string_view lead_id) {
  return impl_->call<EraseCounts>([this, id = std::string(lead_id)] { return do_erase(*impl_, id); });
}
void Outbox::erase_lead(std::string lead_id,
                        std::function<void(core::Result<EraseCounts>)> done) {
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
    LS_ASSIGN_OR_RETURN(c.pending, d.count("SELECT COUNT(*) FROM outbox"));
    LS_ASSIGN_OR_RETURN(c.delivered, d.count("SELECT COUNT(*) FROM delivered"));
    LS_ASSIGN_OR_RETURN(c.dead_letter, d.count("SELECT COUNT(*) FROM dead_letter"));
    d.depth = c.pending;  // resynchronise with changes made by other processes (the CLI)
    return c;
  });
}

core::Result<std::vector<StoredEvent>> Outbox::list(EventState state, size_t limit) {
  return impl_->call<std::vector<StoredEvent>>([this, state, limit] {
    static const std::string pending = std::string(kPendingCols) + "ORDER BY seq LIMIT ?1";
    static const std::string delivered = std::string(kDeliveredCols) + "ORDER BY seq LIMIT ?1";
    static const std::string dead = std::string(kDeadCols) + "ORDER BY seq LIMIT ?1";
    const std::string& sql = state == EventState::kPending     ? pending
                             : state == EventState::kDelivered ? delivered
                                                               : dead;
    std::vector<StoredEvent> out;
    auto s = impl_->q(sql.c_str());
    s.bind(1, static_cast<int64_t>(limit));
    read_events(s, state, out);
    return core::Result<std::vector<StoredEvent>>(std::move(out));
  });
}

core::Result<int64_t> Outbox::retry_dead_letters(std::string_view event_id) {
  return impl_->call<int64_t>([this, id = std::string(event_id)]() -> core::Result<int64_t> {
    auto& d = *impl_;
    int64_t moved = 0;
    auto st = d.transaction([&]() -> core::Status {
      // Original seq keeps the lead's order; created_at restarts the max-age clock.
      auto ins = d.q(
          "INSERT OR IGNORE INTO outbox(seq, event_id, lead_id, body, created_at, attempts, "
          "next_attempt_at, last_error, last_status) SELECT seq, event_id, lead_id, body, ?1, 0, "
          "?1, last_error, last_status FROM dead_letter WHERE ?2 = '' OR event_id = ?2");
      ins.bind(1, d.opt.clock()).bind(2, id);
      LS_TRY(ins.run());
      moved = ins.changes();
      // A replayed event may be older than its lead's current head.
      auto heads = d.q(LS_OUTBOX_SET_HEADS "WHERE lead_id IN (SELECT lead_id FROM dead_letter "
                       "WHERE ?1 = '' OR event_id = ?1)");
      heads.bind(1, id);
      LS_TRY(heads.run());
      auto del = d.q("DELETE FROM dead_letter WHERE ?1 = '' OR event_id = ?1");
      del.bind(1, id);
      return del.run();
    });
    if (!st) return tl::unexpected(st.error());
    d.depth += moved;
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
