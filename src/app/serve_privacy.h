#pragma once
// Privacy flags of `leadscore serve` (docs/PRIVACY.md): lead id pseudonymisation, the
// retention job and core dumps. Kept apart from cmd_serve.cpp so the serve wiring stays a few lines.

#include <CLI/CLI.hpp>

#include <cstdint>

#include "http/http.h"

namespace app {

struct PrivacyServeOptions {
  bool pseudonymise_lead_ids = false;  // secret from $LEADSCORE_ID_SECRET
  int64_t retention_interval_s = 300;
  int64_t retention_delivered_days = 30;
  int64_t retention_dead_letter_days = 90;
  int64_t audit_retention_days = 365;
  bool allow_core_dumps = false;  // debugging only: a core holds request bodies (PII)
};

void add_privacy_serve_options(CLI::App* cmd, PrivacyServeOptions& o);
// The pseudonymiser for ScoringOptions::id_pseudonymiser (empty unless asked). A missing or
// short secret is a startup error (exit 2).
http::LeadIdPseudonymiser lead_id_pseudonymiser(const PrivacyServeOptions& o);
// The pseudonymiser keyed by $LEADSCORE_ID_SECRET, as `serve --pseudonymise-lead-ids` makes it
// (`leadscore erase` needs the same one to find the stored ids). A missing or short secret
// prints "leadscore <command>: --pseudonymise-lead-ids: ..." and exits 2.
http::LeadIdPseudonymiser lead_id_pseudonymiser_from_env(const char* command);
// Keeps request bodies out of core dumps: unless --allow-core-dumps, sets RLIMIT_CORE to 0
// (soft and hard, so nothing in the process can raise it again) and PR_SET_DUMPABLE to 0 (the
// kernel then writes no core, not even to a core_pattern pipe handler, while
// fs.suid_dumpable is 0). Call first thing in `serve`, before any request is read.
void protect_process_memory(const PrivacyServeOptions& o);
// Intervals and ages from the flags; the caller adds the stores it opened (purge_cache,
// purge_delivered, audit_log_path) before http::start_retention.
http::RetentionOptions retention_options(const PrivacyServeOptions& o);

}  // namespace app
