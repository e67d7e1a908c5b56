#pragma once
// http: leadscore's HTTP/1.1 service layer on Boost.Beast/Asio.
//
//   Server     accepts connections on one io_context run by N threads (one per core), reads
//              requests with size limits and timeouts, routes them, writes responses
//              (keep-alive, pipelining), drains gracefully on SIGTERM/SIGINT, reloads on SIGHUP.
//   Router     method + path pattern -> handler, with the scope an API key needs.
//   ApiKeys    keys and scopes (score, rerank, admin) compared in constant time.
//   Metrics    counters, gauges, histograms; Prometheus text at GET /metrics.
//   log_event  one structured JSON line per event on stderr; never PII, never API keys.
//
// Error bodies are always {"error":{"code","message","field"}} (see api/openapi.json).
// Handlers run on io threads and must not block: scoring is inline (microseconds); slow work
// goes to Server::post_background and answers through a Responder.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "cache/cache.h"
#include "core/core.h"
#include "crm/crm.h"

namespace model {
class Scorer;
}
namespace text {
class Reranker;
}
namespace cache {
class Cache;
}

namespace http {

// ---------------------------------------------------------------------------------------
// Structured logs

// One key/value of a log line. Values are copied into the line immediately.
class LogField {
 public:
  enum class Kind { kString, kInt, kDouble, kBool };
  LogField(std::string_view key, std::string_view v) : key_(key), kind_(Kind::kString), s_(v) {}
  LogField(std::string_view key, const char* v) : LogField(key, std::string_view(v)) {}
  LogField(std::string_view key, const std::string& v) : LogField(key, std::string_view(v)) {}
  LogField(std::string_view key, int64_t v) : key_(key), kind_(Kind::kInt), i_(v) {}
  LogField(std::string_view key, int v) : LogField(key, static_cast<int64_t>(v)) {}
  LogField(std::string_view key, unsigned v) : LogField(key, static_cast<int64_t>(v)) {}
  LogField(std::string_view key, uint64_t v) : LogField(key, static_cast<int64_t>(v)) {}
  LogField(std::string_view key, double v) : key_(key), kind_(Kind::kDouble), d_(v) {}
  LogField(std::string_view key, bool v) : key_(key), kind_(Kind::kBool), b_(v) {}

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view str() const { return s_; }
  int64_t i() const { return i_; }
  double d() const { return d_; }
  bool b() const { return b_; }

 private:
  std::string_view key_;
  Kind kind_;
  std::string_view s_;
  int64_t i_ = 0;
  double d_ = 0;
  bool b_ = false;
};

// Writes {"ts":..,"level":..,"event":..,<fields>} as one line to the log fd (stderr by
// default) with a single write(2), so lines from different threads never interleave.
// Callers pass codes and ids only: never a PII value or an API key.
void log_event(std::string_view level, std::string_view event,
               std::initializer_list<LogField> fields = {});
void log_event(std::string_view level, std::string_view event, std::span<const LogField> fields);
// Appends the current time as RFC 3339 UTC with milliseconds (the "ts" of every log and audit
// line; the retention job reads it back).
void append_log_timestamp(std::string& out);
// Redirects logs (tests); -1 silences them.
void set_log_fd(int fd);

// ---------------------------------------------------------------------------------------
// Metrics

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Fixed upper bounds (ascending, +Inf implied). observe() is lock-free.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i (i == bounds().size() is the +Inf bucket).
  uint64_t bucket(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 50 us .. 10 s.
const std::vector<double>& latency_buckets();

// A registry of metric families. Registration (any thread) returns a reference that stays
// valid for the registry's lifetime; asking again with the same name and labels returns the
// same metric. Other modules register their own metrics here (cache hits, outbox depth, ...),
// either as metrics they update or as callbacks read at scrape time.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       const std::vector<double>& bounds, const Labels& labels = {});
  // Value computed at scrape time (e.g. a queue depth owned by another module). `type` is
  // "gauge" or "counter". Replaces an earlier callback with the same name and labels.
  void callback(std::string_view name, std::string_view help, std::string_view type,
                const Labels& labels, std::function<double()> fn);
  // A histogram another module counts (e.g. the CRM deliverer's delivery latency), read at
  // scrape time: `fn` returns cumulative counts, one per bound (ascending) and a last one for
  // +Inf (the total), and the sum of the observed values. Replaces like `callback`.
  struct HistogramCounts {
    std::vector<uint64_t> cumulative;
    double sum = 0;
  };
  void histogram_callback(std::string_view name, std::string_view help,
                          std::vector<double> bounds, const Labels& labels,
                          std::function<HistogramCounts()> fn);
  // Removes every sample of a family (e.g. the model info gauge before re-registering it).
  void clear_family(std::string_view name);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  struct Family;
  Family& family(std::string_view name, std::string_view help, std::string_view type);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

// ---------------------------------------------------------------------------------------
// API keys

// What a key may do. A route needs one scope (or none when public).
enum class Scope : uint8_t { kPublic = 0, kScore = 1, kRerank = 2, kAdmin = 4, kAnyKey = 8 };
using ScopeSet = uint8_t;
std::string_view scope_name(Scope s);

class ApiKeys {
 public:
  // "key1:score,rerank;key2:admin" (scopes: score, rerank, admin, all). Errors name the
  // entry by position, never by the key itself.
  static core::Result<ApiKeys> parse(std::string_view spec);
  // A file with one `key:scopes` per line; blank lines and `#` comments are skipped.
  static core::Result<ApiKeys> load_file(const std::string& path);

  struct Match {
    ScopeSet scopes;
    std::string id;  // "key#<n>": safe to log (the key's position, not the key)
  };
  // Constant time in the presented key's content: compares SHA-256 digests against every
  // configured key without early exit.
  std::optional<Match> lookup(std::string_view presented) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    ScopeSet scopes;
  };
  std::vector<Entry> entries_;
};

// ---------------------------------------------------------------------------------------
// Requests, responses, handlers

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Logged with the request line. Set only to validated lead ids (core refuses PII ids).
  std::string lead_id;
  std::string error_code;  // set by write_error; logged
};

