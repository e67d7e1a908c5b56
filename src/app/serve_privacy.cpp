#include "app/serve_privacy.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "app/app.h"

namespace app {

void add_privacy_serve_options(CLI::App* cmd, PrivacyServeOptions& o) {
  cmd->add_flag("--pseudonymise-lead-ids", o.pseudonymise_lead_ids,
                "Replace lead ids that look like phone numbers, e-mails, PAN or Aadhaar with "
                "p_<HMAC-SHA256($LEADSCORE_ID_SECRET, id)> instead of refusing them");
  cmd->add_option("--retention-interval-s", o.retention_interval_s,
                  "Seconds between retention rounds")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}))
      ->capture_default_str();
  cmd->add_option("--retention-delivered-days", o.retention_delivered_days,
                  "Days a delivered CRM event is kept (for access requests) before deletion")
      ->check(CLI::Range(int64_t{0}, int64_t{3650}))
      ->capture_default_str();
  cmd->add_option("--retention-dead-letter-days", o.retention_dead_letter_days,
                  "Days a dead-lettered CRM event is kept (to inspect and retry with "
                  "`leadscore outbox`) before deletion")
      ->check(CLI::Range(int64_t{0}, int64_t{3650}))
      ->capture_default_str();
  cmd->add_option("--audit-retention-days", o.audit_retention_days,
                  "Days audit-log lines are kept (DPDP Rules: at least 365)")
      ->check(CLI::Range(int64_t{1}, int64_t{3650}))
      ->capture_default_str();
  cmd->add_flag("--allow-core-dumps", o.allow_core_dumps,
                "Let the process dump core and be traced (debugging only: a core holds the "
                "request bodies in memory, names and phone numbers included)");
}

void protect_process_memory(const PrivacyServeOptions& o) {
  if (o.allow_core_dumps) {
    http::log_event("warn", "core_dumps_allowed",
                    {{"message", "--allow-core-dumps: a crash may write request bodies (PII) "
                                 "to a core file"}});
    return;
  }
  // A core (or a debugger attaching) sees every request body still in memory: PII fields
  // before they are dropped, notes before they are scrubbed. Both switches, because a pipe
  // core_pattern (systemd-coredump, apport) ignores RLIMIT_CORE in the kernel and only the
  // dumpable flag stops the kernel from dumping at all.
  const rlimit none{0, 0};
  const bool limit_ok = ::setrlimit(RLIMIT_CORE, &none) == 0;
  const int limit_errno = errno;
  const bool dumpable_ok = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  if (!limit_ok || !dumpable_ok) {
    http::log_event("warn", "core_dump_protection_failed",
                    {{"rlimit_core", limit_ok ? "0" : std::strerror(limit_errno)},
                     {"dumpable", dumpable_ok ? "0" : std::strerror(errno)}});
  }
}

http::LeadIdPseudonymiser lead_id_pseudonymiser(const PrivacyServeOptions& o) {
  if (!o.pseudonymise_lead_ids) return {};
  return lead_id_pseudonymiser_from_env("serve");
}

http::LeadIdPseudonymiser lead_id_pseudonymiser_from_env(const char* command) {
  auto p = http::make_lead_id_pseudonymiser(env_or_empty("LEADSCORE_ID_SECRET"));
  if (!p) {
    std::fprintf(stderr, "leadscore %s: --pseudonymise-lead-ids: %s\n", command,
                 p.error().message.c_str());
    exit_with(2);
  }
  return *std::move(p);
}

http::RetentionOptions retention_options(const PrivacyServeOptions& o) {
  http::RetentionOptions r;
  r.interval = std::chrono::seconds(o.retention_interval_s);
  r.delivered_max_age = std::chrono::hours(24 * o.retention_delivered_days);
  r.dead_letter_max_age = std::chrono::hours(24 * o.retention_dead_letter_days);
  r.audit_max_age = std::chrono::hours(24 * o.audit_retention_days);
  if (o.audit_retention_days < 365) {
    http::log_event("warn", "audit_retention_below_one_year",
                    {{"days", o.audit_retention_days}});
  }
  return r;
}

}  // namespace app
