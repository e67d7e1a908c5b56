#include "app/serve_privacy.h"

#include <cstdio>
#include <cstdlib>

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
  cmd->add_option("--audit-retention-days", o.audit_retention_days,
                  "Days audit-log lines are kept (DPDP Rules: at least 365)")
      ->check(CLI::Range(int64_t{1}, int64_t{3650}))
      ->capture_default_str();
}

http::LeadIdPseudonymiser lead_id_pseudonymiser(const PrivacyServeOptions& o) {
  if (!o.pseudonymise_lead_ids) return {};
  const char* secret = std::getenv("LEADSCORE_ID_SECRET");
  auto p = http::make_lead_id_pseudonymiser(secret ? secret : "");
  if (!p) {
    std::fprintf(stderr, "leadscore serve: --pseudonymise-lead-ids: %s\n",
                 p.error().message.c_str());
    exit_with(2);
  }
  return *std::move(p);
}

http::RetentionOptions retention_options(const PrivacyServeOptions& o) {
  http::RetentionOptions r;
  r.interval = std::chrono::seconds(o.retention_interval_s);
  r.delivered_max_age = std::chrono::hours(24 * o.retention_delivered_days);
  r.audit_max_age = std::chrono::hours(24 * o.audit_retention_days);
  if (o.audit_retention_days < 365) {
    http::log_event("warn", "audit_retention_below_one_year",
                    {{"days", o.audit_retention_days}});
  }
  return r;
}

}  // namespace app