// HTTP status for a stable error code (e.g. invalid_json -> 400, field_out_of_range -> 422).
unsigned status_for_error(std::string_view code);
// Fills `res` with {"error":{"code","message","field"}} (field null when empty).
void write_error(Response& res, unsigned status, std::string_view code, std::string_view message,
                 std::string_view field = {});
void write_error(Response& res, const core::Error& err);

class Request {
 public:
  std::string_view method;   // "GET", "POST", ...
  std::string_view target;   // path + query as sent
  std::string_view path;     // without the query
  std::string_view query;    // after '?', may be empty
  std::string_view content_type;
  std::string_view request_id;
  std::string_view route;    // the matched route pattern, e.g. "/v1/leads/{id}/record"
  ScopeSet scopes = 0;       // scopes of the authenticated key (all when auth is off)
  std::string key_id;        // "key#<n>" or "" (auth off / public route)
  // Path parameters, percent-decoded ("/v1/leads/L%205/record" -> id "L 5").
  std::vector<std::pair<std::string_view, std::string>> params;

  std::string_view param(std::string_view name) const;
  // Case-insensitive header lookup ("" when absent).
  std::string_view header(std::string_view name) const;
  std::string_view body() const { return body_ ? std::string_view(*body_) : std::string_view(); }
  // The body with simdjson's padding guaranteed (for the on-demand parser).
  simdjson::padded_string_view padded_body() const;

  // Wiring used by the server.
  void bind_internal(const void* raw_request, std::string* body) {
    raw_ = raw_request;
    body_ = body;
  }

 private:
  const void* raw_ = nullptr;
  std::string* body_ = nullptr;
};

// Parses the request body with a thread-local DOM parser. The element is valid until the next
// call on the same thread (so: use it before answering asynchronously). Errors: invalid_json.
core::Result<simdjson::dom::element> parse_json_body(const Request& req);

// POST /v1/model/reload takes no body or an empty JSON object; anything else is an error
// (invalid_json, or unknown_field naming the field).
core::Status parse_reload_body(const Request& req);

class Session;
// Completes an asynchronous request. Call send() exactly once, from any thread; the Request
// stays valid until then. Destroying an unsent Responder answers 500 internal.
class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<Session> s);
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();
  void send(Response res);

 private:
  std::shared_ptr<Session> session_;
};

// A synchronous handler fills `res`; returning an error writes the error body instead
// (status by status_for_error).
using Handler = std::function<core::Status(Request& req, Response& res)>;
using AsyncHandler = std::function<void(Request& req, Responder responder)>;

