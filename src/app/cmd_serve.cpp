// `leadscore serve`: the HTTP service (src/http) wired to the model and its dependencies.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "app/app.h"
#include "app/serve_privacy.h"
#include "cache/cache.h"
#include "crm/crm.h"
#include "http/http.h"
#include "text/text.h"

namespace app {
namespace {

struct ServeOptions {
  std::string model_dir;
  std::string bind = "127.0.0.1";
  int port = 8000;
  unsigned threads = 0;
  bool no_auth = false;
  std::string api_keys_file;
  size_t max_body_bytes = 1 << 20;
  size_t max_batch = 10000;
  unsigned max_inflight = 4096;
  int64_t header_timeout_ms = 10'000;
  int64_t body_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t drain_timeout_ms = 30'000;
  std::string openapi_path;
  std::string docs_dir;
  std::string web_dir;
  std::string text_model_dir;
  unsigned text_threads = 1;
  bool no_access_log = false;
  // Cache: local (default), none, redis, two-level.
  std::string cache_mode = "local";
  std::string redis_url;
  int64_t cache_ttl_s = 3600;
  size_t cache_entries = 100'000;
  int64_t redis_timeout_ms = 5;
  // CRM push: enabled by --crm-url; events queue durably in the outbox first.
  std::string data_dir = "var";
  std::string outbox_path;
  std::string crm_url;
  int crm_concurrency = 8;
  int crm_max_attempts = 10;
  int crm_timeout_ms = 10'000;
  int crm_batch_size = 1;
  int crm_max_age_s = 24 * 3600;
  int64_t crm_stuck_after_s = 300;  // /readyz: degraded after this long without progress
  int64_t crm_batch_delay_us = 0;  // --crm-sync-full: fdatasync group window (0: sync when free)
  bool crm_sync_full = false;      // fdatasync every append (power-loss durability)
  size_t crm_max_pending = 1'000'000;  // undelivered events before appends are refused
  bool require_consent = false;
  PrivacyServeOptions privacy;
};

// Secrets come from the environment (never from argv, which other users can read in ps).
std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

void fail(const std::string& message) {
  std::fprintf(stderr, "leadscore serve: %s\n", message.c_str());
  exit_with(2);
}

void wire_cache(const ServeOptions& o, http::Server& server, http::ScoringOptions& so) {
  auto mode = cache::parse_mode(o.cache_mode);
  if (!mode) fail(mode.error().message);
  // A password belongs in the environment, not in argv (visible to every user in `ps`).
  std::string redis_url = o.redis_url.empty() ? env_or_empty("LEADSCORE_REDIS_URL") : o.redis_url;
  if (!o.redis_url.empty()) {
    if (auto u = cache::parse_redis_url(o.redis_url); u && !u->password.empty()) {
      http::log_event("warn", "redis_password_in_argv",
                      {{"detail", "the --redis password is visible in the process list; pass "
                                  "the URL in LEADSCORE_REDIS_URL instead"}});
    }
  }
  if (*mode == cache::Mode::local && !redis_url.empty() && o.cache_mode == "local") {
    mode = cache::Mode::redis;  // a Redis URL alone means: share the cache through Redis
  }
  cache::CacheConfig cc;
  cc.mode = *mode;
  cc.ttl = std::chrono::seconds(o.cache_ttl_s);
  cc.max_entries = o.cache_entries;
  cc.redis_url = redis_url;
  cc.command_timeout = std::chrono::milliseconds(o.redis_timeout_ms);
  cc.on_availability = [](bool available, std::string_view reason) {
    if (available) {
      http::log_event("info", "redis_available", {{"detail", "caching through Redis again"}});
    } else {
      http::log_event("warn", "redis_unavailable",
                      {{"reason", reason}, {"detail", "scoring continues uncached"}});
    }
  };
  auto c = cache::make_cache(cc);
  if (!c) fail(c.error().message);
  auto tagger = cache::make_lead_tagger(cc.mode, env_or_empty("LEADSCORE_CACHE_SECRET"));
  if (!tagger) fail(tagger.error().message + " (set LEADSCORE_CACHE_SECRET)");
  so.cache = std::shared_ptr<cache::Cache>(std::move(*c));
  so.cache_ttl = cc.ttl;
  so.tagger = std::make_shared<const cache::LeadTagger>(*std::move(tagger));
  std::shared_ptr<cache::Cache> cache_ptr = so.cache;
  auto& m = server.metrics();
  m.callback("leadscore_cache_hits_total", "Score cache hits", "counter", {},
             [cache_ptr] { return static_cast<double>(cache_ptr->stats().hits); });
  m.callback("leadscore_cache_misses_total", "Score cache misses", "counter", {},
             [cache_ptr] { return static_cast<double>(cache_ptr->stats().misses); });
  m.callback("leadscore_cache_errors_total", "Remote cache operations that failed", "counter",
             {}, [cache_ptr] { return static_cast<double>(cache_ptr->stats().errors); });
  m.callback("leadscore_cache_skipped_total", "Remote cache operations skipped (breaker open)",
             "counter", {}, [cache_ptr] { return static_cast<double>(cache_ptr->stats().skipped); });
  m.callback("leadscore_cache_breaker_open", "1 while the Redis circuit breaker is open",
             "gauge", {}, [cache_ptr] {
               return cache_ptr->stats().breaker == cache::BreakerState::closed ? 0.0 : 1.0;
             });
  server.add_readiness_check("cache", [cache_ptr] {
    if (cache_ptr->health() == cache::Health::ok) return http::Readiness{};
    return http::Readiness{http::Readiness::State::kDegraded,
                           "redis unavailable: scoring continues uncached"};
  });
}

void wire_crm(const ServeOptions& o, http::Server& server, http::ScoringOptions& so,
              std::unique_ptr<crm::Deliverer>& deliverer) {
  if (o.crm_url.empty()) return;
  const std::string secret = env_or_empty("LEADSCORE_CRM_SECRET");
  if (secret.empty()) fail("--crm-url needs LEADSCORE_CRM_SECRET (the webhook signing key)");
  crm::OutboxOptions oo;
  oo.path = o.outbox_path.empty() ? o.data_dir + "/outbox.sqlite" : o.outbox_path;
  oo.max_batch_delay = std::chrono::microseconds(o.crm_batch_delay_us);
  oo.sync_full = o.crm_sync_full;
  oo.max_queued = o.crm_max_pending;
  auto outbox = crm::Outbox::open(oo);
  if (!outbox) fail("cannot open outbox " + oo.path + ": " + outbox.error().message);
  so.outbox = std::shared_ptr<crm::Outbox>(std::move(*outbox));
  crm::DelivererOptions dopt;
  dopt.url = o.crm_url;
  dopt.secret = secret;
  dopt.concurrency = o.crm_concurrency;
  dopt.retry.max_attempts = o.crm_max_attempts;
  dopt.timeout = std::chrono::milliseconds(o.crm_timeout_ms);
  dopt.batch_size = static_cast<size_t>(o.crm_batch_size);
  dopt.retry.max_age = std::chrono::seconds(o.crm_max_age_s);
  deliverer = std::make_unique<crm::Deliverer>(*so.outbox, dopt);
  if (auto st = deliverer->start(); !st) fail(st.error().message);
  crm::Deliverer* d = deliverer.get();
  auto& m = server.metrics();
  m.callback("leadscore_crm_outbox_depth", "CRM events waiting for delivery", "gauge", {},
             [d] { return static_cast<double>(d->stats().depth); });
  std::shared_ptr<crm::Outbox> ob = so.outbox;
  m.callback("leadscore_crm_outbox_appends_total", "CRM events committed to the outbox",
             "counter", {}, [ob] { return static_cast<double>(ob->stats().appended); });
  m.callback("leadscore_crm_outbox_commits_total",
             "Outbox event log writes: batches moved from the append ring, or group "
             "fdatasyncs with --crm-sync-full", "counter", {},
             [ob] { return static_cast<double>(ob->stats().transactions); });
  using CpuField = uint64_t crm::OutboxStats::*;
  for (const auto& [work, field] :
       {std::pair<const char*, CpuField>{"append", &crm::OutboxStats::append_cpu_ns},
        {"delivery", &crm::OutboxStats::other_cpu_ns}}) {
    m.callback("leadscore_crm_outbox_writer_cpu_seconds_total",
               "CPU time of the outbox writer thread by work: append (group fdatasyncs with "
               "--crm-sync-full; plain appends run on the io threads) or delivery (acks, dead "
               "letters, privacy calls)",
               "counter", {{"work", work}},
               [ob, field] { return static_cast<double>(ob->stats().*field) / 1e9; });
  }
  for (const char* outcome : {"delivered", "retried", "dead_letter"}) {
    const std::string o2 = outcome;
    m.callback("leadscore_crm_deliveries_total", "CRM delivery attempts by outcome", "counter",
               {{"outcome", o2}}, [d, o2] {
                 const auto s = d->stats();
                 return static_cast<double>(o2 == "delivered" ? s.delivered
                                            : o2 == "retried" ? s.retried
                                                              : s.dead_lettered);
               });
  }
  std::vector<double> latency_bounds;
  for (int64_t ms : crm::kLatencyBucketsMs) latency_bounds.push_back(static_cast<double>(ms) / 1e3);
  m.histogram_callback("leadscore_crm_delivery_latency_seconds",
                       "Time from an event's append to its CRM's 2xx", std::move(latency_bounds),
                       {}, [d] {
                         const auto s = d->stats();
                         return http::MetricsRegistry::HistogramCounts{
                             {s.latency_le.begin(), s.latency_le.end()}, s.latency_sum_seconds};
                       });
  m.callback("leadscore_crm_last_progress_seconds",
             "When the deliverer last made progress (a 2xx, or nothing to send), Unix seconds",
             "gauge", {}, [d] { return static_cast<double>(d->stats().last_progress_ms) / 1e3; });
  m.callback("leadscore_crm_circuit_open",
             "1 while the CRM looks unreachable and delivery pauses between probes", "gauge", {},
             [d] { return d->stats().circuit_open ? 1.0 : 0.0; });
  const auto stuck_after = std::chrono::seconds(o.crm_stuck_after_s);
  server.add_readiness_check("crm", [d, stuck_after] {
    if (!d->stuck(stuck_after)) return http::Readiness{};
    return http::Readiness{http::Readiness::State::kDegraded,
                           "CRM deliverer made no progress for over " +
                               std::to_string(stuck_after.count()) +
                               " s (--crm-stuck-after); events are queued"};
  });
  http::log_event("info", "crm_push_enabled",
                  {{"outbox", oo.path}, {"crm", crm::redact_url(o.crm_url)}});
}

void run_serve(const ServeOptions& o) {
  protect_process_memory(o.privacy);  // before any request body is in memory
  http::ServerConfig cfg;
  cfg.bind = o.bind;
  cfg.port = static_cast<uint16_t>(o.port);
  cfg.threads = o.threads;
  cfg.max_body_bytes = o.max_body_bytes;
  cfg.max_inflight = o.max_inflight;
  cfg.header_timeout = std::chrono::milliseconds(o.header_timeout_ms);
  cfg.body_idle_timeout = std::chrono::milliseconds(o.body_timeout_ms);
  cfg.idle_timeout = std::chrono::milliseconds(o.idle_timeout_ms);
  cfg.drain_timeout = std::chrono::milliseconds(o.drain_timeout_ms);
  cfg.access_log = !o.no_access_log;

  if (o.no_auth) {
    cfg.auth = false;
    http::log_event("warn", "auth_disabled",
                    {{"message", "--no-auth: every route is open to anyone who can connect; "
                                 "use only for local demos"}});
  } else {
    core::Result<http::ApiKeys> keys = http::ApiKeys{};
    if (!o.api_keys_file.empty()) {
      keys = http::ApiKeys::load_file(o.api_keys_file);
    } else if (const char* env = std::getenv("LEADSCORE_API_KEYS")) {
      keys = http::ApiKeys::parse(env);
    }
    if (!keys) fail(keys.error().message);
    if (keys->size() == 0) {
      fail("no API keys: set LEADSCORE_API_KEYS (e.g. 'key1:score,rerank;key2:admin') or "
           "--api-keys-file, or pass --no-auth for a local demo");
    }
    cfg.keys = *std::move(keys);
  }

  http::Server server(cfg);
  std::unique_ptr<crm::Deliverer> deliverer;  // stops before the outbox it reads
  struct {
    std::shared_ptr<cache::Cache> cache;
    std::shared_ptr<crm::Outbox> outbox;
  } retained;  // what the retention job purges
  http::BuiltinOptions bo;
  bo.openapi_path = o.openapi_path;
  bo.docs_dir = o.docs_dir.empty() ? http::find_swagger_ui_dir(self_exe()) : o.docs_dir;
  if (bo.docs_dir.empty()) {
    http::log_event("warn", "swagger_ui_missing",
                    {{"message", "node_modules/swagger-ui-dist not found: /docs is disabled "
                                 "(run scripts/setup-deps.sh)"}});
  }
  bo.web_dir = o.web_dir.empty() ? http::find_web_dir(self_exe()) : o.web_dir;
  if (bo.web_dir.empty()) {
    http::log_event("warn", "console_missing",
                    {{"message", "web/ not found: the console at / is disabled (--web-dir)"}});
  }
  http::add_builtin_routes(server, bo);
  std::error_code mkdir_ec;
  std::filesystem::create_directories(o.data_dir, mkdir_ec);
  auto file_hook = http::open_audit_log(o.data_dir + "/audit.log");
  if (!file_hook) fail("cannot open the audit log in " + o.data_dir);
  // Audit records go to the append-only file and, as before, to the JSON log on stderr.
  server.set_audit_hook([file_hook = std::move(file_hook)](const http::AuditEvent& ev) {
    file_hook(ev);
    http::log_event("warn", "audit",
                    {{"action", ev.action}, {"outcome", ev.outcome}, {"route", ev.route},
                     {"request_id", ev.request_id}, {"key_id", ev.key_id}, {"detail", ev.detail}});
  });

  if (!o.model_dir.empty()) {
    auto models = std::make_shared<http::ModelHolder>(o.model_dir);
    if (auto st = models->load(); !st) {
      fail("cannot load model " + o.model_dir + ": " + st.error().code + ": " +
           st.error().message);
    }
    http::ScoringOptions so;
    so.max_batch = o.max_batch;
    so.require_consent = o.require_consent;
    wire_cache(o, server, so);
    wire_crm(o, server, so, deliverer);
    retained.cache = so.cache;
    retained.outbox = so.outbox;
    so.id_pseudonymiser = lead_id_pseudonymiser(o.privacy);
    http::add_scoring_routes(server, models, so);

    // Rerank: MiniLM with --text-model, else the BM25 lexical encoder. A --text-model that
    // does not load is a startup error (silently serving BM25 would surprise the operator).
    http::RerankOptions ro;
    if (!o.text_model_dir.empty()) {
      core::Error why;
      ro.reranker = text::make_reranker(o.text_model_dir, {.threads = static_cast<int>(o.text_threads)}, &why);
      if (ro.reranker->name() != "minilm") {
        fail("cannot load text model " + o.text_model_dir + ": " + why.code + ": " + why.message);
      }
    } else {
      ro.reranker = text::make_reranker({});
    }
    // Lead and intent embeddings share the score cache (keys: digests of scrubbed text); a
    // lead's embeddings carry its keyed embedding tag so /v1/erase removes them.
    ro.cache = so.cache;
    ro.tagger = so.tagger;
    ro.embedding_ttl = so.cache_ttl;
    ro.policy = so;
    http::add_rerank_routes(server, models, ro);
    http::PrivacyOptions po;
    po.cache = so.cache;
    po.tagger = so.tagger;
    po.outbox = so.outbox;
    if (!o.crm_url.empty()) po.crm_recipient = crm::redact_url(o.crm_url);
    po.id_pseudonymiser = so.id_pseudonymiser;
    http::add_privacy_routes(server, po);
  } else {
    // No model: the routes that need one answer 503 not_ready (with the scope and body rules
    // they have when wired, so 401/403/415 are unchanged), and /readyz says why.
    server.add_readiness_check("model", [] {
      return http::Readiness{http::Readiness::State::kDown, "no model loaded"};
    });
    server.router().add("GET", "/v1/model", http::Scope::kAnyKey, http::BodyPolicy::kNone,
                        [](http::Request&, http::Response&) -> core::Status {
                          return core::make_error("not_ready", "no model loaded");
                        });
    server.router().add("POST", "/v1/model/reload", http::Scope::kAdmin,
                        http::BodyPolicy::kJson,
                        [](http::Request& req, http::Response&) -> core::Status {
                          LS_TRY(http::parse_reload_body(req));
                          return core::make_error("not_ready",
                                                  "no model directory configured (--model)");
                        });
    struct StandIn {
      const char* method;
      const char* path;
      http::Scope scope;
      http::BodyPolicy body;
      const char* message;
    };
    // Erasure and access records read the cache and outbox, which are opened with the model.
    constexpr const char* kNoData =
        "no model loaded: this server holds no lead data (erase a data directory offline with "
        "leadscore erase)";
    using http::BodyPolicy;
    using http::Scope;
    for (const auto& s :
         {StandIn{"POST", "/v1/score", Scope::kScore, BodyPolicy::kJsonRequired, "no model loaded"},
          StandIn{"POST", "/score", Scope::kScore, BodyPolicy::kJsonRequired, "no model loaded"},
          StandIn{"POST", "/v1/rerank", Scope::kRerank, BodyPolicy::kJsonRequired,
                  "no model loaded"},
          StandIn{"POST", "/rerank", Scope::kRerank, BodyPolicy::kJsonRequired, "no model loaded"},
          StandIn{"POST", "/v1/erase", Scope::kAdmin, BodyPolicy::kJsonRequired, kNoData},
          StandIn{"GET", "/v1/leads/{id}/record", Scope::kAdmin, BodyPolicy::kNone, kNoData}}) {
      server.router().add(s.method, s.path, s.scope, s.body,
                          [message = s.message](http::Request&, http::Response&) -> core::Status {
                            return core::make_error("not_ready", message);
                          });
    }
  }

  auto port = server.listen();
  if (!port) fail(port.error().message);
  const std::string base = "http://" + o.bind + ":" + std::to_string(*port);
  std::printf("leadscore: listening on %s\nleadscore: API docs at %s/docs\n", base.c_str(),
              base.c_str());
  std::fflush(stdout);
  http::log_event("info", "listening",
                  {{"bind", o.bind}, {"port", static_cast<unsigned>(*port)},
                   {"auth", cfg.auth}, {"threads", server.thread_count()}});
  // Privacy retention (docs/PRIVACY.md): expired cache entries, delivered CRM events and old
  // audit lines are purged periodically.
  http::RetentionOptions retention = retention_options(o.privacy);
  retention.audit_log_path = o.data_dir + "/audit.log";
  if (retained.cache) {
    retention.purge_cache = [c = retained.cache] { return c->purge_expired(); };
  }
  if (retained.outbox) {
    retention.purge_delivered = [ob = retained.outbox](std::chrono::milliseconds age) {
      return ob->purge_delivered_older_than(age);
    };
    retention.purge_dead_letters = [ob = retained.outbox](std::chrono::milliseconds age) {
      return ob->purge_dead_letters(age);
    };
  }
  auto retention_job = http::start_retention(server, std::move(retention));
  const int rc = server.run();
  if (rc != 0) exit_with(rc);
}

}  // namespace

void add_serve_command(CLI::App& root) {
  auto opts = std::make_shared<ServeOptions>();
  auto* cmd = root.add_subcommand("serve", "Serve the HTTP scoring API");
  cmd->add_option("--model", opts->model_dir, "Model directory (models/<version> or models/latest)");
  cmd->add_option("--bind", opts->bind, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", opts->port, "Port (0: any free port, printed at startup)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  // Limits are checked here so a nonsensical value fails at startup (exit 2) rather than
  // refusing every request (--max-inflight 0) or dropping every connection (a timeout <= 0).
  constexpr int64_t kDayMs = int64_t{86'400'000};
  cmd->add_option("--threads", opts->threads, "I/O threads (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-auth", opts->no_auth, "Disable API keys (local demos only)");
  cmd->add_option("--api-keys-file", opts->api_keys_file,
                  "File with one key:scopes per line (default: $LEADSCORE_API_KEYS)");
  cmd->add_option("--max-body-bytes", opts->max_body_bytes, "Request body limit")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--max-batch", opts->max_batch, "Leads per batch request")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--max-inflight", opts->max_inflight,
                  "Requests in flight before answering 429")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--header-timeout-ms", opts->header_timeout_ms,
                  "Time allowed to send a request head")
      ->check(CLI::Range(int64_t{1}, kDayMs))
      ->capture_default_str();
  cmd->add_option("--body-timeout-ms", opts->body_timeout_ms,
                  "Longest pause allowed between request body bytes")
      ->check(CLI::Range(int64_t{1}, kDayMs))
      ->capture_default_str();
  cmd->add_option("--idle-timeout-ms", opts->idle_timeout_ms,
                  "Keep-alive connection idle limit")
      ->check(CLI::Range(int64_t{1}, kDayMs))
      ->capture_default_str();
  cmd->add_option("--drain-timeout-ms", opts->drain_timeout_ms,
                  "Graceful shutdown limit for in-flight requests")
      ->check(CLI::Range(int64_t{1}, kDayMs))
      ->capture_default_str();
  cmd->add_option("--openapi", opts->openapi_path,
                  "Serve this OpenAPI file instead of the embedded api/openapi.json");
  cmd->add_option("--docs-dir", opts->docs_dir, "swagger-ui-dist directory for /docs");
  cmd->add_option("--web-dir", opts->web_dir,
                  "Broker console directory served at / (default: web/ next to the binary, "
                  "in the working directory or the source tree)");
  cmd->add_option("--text-model", opts->text_model_dir,
                  "MiniLM directory (config.json, vocab.txt, model.safetensors) for /v1/rerank; "
                  "default: the BM25 lexical encoder");
  cmd->add_option("--text-threads", opts->text_threads, "Threads of the MiniLM encoder")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_flag("--no-access-log", opts->no_access_log, "No per-request log lines");
  cmd->add_option("--cache", opts->cache_mode, "Score and embedding cache: local, none, redis, two-level")
      ->capture_default_str();
  cmd->add_option("--redis", opts->redis_url,
                  "redis://[user:password@]host:port/db (shared cache for several replicas); "
                  "default $LEADSCORE_REDIS_URL, the place for a URL with a password");
  cmd->add_option("--cache-ttl", opts->cache_ttl_s, "Cache entry lifetime, seconds")
      ->check(CLI::Range(int64_t{1}, int64_t{30} * 86400))
      ->capture_default_str();
  cmd->add_option("--cache-entries", opts->cache_entries, "In-process cache size bound")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}))
      ->capture_default_str();
  cmd->add_option("--redis-timeout-ms", opts->redis_timeout_ms, "Redis command timeout")
      ->check(CLI::Range(int64_t{1}, int64_t{60'000}))
      ->capture_default_str();
  cmd->add_option("--data-dir", opts->data_dir, "Where the outbox and audit log live")
      ->capture_default_str();
  cmd->add_option("--outbox", opts->outbox_path, "Outbox SQLite file (default DATA_DIR/outbox.sqlite)");
  cmd->add_option("--crm-url", opts->crm_url,
                  "CRM webhook: scored leads with consent are pushed here (secret in "
                  "$LEADSCORE_CRM_SECRET)");
  cmd->add_option("--crm-concurrency", opts->crm_concurrency, "CRM requests in flight")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--crm-max-attempts", opts->crm_max_attempts,
                  "Delivery attempts before an event is dead-lettered")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--crm-timeout-ms", opts->crm_timeout_ms,
                  "Per-request timeout of a CRM delivery (a timed-out attempt is retried)")
      ->check(CLI::Range(1, 600'000))
      ->capture_default_str();
  cmd->add_option("--crm-batch-size", opts->crm_batch_size,
                  "Events per CRM request: 1 sends one JSON object, more send a JSON array "
                  "(docs/CRM.md)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--crm-max-age-s", opts->crm_max_age_s,
                  "An event still undelivered this long after it was queued is dead-lettered")
      ->check(CLI::Range(1, 365 * 24 * 3600))
      ->capture_default_str();
  cmd->add_flag("--crm-sync-full", opts->crm_sync_full,
                "fdatasync each CRM event before answering (survives power loss; concurrent "
                "requests share one sync). Default: written to the page cache, which survives "
                "a crash or kill -9 of the server");
  cmd->add_option("--crm-batch-delay-us", opts->crm_batch_delay_us,
                  "With --crm-sync-full: hold a group fdatasync open up to this long for more "
                  "events (0: sync as soon as the writer is free)")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000}))
      ->capture_default_str();
  cmd->add_option("--crm-max-pending", opts->crm_max_pending,
                  "Undelivered CRM events kept (140-340 bytes of memory each); beyond this, "
                  "consenting scores answer 503 outbox_unavailable until the CRM catches up")
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}))
      ->capture_default_str();
  cmd->add_option("--crm-stuck-after", opts->crm_stuck_after_s,
                  "Seconds without a delivery while events wait before /readyz reports the CRM "
                  "push as degraded")
      ->check(CLI::Range(int64_t{1}, int64_t{7} * 86400))
      ->capture_default_str();
  cmd->add_flag("--require-consent", opts->require_consent,
                "Refuse leads without consent: true (default: score them for the broker's own "
                "use, never cached or pushed)");
  add_privacy_serve_options(cmd, opts->privacy);
  cmd->callback([opts] { run_serve(*opts); });
}

}  // namespace app
