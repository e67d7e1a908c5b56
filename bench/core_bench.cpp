// core hot paths: parsing one lead (JSON and CSV record) and scrubbing its notes.
// Run: build/bench/core_bench --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/core.h"

namespace {

std::shared_ptr<const core::Schema> schema() {
  // The shipped real-estate schema when present (written by the data module), else the
  // core test schema.
  const std::filesystem::path root(LEADSCORE_SOURCE_DIR);
  static auto s = [&] {
    auto r = core::load_schema(root / "schemas/real_estate.json");
    if (!r) r = core::load_schema(root / "tests/data/core_test_schema.json");
    return *r;
  }();
  return s;
}

constexpr const char* kLead = R"({"lead_id":"L-000123","created_at":"2024-03-15T10:20:30+05:30",
  "source":"99acres","city":"Pune","locality":"Baner","transaction_type":"Buy",
  "property_type":"Apartment","bhk":3,"budget_lakh":"1.2 cr","sale_type":"New booking",
  "loan_preapproved":"yes","purpose":"Self-use","possession_preference":"Ready to move",
  "site_visit_scheduled":true,"site_visits_done":1,"calls_attempted":4,"calls_answered":2,
  "last_call_outcome":"Callback requested","whatsapp_replies":3,"email_opens":"NA",
  "page_views":17,"time_on_site_s":412.5,"days_since_enquiry":6,"first_response_min":14,
  "pipeline_stage":"Qualified","notes":"Looking for 3 BHK in Baner, budget 1.2 Cr. Loan sanctioned from HDFC, wants to finalise quickly. Call back after 7 pm.",
  "consent":true,"name":"Rahul Sharma","phone":"+91 98201 55501","email":"rahul@example.com",
  "converted":1})";

constexpr const char* kNotes =
    "Looking for 3 BHK in Baner, budget 1.2 Cr. Loan sanctioned from HDFC, wants to finalise "
    "quickly. Call back after 7 pm.";
constexpr const char* kNotesWithContacts =
    "Bahut interested hai, floor plan aur payment plan bhejo. Mera number 98201 55501 hai, "
    "WhatsApp karo. Send details to rahul.sharma92@gmail.com.";

void BM_ParseLeadJson(benchmark::State& state) {
  const auto s = schema();
  for (auto _ : state) {
    auto lead = core::parse_lead_json(*s, kLead);
    if (!lead) state.SkipWithError(lead.error().message.c_str());
    benchmark::DoNotOptimize(lead);
  }
}
BENCHMARK(BM_ParseLeadJson);

// kLead with its pii fields (name, phone, e-mail) dropped, or with the name also written into
// its notes: the difference to kLead is the cost of redacting the lead's own name from its
// free text (core::parse_lead_into, docs/PRIVACY.md).
std::string lead_variant(bool with_pii, bool name_in_notes) {
  std::string j = kLead;
  if (!with_pii) {
    const size_t from = j.find(R"("name":)");
    const size_t to = j.find(R"("converted")");
    j.erase(from, to - from);
  }
  if (name_in_notes) {
    const std::string at = "Call back after 7 pm.";
    j.replace(j.find(at), at.size(), "Call back after 7 pm, ask for Rahul Sharma or Mrs Sharma.");
  }
  return j;
}

// The hot-path form: one simdjson parse per request, the Lead's buffers reused.
// Arg: 0 = kLead (pii fields, name not in notes), 1 = no pii fields, 2 = name also in notes.
void BM_ParseLeadIntoReused(benchmark::State& state) {
  const auto s = schema();
  simdjson::dom::parser parser;
  const std::string body = lead_variant(state.range(0) != 1, state.range(0) == 2);
  const simdjson::padded_string json(body);
  core::Lead lead;
  for (auto _ : state) {
    simdjson::dom::element root;
    if (parser.parse(json).get(root) != simdjson::SUCCESS) state.SkipWithError("bad json");
    auto st = core::parse_lead_into(*s, root, lead);
    if (!st) state.SkipWithError(st.error().message.c_str());
    benchmark::DoNotOptimize(lead.features.data());
  }
  const bool redacted =
      !lead.texts.empty() && lead.texts[0].second.find("[name]") != std::string::npos;
  if (state.range(0) == 2 && !redacted) {
    state.SkipWithError("the name in the notes was not redacted");
  }
}
BENCHMARK(BM_ParseLeadIntoReused)->Arg(0)->Arg(1)->Arg(2);

void BM_ParseCsvRecord(benchmark::State& state) {
  const auto s = schema();
  std::vector<std::string> header = {
      "lead_id",          "source",          "city",           "locality", "bhk",  "budget_lakh",
      "loan_preapproved", "calls_attempted", "time_on_site_s", "notes",    "name", "phone",
      "converted"};
  std::vector<std::string> row = {
      "L-1", "MagicBricks", "Mumbai",       "Powai",           "2", "90L", "no", "3",
      "",    kNotes,        "Rahul Sharma", "+91 98201 55501", "0"};
  auto parser = core::RecordParser::create(s, header);
  if (!parser) {
    state.SkipWithError(parser.error().message.c_str());
    return;
  }
  std::vector<std::string_view> cells(row.begin(), row.end());
  for (auto _ : state) {
    auto lead = parser->parse(cells);
    benchmark::DoNotOptimize(lead);
  }
}
BENCHMARK(BM_ParseCsvRecord);

void BM_ScrubCleanNotes(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(core::scrub_contact_details(kNotes));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(std::strlen(kNotes)));
}
BENCHMARK(BM_ScrubCleanNotes);

void BM_ScrubNotesWithContacts(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(core::scrub_contact_details(kNotesWithContacts));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(std::strlen(kNotesWithContacts)));
}
BENCHMARK(BM_ScrubNotesWithContacts);

void BM_MoneyInr(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(core::parse_money_inr_lakh("80 lakh - 1.2 crore"));
}
BENCHMARK(BM_MoneyInr);

}  // namespace

BENCHMARK_MAIN();
