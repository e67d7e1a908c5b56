#pragma once
// Private to src/http: parsing leads out of request bodies, shared by scoring and rerank.

#include <cstddef>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "core/core.h"

namespace http {
struct ScoringOptions;
}

namespace http::detail {

// The consent policy for a parsed lead, the same on every route that takes leads
// (docs/PRIVACY.md): `consent: false` for a lead id withdraws it (its queued CRM pushes are
// cancelled, its cached scores and embeddings dropped now); with `require_consent`, a lead
// without `consent: true` is refused (consent_required).
core::Status apply_consent_policy(const ScoringOptions& opts, const core::Schema& schema,
                                  const core::Lead& lead);

// minor_not_processed when the lead's declared age is under 18 (DPDP Act, section 9).
core::Status refuse_minor(const core::Schema& schema, const core::Lead& lead);

// Parses and checks one lead: schema violations, then the privacy rules that refuse a lead
// (minors: `minor_not_processed`).
core::Result<core::Lead> parse_checked(const core::Schema& schema, simdjson::dom::element el,
                                       const core::ParseOptions& options = {});

// The id of a batch item that failed validation, for its error entry: only a plain string
// or integer id that does not look like personal data ("" otherwise).
std::string safe_item_id(const core::Schema& schema, simdjson::dom::element el);

// A feature's value as the model saw it: a boolean, a number, a category's canonical name
// ("other" for a value the schema does not list), a date, or null when missing. Never the text
// the client sent, so a phone number sent as a category value is not echoed back.
void write_feature_value(core::JsonWriter& w, const core::Schema& schema, size_t feature_index,
                         float value);

// {"index","lead_id","error":{"code","message","field"}} (the ItemError schema).
void write_item_error(core::JsonWriter& w, size_t index, std::string_view lead_id,
                      const core::Error& e);

}  // namespace http::detail