enum class BodyPolicy {
  kNone,          // body ignored
  kJson,          // POST body must be application/json (415 otherwise); may be empty
  kJsonRequired,  // as kJson, and an empty body is 400 invalid_json
};

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;  // "/v1/leads/{id}/record": {name} matches one non-empty segment
    Scope scope = Scope::kPublic;
    BodyPolicy body = BodyPolicy::kNone;
    Handler handler;
    AsyncHandler async_handler;
    std::vector<std::string> segments;
    bool has_params = false;
    // False for cheap probes (/healthz, /readyz, /metrics): they answer even when
    // --max-inflight requests are in flight, so a busy server is not reported dead.
    bool counts_against_inflight_limit = true;
  };
  struct Match {
    const Route* route = nullptr;  // null: no route for this method
    std::string allow;             // when route is null but the path exists: "GET, POST"
    // A route on this path whatever its method (route, or one the 405 refers to): its
    // pattern labels the request's metrics. Null only when no route has this path (404).
    const Route* path_route = nullptr;
    std::string bad_param;         // a path parameter with a broken %XX escape (answer 400)
  };

  void add(std::string method, std::string pattern, Scope scope, BodyPolicy body, Handler h);
  void add_async(std::string method, std::string pattern, Scope scope, BodyPolicy body,
                 AsyncHandler h);
  // The route added with exactly this method and pattern (to adjust its settings), or null.
  Route* find(std::string_view method, std::string_view pattern);
  // Fills req.params (percent-decoded) for pattern routes.
  Match match(std::string_view method, std::string_view path, Request* req) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  void insert(std::unique_ptr<Route> r);
  std::vector<std::unique_ptr<Route>> routes_;
};

// ---------------------------------------------------------------------------------------
// Readiness and audit

struct Readiness {
  enum class State { kOk, kDegraded, kDown };
  State state = State::kOk;
  std::string detail;  // short, no PII
};
using ReadinessCheck = std::function<Readiness()>;

// An auditable event: failed authentication, insufficient scope, model reload, erase, ...
// Fields are codes and ids only (never keys or PII).
struct AuditEvent {
  std::string_view action;   // "auth", "model_reload", "erase", ...
  std::string_view outcome;  // "missing_key", "invalid_key", "insufficient_scope", "ok", ...
  std::string_view route;
  std::string_view request_id;
  std::string_view key_id;   // "key#<n>" or ""
  std::string_view detail;
};
using AuditHook = std::function<void(const AuditEvent&)>;

// ---------------------------------------------------------------------------------------
// Server

