// `leadscore erase`: offline erasure of one lead (DPDP s.8(7), s.12(3)) from the CRM outbox
// and a shared Redis cache, with the server stopped or from a maintenance host. Writes one
// audit line (no PII: the lead id only as a hash) to DATA_DIR/audit.log.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "app/app.h"
#include "cache/cache.h"
#include "core/json_writer.h"
#include "crm/crm.h"
#include "http/http.h"
#include "model/model.h"

namespace app {
namespace {

struct EraseOptions {
  std::string data_dir;
  std::string outbox;  // default DATA_DIR/outbox.sqlite
  std::string lead_id;
  std::string redis_url;
};

void fail(const std::string& message) {
  std::fprintf(stderr, "leadscore erase: %s\n", message.c_str());
  exit_with(1);
}

// Appends one line with a single write(2) (O_APPEND), like the server's audit log.
bool append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

void run_erase(const EraseOptions& o) {
  if (o.lead_id.empty()) fail("--lead-id must not be empty");
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) fail("cannot create --data-dir: " + ec.message());

  crm::EraseCounts outbox_counts;
  const std::string outbox_path =
      o.outbox.empty() ? (std::filesystem::path(o.data_dir) / "outbox.sqlite").string() : o.outbox;
  const bool has_outbox = std::filesystem::exists(outbox_path);
  if (has_outbox) {
    auto outbox = crm::Outbox::open({.path = outbox_path});
    if (!outbox) fail(outbox.error().code + ": " + outbox.error().message);
    auto n = (*outbox)->erase_lead(o.lead_id);
    if (!n) fail(n.error().code + ": " + n.error().message);
    outbox_counts = *n;
  }

  // The lead's hash in the audit line: its cache tag (keyed) when a secret is configured.
  const char* secret_env = std::getenv("LEADSCORE_CACHE_SECRET");
  const std::string secret = secret_env ? secret_env : "";
  std::string lead_hash;
  if (auto tagger = cache::LeadTagger::create(secret)) {
    const std::string_view tag = tagger->tag(o.lead_id).str();
    lead_hash = "hmac:";
    lead_hash.append(tag.substr(tag.rfind(':') + 1));
  } else {
    lead_hash = "sha256:";
    lead_hash.append(model::sha256_hex(o.lead_id).substr(0, 32));
  }

  int64_t cache_erased = -1;  // -1: no Redis given
  int64_t embeddings_erased = -1;
  if (!o.redis_url.empty()) {
    cache::CacheConfig cfg;
    cfg.mode = cache::Mode::redis;
    cfg.redis_url = o.redis_url;
    // An operator's one-off command: wait for Redis rather than give up in milliseconds.
    cfg.connect_timeout = std::chrono::seconds(2);
    cfg.command_timeout = std::chrono::seconds(5);
    cfg.pool_size = 1;
    auto tagger = cache::make_lead_tagger(cfg.mode, secret);
    if (!tagger) fail(tagger.error().code + ": " + tagger.error().message +
                      " (set LEADSCORE_CACHE_SECRET to the server's value)");
    auto c = cache::make_cache(cfg);
    if (!c) fail(c.error().code + ": " + c.error().message);
    auto n = (*c)->erase_lead(tagger->tag(o.lead_id));
    if (!n) fail(n.error().code + ": " + n.error().message);
    cache_erased = static_cast<int64_t>(*n);
    // The lead's rerank embeddings (indexed under its embedding tag).
    auto e = (*c)->erase_lead(tagger->embedding_tag(o.lead_id));
    if (!e) fail(e.error().code + ": " + e.error().message);
    embeddings_erased = static_cast<int64_t>(*e);
  }

  // The same RFC 3339 UTC timestamp as the server's audit lines.
  std::string ts;
  http::append_log_timestamp(ts);
  std::string line;
  core::JsonWriter w(line);
  w.begin_object()
      .field("ts", std::string_view(ts))
      .field("action", "erase")
      .field("outcome", "ok")
      .field("source", "cli")
      .field("lead_id_hash", std::string_view(lead_hash));
  w.key("removed").begin_object();
  w.field("outbox_pending", outbox_counts.pending)
      .field("outbox_delivered", outbox_counts.delivered)
      .field("outbox_dead_letter", outbox_counts.dead_letter);
  if (cache_erased >= 0) w.field("cache", cache_erased).field("embeddings", embeddings_erased);
  w.end_object().end_object();
  const std::string summary = line;
  line.push_back('\n');
  const std::string audit = (std::filesystem::path(o.data_dir) / "audit.log").string();
  if (!append_line(audit, line)) fail("cannot append to " + audit);
  std::printf("%s\n", summary.c_str());
}

}  // namespace

void add_erase_command(CLI::App& root) {
  auto opts = std::make_shared<EraseOptions>();
  auto* cmd = root.add_subcommand(
      "erase", "Erase one lead from the CRM outbox and the Redis cache (offline; audited)");
  cmd->add_option("--data-dir", opts->data_dir, "The server's data directory (audit.log, outbox)")
      ->required();
  cmd->add_option("--lead-id", opts->lead_id, "Lead id to erase")->required();
  cmd->add_option("--outbox", opts->outbox, "Outbox SQLite file (default DATA_DIR/outbox.sqlite)");
  cmd->add_option("--redis", opts->redis_url,
                  "Redis URL of a shared cache (needs $LEADSCORE_CACHE_SECRET)");
  cmd->callback([opts] { run_erase(*opts); });
}

}  // namespace app
