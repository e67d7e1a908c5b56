// `leadscore serve`: the HTTP service (src/http) wired to the model and its dependencies.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "app/app.h"
#include "app/serve_privacy.h"
#include "cache/cache.h"
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
  PrivacyServeOptions privacy;
};

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

void fail(const std::string& message) {
  std::fprintf(stderr, "leadscore serve: %s\n", message.c_str());
  exit_with(2);
}

void run_serve(const ServeOptions& o) {
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

  if (!o.model_dir.empty()) {
    auto models = std::make_shared<http::ModelHolder>(o.model_dir);
    if (auto st = models->load(); !st) {
      fail("cannot load model " + o.model_dir + ": " + st.error().code + ": " +
           st.error().message);
    }
    http::ScoringOptions so;
    so.max_batch = o.max_batch;
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
    // Embeddings of scrubbed texts only (no ids, no PII): an in-process LRU of ~80 MB of
    // 384-float rows.
    cache::LocalLruOptions lo;
    lo.max_entries = 50'000;
    lo.max_bytes = 96u << 20;
    ro.cache = std::make_shared<cache::LocalLru>(lo);
    http::add_rerank_routes(server, models, ro);
  } else {
    // No model: scoring routes are not wired; the model routes and /readyz say why.
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
    for (const char* path : {"/v1/rerank", "/rerank"}) {
      server.router().add("POST", path, http::Scope::kRerank, http::BodyPolicy::kJsonRequired,
                          [](http::Request&, http::Response&) -> core::Status {
                            return core::make_error("not_ready", "no model loaded");
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
  // Privacy retention (docs/PRIVACY.md). TODO(wiring): set retention.purge_cache,
  // retention.purge_delivered and retention.audit_log_path once the cache, outbox and audit log
  // are opened above.
  http::RetentionOptions retention = retention_options(o.privacy);
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
  cmd->add_option("--threads", opts->threads, "I/O threads (default: one per core)");
  cmd->add_flag("--no-auth", opts->no_auth, "Disable API keys (local demos only)");
  cmd->add_option("--api-keys-file", opts->api_keys_file,
                  "File with one key:scopes per line (default: $LEADSCORE_API_KEYS)");
  cmd->add_option("--max-body-bytes", opts->max_body_bytes, "Request body limit")
      ->capture_default_str();
  cmd->add_option("--max-batch", opts->max_batch, "Leads per batch request")
      ->capture_default_str();
  cmd->add_option("--max-inflight", opts->max_inflight,
                  "Requests in flight before answering 429")
      ->capture_default_str();
  cmd->add_option("--header-timeout-ms", opts->header_timeout_ms,
                  "Time allowed to send a request head")
      ->capture_default_str();
  cmd->add_option("--body-timeout-ms", opts->body_timeout_ms,
                  "Longest pause allowed between request body bytes")
      ->capture_default_str();
  cmd->add_option("--idle-timeout-ms", opts->idle_timeout_ms,
                  "Keep-alive connection idle limit")
      ->capture_default_str();
  cmd->add_option("--drain-timeout-ms", opts->drain_timeout_ms,
                  "Graceful shutdown limit for in-flight requests")
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
  add_privacy_serve_options(cmd, opts->privacy);
  cmd->callback([opts] { run_serve(*opts); });
}

}  // namespace app
