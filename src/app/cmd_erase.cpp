// `leadscore erase`: offline erasure of one lead (DPDP s.8(7), s.12(3)) from the CRM outbox
// and a shared Redis cache, with the server stopped or from a maintenance host. Writes the
// server's erase audit line (no PII: the lead id only as its keyed tag) to DATA_DIR/audit.log.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "app/app.h"
#include "app/serve_privacy.h"
#include "cache/cache.h"
#include "core/json_writer.h"
#include "crm/crm.h"
#include "http/http.h"

namespace app {
namespace {

struct EraseOptions {
  std::string data_dir;
  std::string outbox;  // default DATA_DIR/outbox.sqlite
  std::string lead_id;
  std::string redis_url;
  bool pseudonymise_lead_ids = false;  // secret from $LEADSCORE_ID_SECRET, as `serve`
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "leadscore erase: %s\n", message.c_str());
  exit_with(1);
}

// The id the server stores the lead under: the id itself, or with --pseudonymise-lead-ids
// (like `serve`) the keyed pseudonym of an id that looks like personal data. Ids that look like
// personal data are refused otherwise, as POST /v1/erase refuses them.
std::string stored_lead_id(const EraseOptions& o) {
  auto checked = http::check_lead_id(
      o.lead_id, o.pseudonymise_lead_ids ? lead_id_pseudonymiser_from_env("erase")
                                         : http::LeadIdPseudonymiser{});
  if (!checked) {
    std::string message = checked.error().code + ": " + checked.error().message;
    if (checked.error().code == "lead_id_looks_like_pii") {
      message += " (nothing is stored under such an id; if the server runs with "
                 "--pseudonymise-lead-ids, pass that flag here too)";
    }
    fail(message);
  }
  return *std::move(checked);
}

void run_erase(const EraseOptions& o) {
  // Everything is checked before anything is touched: a typo must not create files or audit an
  // erasure that looked nowhere.
  const std::string lead_id = stored_lead_id(o);
  std::error_code ec;
  if (!std::filesystem::is_directory(o.data_dir, ec)) {
    fail("--data-dir " + o.data_dir + " is not an existing directory (the server's --data-dir)");
  }
  const std::string outbox_path =
      o.outbox.empty() ? (std::filesystem::path(o.data_dir) / "outbox.sqlite").string() : o.outbox;
  const bool has_outbox = std::filesystem::is_regular_file(outbox_path, ec);
  if (!has_outbox && !o.outbox.empty()) fail("--outbox " + o.outbox + " does not exist");
  if (!has_outbox && o.redis_url.empty()) {
    fail("nothing to erase from: no outbox at " + outbox_path + " and no --redis");
  }
  // The same tagger as the server's: keyed by $LEADSCORE_CACHE_SECRET, which a shared Redis
  // requires; without it (local cache) a random key, as the server's own in that mode.
  auto tagger = cache::make_lead_tagger(o.redis_url.empty() ? cache::Mode::local : cache::Mode::redis,
                                        env_or_empty("LEADSCORE_CACHE_SECRET"));
  if (!tagger) {
    fail(tagger.error().code + ": " + tagger.error().message +
         " (set LEADSCORE_CACHE_SECRET to the server's value)");
  }

  crm::EraseCounts outbox_counts;
  if (has_outbox) {
    auto outbox = crm::Outbox::open({.path = outbox_path});
    if (!outbox) fail(outbox.error().code + ": " + outbox.error().message);
    auto n = (*outbox)->erase_lead(lead_id);
    if (!n) fail(n.error().code + ": " + n.error().message);
    outbox_counts = *n;
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
    auto c = cache::make_cache(cfg);
    if (!c) fail(c.error().code + ": " + c.error().message);
    auto n = (*c)->erase_lead(tagger->tag(lead_id));
    if (!n) fail(n.error().code + ": " + n.error().message);
    cache_erased = static_cast<int64_t>(*n);
    // The lead's rerank embeddings (indexed under its embedding tag).
    auto e = (*c)->erase_lead(tagger->embedding_tag(lead_id));
    if (!e) fail(e.error().code + ": " + e.error().message);
    embeddings_erased = static_cast<int64_t>(*e);
  }

  // The answer and the audit line of POST /v1/erase (same writer, same detail), route "cli";
  // a store the command did not look in (no --redis: the cache) is left out, not counted 0.
  const std::string tag(tagger->tag(lead_id).str());
  std::string detail = tag;
  if (cache_erased >= 0) {
    detail += " cache=" + std::to_string(cache_erased) +
              " embeddings=" + std::to_string(embeddings_erased);
  }
  detail += " outbox=" + std::to_string(outbox_counts.total());
  const std::string audit_path = (std::filesystem::path(o.data_dir) / "audit.log").string();
  const auto audit = http::open_audit_log(audit_path);
  if (!audit) fail("cannot open " + audit_path);
  // The server's writer reports no errors; the CLI checks that the line landed and is on disk.
  struct stat before {}, after {};
  const int fd = ::open(audit_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fstat(fd, &before) != 0) fail("cannot open " + audit_path);
  audit({"erase", "ok", "cli", "", "", detail});
  const bool landed = ::fsync(fd) == 0 && ::fstat(fd, &after) == 0 && after.st_size > before.st_size;
  ::close(fd);
  if (!landed) fail("cannot append to " + audit_path);

  std::string out;
  core::JsonWriter w(out);
  w.begin_object().field("status", "erased").field("lead_id_hash", std::string_view(tag));
  w.key("removed").begin_object();
  if (cache_erased >= 0) w.field("cache_entries", cache_erased).field("embeddings", embeddings_erased);
  w.field("outbox_pending", outbox_counts.pending)
      .field("outbox_delivered", outbox_counts.delivered)
      .field("outbox_dead_letter", outbox_counts.dead_letter);
  w.end_object().end_object();
  std::printf("%s\n", out.c_str());
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
  cmd->add_flag("--pseudonymise-lead-ids", opts->pseudonymise_lead_ids,
                "As `serve --pseudonymise-lead-ids`: a lead id that looks like a phone number, "
                "e-mail, PAN or Aadhaar is erased under p_<HMAC-SHA256($LEADSCORE_ID_SECRET, id)>");
  cmd->callback([opts] { run_erase(*opts); });
}

}  // namespace app