struct ServerConfig {
  std::string bind = "127.0.0.1";
  uint16_t port = 8000;  // 0: pick a free port (see Server::listen)
  unsigned threads = 0;  // 0: one per core
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  unsigned max_inflight = 4096;  // requests between header read and response written
  std::chrono::milliseconds header_timeout{10'000};     // whole request head
  std::chrono::milliseconds body_idle_timeout{10'000};  // between body bytes
  std::chrono::milliseconds body_timeout{60'000};       // whole body
  std::chrono::milliseconds idle_timeout{60'000};       // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds drain_timeout{30'000};      // graceful shutdown limit
  bool auth = true;
  ApiKeys keys;
  bool access_log = true;
};

class Server {
 public:
  explicit Server(ServerConfig cfg);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Router& router() { return router_; }
  MetricsRegistry& metrics() { return metrics_; }
  const ServerConfig& config() const { return cfg_; }
  unsigned thread_count() const;

  void add_readiness_check(std::string name, ReadinessCheck check);
  // Runs every check; `out` gets (name, result) pairs in registration order.
  Readiness::State check_readiness(std::vector<std::pair<std::string, Readiness>>& out) const;
  // Called on SIGHUP, on the background thread.
  void on_reload(std::function<void()> hook) { reload_hook_ = std::move(hook); }
  // Replaces the default audit sink (a log line with event "audit").
  void set_audit_hook(AuditHook hook) { audit_hook_ = std::move(hook); }
  void audit(const AuditEvent& ev) const;

  // Runs `job` on the server's background thread (one job at a time, in order).
  void post_background(std::function<void()> job);

  // Binds and listens; returns the bound port (useful with port 0).
  core::Result<uint16_t> listen();
  // Serves until SIGTERM/SIGINT or shutdown(), then drains in-flight requests. Returns 0 on
  // a clean drain, 1 if the drain timed out.
  int run();
  // Starts a graceful shutdown (any thread).
  void shutdown();

  // Internal state shared with sessions.
  struct Impl;

 private:
  ServerConfig cfg_;
  Router router_;
  MetricsRegistry metrics_;
  std::vector<std::pair<std::string, ReadinessCheck>> checks_;
  std::function<void()> reload_hook_;
  AuditHook audit_hook_;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------
// Scoring

// The served model. Readers take a snapshot (an atomic shared_ptr load: no lock on the hot
// path); reload() loads the directory again and swaps atomically. A model that fails to load
// is rejected and the old one keeps serving.
class ModelHolder {
 public:
  explicit ModelHolder(std::string dir) : dir_(std::move(dir)) {}
  // Loads for the first time. Errors: model::Scorer::load's.
  core::Status load();
  std::shared_ptr<const model::Scorer> get() const { return scorer_.load(); }

  struct ReloadOutcome {
    bool changed = false;
    std::string previous_version;
    std::string version;
  };
  // Serialised with other reloads; readers keep scoring meanwhile.
  core::Result<ReloadOutcome> reload();
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::mutex reload_mu_;
  std::atomic<std::shared_ptr<const model::Scorer>> scorer_;
};

struct ScoringOptions {
  // Set: PII-looking lead ids are replaced by this (core::ParseOptions::pseudonymise_lead_id,
  // see make_lead_id_pseudonymiser) instead of refused with lead_id_looks_like_pii.
  std::function<std::string(std::string_view)> id_pseudonymiser;
  size_t max_batch = 10000;  // leads per batch request; more is 413 batch_too_large
  // Repeated leads are answered from here (key: model version + encoded row). Null: no cache.
  std::shared_ptr<cache::Cache> cache;
  cache::Ttl cache_ttl = std::chrono::hours(1);
  // Tags cache entries with a keyed hash of the lead id, so erasure can find them.
  std::shared_ptr<const cache::LeadTagger> tagger;
  // Scored leads with consent are queued here for the CRM; the response waits for the commit.
  std::shared_ptr<crm::Outbox> outbox;
  // true: a lead without consent: true is refused (422 consent_required) instead of being
  // scored for the broker's own use (never cached, never pushed).
  bool require_consent = false;
};

// POST /v1/score, POST /score (original prototype's body), GET /v1/model,
// POST /v1/model/reload; SIGHUP reloads too; /readyz reports the model; /metrics carries
// leadscore_model_info{version}.
void add_scoring_routes(Server& server, std::shared_ptr<ModelHolder> models,
                        const ScoringOptions& opts);

// POST /v1/erase {"lead_id"} and GET /v1/leads/{id}/record (admin scope): erasure and access
// for one lead across the cache and the CRM outbox; each erasure writes an audit record with a
// keyed hash of the id (never the id).
struct PrivacyOptions {
  std::shared_ptr<cache::Cache> cache;
  std::shared_ptr<const cache::LeadTagger> tagger;
  std::shared_ptr<crm::Outbox> outbox;
  // Where pending pushes go (crm::redact_url of --crm-url): shown as their recipient.
  std::string crm_recipient;
  // --pseudonymise-lead-ids: a personal-data id names the lead scoring stored as its pseudonym.
  std::function<std::string(std::string_view)> id_pseudonymiser;
};
void add_privacy_routes(Server& server, const PrivacyOptions& opts);
// An audit hook appending one JSON line per event to `path` (created 0600, append-only).
// Empty function if the file cannot be opened.
AuditHook open_audit_log(const std::string& path);

// ---------------------------------------------------------------------------------------
// Rerank

struct RerankOptions {
  std::shared_ptr<text::Reranker> reranker;  // required: minilm or bm25
  // Lead and intent embeddings (MiniLM only), keyed by cache::make_key("emb:<model id>",
  // [lead's embedding tag digest +] scrubbed text). Only leads with consent are cached. Null:
  // every text is encoded on every request.
  std::shared_ptr<cache::Cache> cache;
  // Tags a lead's embeddings with tagger->embedding_tag(lead_id) so POST /v1/erase removes
  // them. Null: embeddings are keyed by text alone and expire only by TTL.
  std::shared_ptr<const cache::LeadTagger> tagger;
  std::chrono::milliseconds embedding_ttl{std::chrono::hours(1)};
  size_t max_leads = 1000;       // more: 413 batch_too_large
  size_t max_text_chars = 2000;  // target_intent and each lead's free text (code points): 422
  // MiniLM requests with more texts to encode than this run on the background thread.
  size_t inline_encode_max = 16;
  // The lead policy shared with /v1/score: id pseudonymisation, withdrawal (`consent:
  // false` cancels queued pushes and drops cached scores and embeddings) and
  // require_consent (items without consent get consent_required). Only id_pseudonymiser,
  // require_consent, outbox, cache and tagger are read.
  ScoringOptions policy;
};

// POST /v1/rerank and the original prototype's POST /rerank (docs/HTTP.md, "Rerank").
// Registers leadscore_text_encoded_total{encoder}.
void add_rerank_routes(Server& server, std::shared_ptr<ModelHolder> models,
                       const RerankOptions& opts);

// GET /healthz, /readyz, /metrics, /openapi.json, /docs, /docs/*, and the console:
// GET / (index.html) and GET /console/{file} from web_dir.
struct BuiltinOptions {
  std::string openapi_path;  // empty: the copy of api/openapi.json embedded at build time
  std::string docs_dir;      // swagger-ui-dist directory; empty: search the usual places
  std::string web_dir;       // the console (web/); empty: console routes answer 404
};
void add_builtin_routes(Server& server, const BuiltinOptions& opts);
// Where swagger-ui-dist was found ("" if nowhere): next to the binary, the working directory,
// or the source tree.
std::string find_swagger_ui_dir(const std::string& exe_path);
// Where the console's web/ directory is ("" if nowhere): $LEADSCORE_WEB_DIR, next to the
// binary, the working directory, or the source tree.
std::string find_web_dir(const std::string& exe_path);
// api/openapi.json as embedded at build time.
std::string_view embedded_openapi();

}  // namespace http

// ---------------------------------------------------------------------------------------
// Privacy helpers: lead id pseudonymisation and the retention job (docs/PRIVACY.md)

namespace http {

// Lead ids that look like personal data (core::looks_like_pii) become
// "p_" + 32 hex of HMAC-SHA256(secret, id): stable for one secret, so the broker can match
// results, and not reversible by enumerating phone numbers without the secret.
// Error `id_secret_too_short` when the secret has fewer than kMinIdSecret bytes.
inline constexpr size_t kMinIdSecret = 16;
using LeadIdPseudonymiser = std::function<std::string(std::string_view)>;
core::Result<LeadIdPseudonymiser> make_lead_id_pseudonymiser(std::string_view secret);

// A lead id named by an operator (POST /v1/erase, GET /v1/leads/{id}/record, `leadscore
// erase`): 1..128 bytes (`field_out_of_range`) and not personal data itself
// (`lead_id_looks_like_pii`: nothing is ever stored under such an id, and refusing keeps it out
// of the audit log). Returns the id unchanged, or with `pseudonymise` (the server's
// --pseudonymise-lead-ids) a personal-data id as the pseudonym scoring stored it under.
core::Result<std::string> check_lead_id(std::string_view id,
                                        const LeadIdPseudonymiser& pseudonymise = {});

struct RetentionOptions {
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
  std::chrono::milliseconds delivered_max_age{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds dead_letter_max_age{std::chrono::hours(24 * 90)};
  std::chrono::milliseconds audit_max_age{std::chrono::hours(24 * 365)};
  std::string audit_log_path;  // empty: no audit-log trimming
  // Stores to purge; unset = not configured. Wired by whoever owns the store.
  std::function<size_t()> purge_cache;  // e.g. [c] { return c->purge_expired(); }
  std::function<core::Result<int64_t>(std::chrono::milliseconds)> purge_delivered;
  std::function<core::Result<int64_t>(std::chrono::milliseconds)> purge_dead_letters;
  // Wall clock (audit-log cutoff); tests inject a fake one.
  std::function<std::chrono::system_clock::time_point()> now;
};

struct RetentionReport {
  size_t cache_purged = 0;
  int64_t delivered_purged = 0;
  int64_t dead_letters_purged = 0;
  int64_t audit_lines_dropped = 0;
  int errors = 0;  // stores that failed this round (logged by code, retried next round)
};

// One round of the policy: purge expired cache entries, delivered CRM events older than
// delivered_max_age, dead letters older than dead_letter_max_age, and audit-log lines whose
// "ts" is older than now - audit_max_age.
RetentionReport run_retention_once(const RetentionOptions& opts);

// Drops the leading lines of a JSON-lines file whose "ts" (RFC 3339 UTC) is before `cutoff`
// (lines are in time order; a line without a readable ts stops the trim). Rewrites the file
// in place under an exclusive flock. Returns the number of lines dropped.
core::Result<int64_t> trim_jsonl_before(const std::string& path,
                                        std::chrono::system_clock::time_point cutoff);

// Runs run_retention_once every interval on its own thread (first round at start) until the
// returned handle is destroyed; counts purges in the server's metrics
// (leadscore_retention_purged_total{store}) and logs one line per round that purged anything.
class RetentionJob {
 public:
  virtual ~RetentionJob() = default;
};
std::unique_ptr<RetentionJob> start_retention(Server& server, RetentionOptions opts);

}  // namespace http
