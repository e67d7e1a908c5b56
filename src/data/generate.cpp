// Synthetic lead generator. The latent model (what drives `converted`) is documented in
// docs/DATA.md; keep the two in sync.

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "core/core.h"
#include "core/json_writer.h"
#include "data/data.h"
#include "data/rng.h"
#include "data/vocab.h"

namespace data {

using detail::Rng;
using detail::sigmoid;
using detail::SV;

namespace {

// ---------------------------------------------------------------------------------------------
// Column tables

enum Re : int {
  kLeadId, kCreatedAt, kSource, kCity, kLocality, kTransaction, kPropertyType, kBhk, kBudget,
  kSaleType, kLoan, kPurpose, kPossession, kVisitScheduled, kVisitsDone, kCallsAttempted,
  kCallsAnswered, kLastCall, kWhatsapp, kEmailOpens, kPageViews, kTimeOnSite, kDaysSince,
  kFirstResponse, kStage, kNotes, kConsent, kName, kPhone, kEmail, kConverted, kTrueProb,
  kReCount
};

enum Seed : int {
  kSLeadId, kSName, kSAge, kSCity, kSTier, kSOccupation, kSIncome, kSEducation, kSVisits,
  kSTimeOnPage, kSForm, kSWhatsapp, kSClicked, kSBounced, kSReferral, kSIpGeo, kSDevice,
  kSCampaign, kSCrm, kSLinkedin, kSNews, kSCompanySize, kSIndustry, kSConverted, kSTrueProb,
  kSeedCount
};

// Share of Rent among real-estate leads; sale_type is structurally empty for rentals.
constexpr double kRentShare = 0.22;
constexpr double kSaleTypeMissingBuy = 0.06;
// Share of categorical cells written with a messy spelling (mapped to `other` by a schema).
constexpr double kMessyRate = 0.025;
// Leads that are fake (junk/test) or brokers posing as buyers.
constexpr double kFakeRate = 0.025;
constexpr double kBrokerRate = 0.025;
// Cross-portal duplicates: the same person enquiring again on another portal.
constexpr double kDuplicateRate = 0.04;

template <size_t N>
std::vector<SV> to_vec(const std::array<SV, N>& a) {
  return {a.begin(), a.end()};
}

std::vector<ColumnSpec> make_real_estate_columns() {
  using namespace detail;
  std::vector<SV> localities;
  for (const auto& city : kReLocalities) localities.insert(localities.end(), city.begin(), city.end());
  std::vector<ColumnSpec> c(kReCount);
  c[kLeadId] = {"lead_id", 0, {}, {}};
  c[kCreatedAt] = {"created_at", 0, {}, {}};
  c[kSource] = {"source", 0.02, to_vec(kReSources),
                {"99 Acres", "Magic Bricks", "Housing", "FB Lead Ad", "Google Adwords", "Walkin"}};
  c[kCity] = {"city", 0, to_vec(kReCities), {"Bangalore", "Bombay", "Gurgaon", "Noida", "Navi Mumbai", "Hyd"}};
  c[kLocality] = {"locality", 0.08, localities, {}};  // messy: "<locality>, <city>"
  c[kTransaction] = {"transaction_type", 0, to_vec(kTransactionTypes), {"Buy/Sale", "Purchase", "Lease"}};
  c[kPropertyType] = {"property_type", 0.04, to_vec(kPropertyTypes),
                      {"Flat", "Apt", "Row House", "1RK", "Penthouse"}};
  c[kBhk] = {"bhk", 0.06, {}, {}};
  c[kBudget] = {"budget_lakh", 0.07, {}, {}};
  c[kSaleType] = {"sale_type", kRentShare + (1 - kRentShare) * kSaleTypeMissingBuy,
                  to_vec(kSaleTypes), {"new", "Resale/Secondary", "Fresh booking"}};
  c[kLoan] = {"loan_preapproved", 0.18, {}, {}};
  c[kPurpose] = {"purpose", 0.12, to_vec(kPurposes), {"self use", "Invest", "End use"}};
  c[kPossession] = {"possession_preference", 0.15, to_vec(kPossessionPrefs),
                    {"RTM", "Immediate", "UC", "ready-to-move"}};
  c[kVisitScheduled] = {"site_visit_scheduled", 0.05, {}, {}};
  c[kVisitsDone] = {"site_visits_done", 0.08, {}, {}};
  c[kCallsAttempted] = {"calls_attempted", 0.05, {}, {}};
  c[kCallsAnswered] = {"calls_answered", 0.07, {}, {}};
  c[kLastCall] = {"last_call_outcome", 0.10, to_vec(kCallOutcomes),
                  {"RNR", "not intrested", "Call back", "NOT REACHABLE", "DND"}};
  c[kWhatsapp] = {"whatsapp_replies", 0.15, {}, {}};
  c[kEmailOpens] = {"email_opens", 0.25, {}, {}};
  c[kPageViews] = {"page_views", 0.12, {}, {}};
  c[kTimeOnSite] = {"time_on_site_s", 0.20, {}, {}};
  c[kDaysSince] = {"days_since_enquiry", 0, {}, {}};
  c[kFirstResponse] = {"first_response_min", 0.10, {}, {}};
  c[kStage] = {"pipeline_stage", 0.03, to_vec(kStages), {"Site Visit", "In negotiation", "Dead"}};
  c[kNotes] = {"notes", 0.20, {}, {}};
  c[kConsent] = {"consent", 0.03, {}, {}};
  c[kName] = {"name", 0.02, {}, {}};
  c[kPhone] = {"phone", 0, {}, {}};
  c[kEmail] = {"email", 0.22, {}, {}};
  c[kConverted] = {"converted", 0, {}, {}};
  c[kTrueProb] = {"true_probability", 0, {}, {}};
  return c;
}

std::vector<ColumnSpec> make_seed_columns() {
  using namespace detail;
  std::vector<ColumnSpec> c(kSeedCount);
  c[kSLeadId] = {"lead_id", 0, {}, {}};
  c[kSName] = {"name", 0, {}, {}};
  c[kSAge] = {"age", 0, {}, {}};
  c[kSCity] = {"city", 0, to_vec(kSeedCities), {}};
  c[kSTier] = {"city_tier", 0, {}, {}};
  c[kSOccupation] = {"occupation", 0, to_vec(kOccupations), {}};
  c[kSIncome] = {"income_bracket", 0, to_vec(kIncome), {}};
  c[kSEducation] = {"education_level", 0, to_vec(kEducation), {}};
  c[kSVisits] = {"num_site_visits", 0, {}, {}};
  c[kSTimeOnPage] = {"avg_time_on_page", 0, {}, {}};
  c[kSForm] = {"form_filled", 0, {}, {}};
  c[kSWhatsapp] = {"whatsapp_reply_count", 0, {}, {}};
  c[kSClicked] = {"clicked_ad", 0, {}, {}};
  c[kSBounced] = {"bounced", 0, {}, {}};
  c[kSReferral] = {"referral_source", 0, to_vec(kReferral), {}};
  c[kSIpGeo] = {"ip_geolocation_verified", 0, {}, {}};
  c[kSDevice] = {"device_type", 0, to_vec(kDevices), {}};
  c[kSCampaign] = {"campaign_id", 0, to_vec(kCampaigns), {}};
  c[kSCrm] = {"crm_segment_tag", 0, to_vec(kCrmTags), {}};
  c[kSLinkedin] = {"linkedin_profile_exists", 0, {}, {}};
  c[kSNews] = {"news_sentiment_about_company", 0, {}, {}};
  c[kSCompanySize] = {"company_size", 0, to_vec(kCompanySize), {}};
  c[kSIndustry] = {"industry_type", 0, to_vec(kIndustry), {}};
  c[kSConverted] = {"converted", 0, {}, {}};
  c[kSTrueProb] = {"true_probability", 0, {}, {}};
  return c;
}

// ---------------------------------------------------------------------------------------------
// Small formatting helpers (deterministic, no locale).

void append_int(std::string& s, int64_t v) {
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  s.append(tmp, r.ptr);
}

void append_fixed(std::string& s, double v, int decimals) {
  char tmp[64];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v, std::chars_format::fixed, decimals);
  s.append(tmp, r.ptr);
}

// Shortest decimal text of a value rounded to 2 decimals ("85", "1.2", "0.35").
void append_short(std::string& s, double v) {
  const double r = std::round(v * 100) / 100;
  if (r == std::floor(r)) {
    append_int(s, static_cast<int64_t>(r));
    return;
  }
  std::string t;
  append_fixed(t, r, 2);
  while (!t.empty() && t.back() == '0') t.pop_back();
  s += t;
}

// Rupees with Indian digit grouping: 12000000 → "1,20,00,000".
void append_indian_grouped(std::string& s, int64_t rupees) {
  std::string digits = std::to_string(rupees);
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[i]);
    const size_t rest = n - i - 1;
    if (rest > 0 && (rest == 3 || (rest > 3 && (rest - 3) % 2 == 0))) out.push_back(',');
  }
  s += out;
}

void append_2d(std::string& s, int64_t v) {
  s.push_back(static_cast<char>('0' + v / 10));
  s.push_back(static_cast<char>('0' + v % 10));
}

// Epoch days → "YYYY-MM-DD".
void append_date(std::string& s, int64_t days) {
  const core::CivilDate date = core::civil_from_days(days);
  append_int(s, date.year);
  s.push_back('-');
  append_2d(s, date.month);
  s.push_back('-');
  append_2d(s, date.day);
}


std::string lower(SV s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Row writing with missing and messy cells.

enum class Kind { kNumber, kCategory, kBool, kText };

class RowSink {
 public:
  RowSink(CsvWriter& w, std::vector<uint64_t>& missing) : w_(w), missing_(missing) {}

  // The missing token is chosen by `rng` the same way for every run of a seed.
  void missing(int col, Kind kind, Rng& rng) {
    ++missing_[static_cast<size_t>(col)];
    const double u = rng.uniform();
    switch (kind) {
      case Kind::kNumber:
      case Kind::kBool:
        w_.raw_field(u < 0.78 ? SV{} : SV{"NA"});
        break;
      case Kind::kCategory:
        w_.raw_field(u < 0.6 ? SV{} : (u < 0.8 ? SV{"NA"} : SV{"Select"}));
        break;
      case Kind::kText:
        w_.raw_field({});
        break;
    }
  }
  CsvWriter& w() { return w_; }

 private:
  CsvWriter& w_;
  std::vector<uint64_t>& missing_;
};

SV bool_text(bool b, Rng& rng) {
  // Mostly true/false; CRMs export some Yes/No.
  if (rng.chance(0.9)) return b ? SV{"true"} : SV{"false"};
  return b ? SV{"Yes"} : SV{"No"};
}

// ---------------------------------------------------------------------------------------------
// Real-estate profile

// A person may enquire more than once (cross-portal duplicates share these).
struct Person {
  std::string name, phone, email;
  size_t city = 0, locality = 0, ptype = 0;
  bool rent = false;
  int64_t bhk = 0;
  double budget = 0;  // lakh (buy) or lakh per month (rent)
  double intent = 0;  // latent z
  int kind = 0;       // 0 genuine, 1 fake/junk, 2 broker
};

// Everything the model sees about one lead, plus masks saying which cells are written missing
// or with a messy spelling. The label depends only on what is written (docs/DATA.md).
struct ReRow {
  bool miss[kReCount] = {};
  bool messy[kReCount] = {};
  size_t source = 0, sale_type = 0, purpose = 0, possession = 0, last_call = 0, stage = 0;
  bool loan = false, scheduled = false, consent = true;
  int64_t visits = 0, attempted = 0, answered = 0, whatsapp = 0, email_opens = 0,
          page_views = 0, days_since = 0;
  double time_on_site = 0, first_response = 0;
  double budget_value = 0;  // what a money_inr parser reads from budget_text
  std::string budget_text;
};

// Intercept and overall signal strength of the latent model, tuned for ~14 % positives and
// an oracle AUC near 0.85 (docs/DATA.md).
constexpr double kReIntercept = -2.2;
constexpr double kReSignal = 0.8;

// Typical budget (lakh) for the city/type/bhk, used by the budget-fit term.
double typical_price(size_t city, size_t ptype, int64_t bhk, bool rent) {
  static constexpr double kBhkMult[] = {1.0, 0.6, 1.0, 1.5, 2.2, 3.0};
  const double bm = detail::is_residential_with_bhk(ptype) ? kBhkMult[std::clamp<int64_t>(bhk, 1, 5)]
                                                            : 1.0;
  const double price = detail::kReCityPrice[city] * detail::kPropertyPriceMult[ptype] * bm;
  return rent ? price * 0.0028 : price;  // ~3.4 % gross rental yield, per month
}

// The latent model: log-odds of conversion from the written cells. Missing cells contribute a
// fixed amount (roughly their average effect), messy categories contribute 0 (`other`).
double re_logit(const ReRow& r, const Person& p) {
  using namespace detail;
  const bool* m = r.miss;
  double f = 0;
  if (!m[kSource] && !r.messy[kSource]) f += kReSourceEffect[r.source];
  if (!r.messy[kCity]) f += kReCityEffect[p.city];
  if (!r.messy[kTransaction]) f += p.rent ? 0.35 : 0.0;
  if (!m[kPropertyType] && !r.messy[kPropertyType]) f += kPropertyEffect[p.ptype];
  // Site visits: the strongest behavioural signal, with a loan interaction.
  f += m[kVisitScheduled] ? 0.15 : (r.scheduled ? 0.55 : 0.0);
  f += m[kVisitsDone] ? 0.2 : 0.45 * static_cast<double>(std::min<int64_t>(r.visits, 3));
  const bool loan_known = !m[kLoan];
  f += loan_known ? (r.loan ? 0.45 : 0.0) : 0.1;
  if (loan_known && r.loan && !m[kVisitScheduled] && r.scheduled) f += 0.35;
  // Calls: answer rate, then what the last call said.
  if (!m[kCallsAttempted] && !m[kCallsAnswered] && r.attempted > 0) {
    f += 1.1 * (static_cast<double>(r.answered) / static_cast<double>(r.attempted) - 0.4);
  }
  if (!m[kLastCall] && !r.messy[kLastCall]) f += kCallEffect[r.last_call];
  f += m[kWhatsapp] ? 0.25 : 0.3 * std::log1p(static_cast<double>(r.whatsapp));
  f += m[kEmailOpens] ? 0.08 : 0.05 * static_cast<double>(std::min<int64_t>(r.email_opens, 10));
  if (m[kPageViews]) {
    f += 0.3;
  } else {
    f += 0.15 * std::log1p(static_cast<double>(std::min<int64_t>(r.page_views, 200)));
    if (r.page_views > 300) f -= 0.3;  // bot-like browsing
  }
  f += m[kTimeOnSite] ? 0.2 : 0.18 * std::log1p(std::min(r.time_on_site, 3600.0) / 60.0);
  // Staleness, worse when the lead never progressed.
  f -= 0.012 * static_cast<double>(std::min<int64_t>(r.days_since, 120));
  const bool early_stage = !m[kStage] && !r.messy[kStage] && r.stage <= 1;
  if (early_stage && r.days_since > 30) f -= 0.3;
  // Speed to lead.
  f += m[kFirstResponse] ? -0.3 : -0.22 * std::log1p(r.first_response / 15.0);
  // Budget realism for the city, type and size.
  if (!m[kBudget] && !m[kPropertyType] && !r.messy[kPropertyType] && !r.messy[kCity] &&
      (m[kBhk] == false || !detail::is_residential_with_bhk(p.ptype))) {
    const double typical = typical_price(p.city, p.ptype, p.bhk, p.rent);
    const double gap = std::abs(std::log(std::max(r.budget_value, 1e-3) / typical));
    f -= 0.6 * std::max(0.0, gap - 0.25);
  } else {
    f -= 0.1;
  }
  if (!m[kPurpose] && !r.messy[kPurpose] && r.purpose == 1) f -= 0.15;
  if (!p.rent && !m[kPossession] && !r.messy[kPossession] && !m[kSaleType] &&
      !r.messy[kSaleType] && r.possession == 0 && r.sale_type == 1) {
    f += 0.25;  // ready resale flat: can move in now
  }
  if (!m[kStage] && !r.messy[kStage]) f += kStageEffect[r.stage];
  return kReIntercept + kReSignal * f;
}

std::string make_phone(Rng& rng, int style) {
  std::string d;
  d.push_back(static_cast<char>('6' + rng.below(4)));
  for (int i = 0; i < 9; ++i) d.push_back(static_cast<char>('0' + rng.below(10)));
  if (style == 0) return "+91 " + d.substr(0, 5) + " " + d.substr(5);
  if (style == 1) return "+91" + d;
  return "+91-" + d.substr(0, 5) + "-" + d.substr(5);
}

Person new_person(Rng& rng) {
  using namespace detail;
  Person p;
  const double u = rng.uniform();
  p.kind = u < kFakeRate ? 1 : (u < kFakeRate + kBrokerRate ? 2 : 0);
  p.intent = rng.normal();
  const SV first = rng.pick(std::span<const SV>(kFirstNames));
  const SV last = rng.pick(std::span<const SV>(kSurnames));
  if (p.kind == 1) {
    static constexpr SV kJunk[] = {"test", "Test Lead", "asdf", "xyz", "abc", "Customer"};
    p.name = std::string(rng.pick(std::span<const SV>(kJunk)));
    p.phone = rng.chance(0.5) ? "+91 99999 99999" : "+91 12345 67890";
    p.email = rng.chance(0.5) ? "test@test.com" : "abc@gmail.com";
  } else {
    const double style = rng.uniform();
    if (style < 0.8) {
      p.name = std::string(first) + " " + std::string(last);
    } else if (style < 0.9) {
      p.name = lower(first) + " " + lower(last);
    } else {
      p.name = std::string(first);
    }
    p.phone = make_phone(rng, static_cast<int>(rng.weighted(std::array<double, 3>{0.4, 0.4, 0.2})));
    p.email = lower(first) + (rng.chance(0.5) ? "." : "") + lower(last);
    if (rng.chance(0.6)) append_int(p.email, rng.range(1, 99));
    p.email += "@";
    p.email += rng.pick(std::span<const SV>(kEmailDomains));
  }
  p.city = rng.weighted(std::array<double, 8>{0.2, 0.15, 0.17, 0.13, 0.15, 0.08, 0.06, 0.06});
  p.locality = rng.below(8);
  p.rent = rng.chance(kRentShare);
  p.ptype = rng.weighted(kPropertyWeight);
  if (p.rent && (p.ptype == 4)) p.ptype = 0;  // nobody rents a plot
  switch (p.ptype) {
    case 0: p.bhk = 1 + static_cast<int64_t>(rng.weighted(std::array<double, 4>{0.15, 0.4, 0.33, 0.12})); break;
    case 1: p.bhk = rng.range(3, 5); break;
    case 2: case 3: p.bhk = rng.range(2, 4); break;
    case 5: p.bhk = 1; break;
    default: p.bhk = 0;
  }
  if (rng.chance(0.002)) p.bhk = rng.range(7, 10);  // outlier: joint-family bungalow or typo
  double typical = typical_price(p.city, p.ptype, p.bhk, p.rent) * kLocalityIndex[p.locality];
  double budget = typical * rng.lognormal(0.0, 0.22);
  if (rng.chance(0.15)) budget *= rng.uniform(0.35, 0.65);  // unrealistic expectations
  p.budget = budget;
  return p;
}

// Budget as a portal would send it. Returns the text and the value a parser reads from it.
void budget_text(Rng& rng, const Person& p, std::string& text, double& value) {
  text.clear();
  double b = p.budget;
  if (rng.chance(0.004)) b *= 10;   // outlier: an extra zero typed
  if (rng.chance(0.002)) b /= 10;   // outlier: a missing zero
  if (p.rent) {
    const int64_t rupees = std::max<int64_t>(3000, static_cast<int64_t>(std::round(b * 100000 / 500)) * 500);
    const double u = rng.uniform();
    if (u < 0.5) {
      text = "\xE2\x82\xB9";  // ₹
      append_indian_grouped(text, rupees);
    } else if (u < 0.75) {
      append_int(text, rupees / 1000);
      text += "k";
      value = static_cast<double>(rupees / 1000) * 0.01;
      return;
    } else {
      append_short(text, static_cast<double>(rupees) / 100000.0);
      value = std::round(static_cast<double>(rupees) / 1000.0) / 100.0;
      return;
    }
    value = static_cast<double>(rupees) / 100000.0;
    return;
  }
  const double u = rng.uniform();
  if (u < 0.55) {  // plain lakhs
    const double v = b < 10 ? std::round(b * 10) / 10 : std::round(b);
    append_short(text, v);
    value = v;
  } else if (u < 0.67) {  // "90L", "90 Lakh"
    const double v = std::max(1.0, std::round(b));
    append_int(text, static_cast<int64_t>(v));
    static constexpr SV kUnits[] = {"L", " L", " Lakh", " lakhs", " Lac"};
    text += rng.pick(std::span<const SV>(kUnits));
    value = v;
  } else if (u < 0.78 && b >= 100) {  // "1.2 cr"
    const double cr = std::round(b / 5) * 5 / 100;
    append_short(text, cr);
    static constexpr SV kUnits[] = {" cr", " Cr", "Cr", " crore"};
    text += rng.pick(std::span<const SV>(kUnits));
    value = std::round(cr * 100) / 100 * 100;
  } else if (u < 0.88) {  // "₹1,20,00,000"
    const int64_t rupees = static_cast<int64_t>(std::round(b)) * 100000;
    text = "\xE2\x82\xB9";
    append_indian_grouped(text, std::max<int64_t>(rupees, 100000));
    value = static_cast<double>(std::max<int64_t>(rupees, 100000)) / 100000.0;
  } else {  // ranges: "80 lakh - 1 crore", "80-90 L"
    const double lo = std::max(1.0, std::round(b * 0.9 / 5) * 5);
    const double hi = std::max(lo + 5, std::round(b * 1.1 / 5) * 5);
    if (hi >= 100 && lo < 100 && rng.chance(0.7)) {
      append_int(text, static_cast<int64_t>(lo));
      text += " lakh - ";
      append_short(text, hi / 100);
      text += " crore";
    } else if (lo >= 100) {
      append_short(text, lo / 100);
      text += "-";
      append_short(text, hi / 100);
      text += " Cr";
    } else {
      append_int(text, static_cast<int64_t>(lo));
      text += "-";
      append_int(text, static_cast<int64_t>(hi));
      text += " L";
    }
    value = (lo + hi) / 2;
  }
}

std::string bhk_words(const Person& p) {
  using namespace detail;
  if (!is_residential_with_bhk(p.ptype)) return lower(kPropertyTypes[p.ptype]);
  if (p.ptype == 5) return "studio";
  std::string s;
  append_int(s, p.bhk);
  s += "BHK";
  if (p.ptype != 0) {
    s += " ";
    s += lower(kPropertyTypes[p.ptype]);
  }
  return s;
}

// Free text as a broker or portal records it: English or Hinglish, phrasing by intent tier.
std::string make_notes(Rng& rng, const Person& p, const ReRow& r) {
  using namespace detail;
  const SV loc = kReLocalities[p.city][p.locality];
  const std::string bhk = bhk_words(p);
  const bool hinglish = rng.chance(0.3);
  std::string s;
  auto add = [&](std::string_view a) {
    if (!s.empty()) s += rng.chance(0.03) ? "\n" : " ";
    s += a;
  };
  std::string t;
  if (p.kind == 1) {
    static constexpr SV kFake[] = {"test", "asdf", "Wrong number, did not enquire.",
                                   "Number not reachable, looks fake.", "Galti se form bhar diya."};
    return std::string(rng.pick(std::span<const SV>(kFake)));
  }
  if (p.kind == 2) {
    t = hinglish ? "Broker hai, apne client ke liye " + bhk + " puch raha tha."
                 : "Channel partner, says he has 3 clients for " + bhk + " in " + std::string(loc) + ".";
    add(t);
  } else {
    const double z = p.intent + rng.normal(0, 0.5);
    const int tier = z > 0.8 ? 2 : (z > -0.4 ? 1 : 0);
    if (p.rent) {
      if (hinglish) {
        t = bhk + " rent pe chahiye " + std::string(loc) + " ke paas, budget " + r.budget_text + " per month.";
      } else {
        t = "Needs " + bhk + " on rent near " + std::string(loc) + ", budget " + r.budget_text + " per month.";
      }
      add(t);
      if (tier == 2) add(hinglish ? "Agle mahine shift karna hai, jaldi dikhao." : "Shifting next month, wants to see flats this week.");
      if (tier == 0) add(hinglish ? "Abhi sirf options dekh raha hai." : "Just exploring options for now.");
    } else if (tier == 2) {
      static constexpr SV kEn[] = {
          "Very keen, asked for floor plan and payment plan.",
          "Ready to book if the price is right.",
          "Wants site visit {day}, coming with family.",
          "Loan sanctioned from {bank}, wants to finalise quickly.",
          "Asked about token amount and booking process."};
      static constexpr SV kHi[] = {
          "Is weekend site visit karna hai, family ke saath aayenge.",
          "Loan approve ho gaya hai {bank} se, jaldi finalize karna hai.",
          "Token amount dene ko ready hai, bas final negotiation baaki.",
          "Bahut interested hai, floor plan aur payment plan bhejo.",
          "Price thik laga to {day} book kar denge."};
      t = hinglish ? bhk + " chahiye " + std::string(loc) + " mein, budget " + r.budget_text + " tak."
                   : "Looking for " + bhk + " in " + std::string(loc) + ", budget " + r.budget_text + ".";
      if (!r.miss[kBudget]) add(t);
      std::string phrase(rng.pick(std::span<const SV>(hinglish ? kHi : kEn)));
      if (auto k = phrase.find("{day}"); k != std::string::npos) phrase.replace(k, 5, rng.pick(std::span<const SV>(kDays)));
      if (auto k = phrase.find("{bank}"); k != std::string::npos) phrase.replace(k, 6, rng.pick(std::span<const SV>(kBanks)));
      add(phrase);
    } else if (tier == 1) {
      static constexpr SV kEn[] = {"Comparing 2-3 projects nearby.", "Asked for brochure and price list.",
                                   "Wants to discuss with family before visiting.",
                                   "Interested but budget is a bit tight.",
                                   "Prefers higher floor, east facing."};
      static constexpr SV kHi[] = {"Family se discuss karke batayenge.",
                                   "Brochure WhatsApp pe bhejo, dekh ke batata hu.",
                                   "Aas paas koi aur option ho to batana.",
                                   "Budget thoda kam hai, discount milega kya?",
                                   "Vastu compliant flat chahiye."};
      t = hinglish ? std::string(loc) + " mein " + bhk + " dekh rahe hai."
                   : "Looking for " + bhk + " near " + std::string(loc) + ".";
      add(t);
      add(rng.pick(std::span<const SV>(hinglish ? kHi : kEn)));
    } else {
      static constexpr SV kEn[] = {"Just checking prices, not in a hurry.", "Planning to buy next year.",
                                   "Budget not fixed yet.", "Only wanted the price list.",
                                   "Said \"will call back if interested\"."};
      static constexpr SV kHi[] = {"Abhi sirf rate pata kar raha hu.",
                                   "Next year ka plan hai, abhi jaldi nahi.",
                                   "Call mat karo, WhatsApp pe message karo.",
                                   "Sirf price puchna tha.", "Abhi decide nahi kiya."};
      add(rng.pick(std::span<const SV>(hinglish ? kHi : kEn)));
    }
  }
  if (!r.miss[kLastCall] && r.last_call == 1) add(hinglish ? "Shaam 7 baje call karna." : "Call back after 7 pm.");
  // Contact details typed into notes: the scrubber's work.
  if (rng.chance(0.07)) {
    const double u = rng.uniform();
    const std::string alt = make_phone(rng, 1).substr(3);  // 10 digits
    if (u < 0.35) {
      add("Alternate no. " + alt.substr(0, 5) + " " + alt.substr(5) + ".");
    } else if (u < 0.6) {
      add(hinglish ? "Mera number " + alt + " hai, WhatsApp karo." : "Call on 0" + alt + " after 6 pm.");
    } else {
      add("Send details to " + p.email + ".");
    }
  }
  return s;
}

struct ReState {
  std::vector<Person> recent;  // ring of recent people for cross-portal duplicates
  size_t recent_next = 0;
};

// Reference "now" for the data set: 2025-10-31 23:59 IST; leads span the 180 days before.
constexpr int64_t kRefDay = 20392;  // days since epoch of 2025-10-31
constexpr int64_t kWindowDays = 180;

void real_estate_row(Rng& rng, ReState& st, uint64_t index, uint64_t rows, RowSink& out,
                     double& true_p, int& label) {
  using namespace detail;
  const auto& cols = profile_columns(Profile::kRealEstate);
  ReRow r;
  // Person: new, or a cross-portal duplicate of a recent one.
  Person p;
  bool duplicate = false;
  if (!st.recent.empty() && rng.chance(kDuplicateRate)) {
    p = st.recent[rng.below(st.recent.size())];
    duplicate = true;
  } else {
    p = new_person(rng);
    if (st.recent.size() < 512) {
      st.recent.push_back(p);
    } else {
      st.recent[st.recent_next] = p;
      st.recent_next = (st.recent_next + 1) % st.recent.size();
    }
  }
  for (int c = 0; c < kReCount; ++c) {
    r.miss[c] = rng.chance(cols[static_cast<size_t>(c)].missing_rate);
    r.messy[c] = !cols[static_cast<size_t>(c)].messy.empty() && rng.chance(kMessyRate);
  }
  r.miss[kSaleType] = p.rent || rng.chance(kSaleTypeMissingBuy);
  if (p.rent) r.messy[kSaleType] = false;
  const double z = p.intent + (duplicate ? rng.normal(0, 0.3) : 0.0);

  // Time: leads arrive in order over the window; hour-of-day follows portal traffic.
  static constexpr std::array<double, 24> kHourWeight = {0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0,
                                                         1.6, 2.2, 2.8, 3.2, 3.2, 2.8, 2.6, 2.6,
                                                         2.8, 3.0, 3.4, 3.8, 4.0, 3.6, 2.4, 1.0};
  const int64_t day = kRefDay - kWindowDays +
                      static_cast<int64_t>(static_cast<double>(index) * kWindowDays /
                                           static_cast<double>(std::max<uint64_t>(rows, 1)));
  const int64_t hour = static_cast<int64_t>(rng.weighted(kHourWeight));
  const int64_t minute = rng.range(0, 59);
  const int64_t second = rng.range(0, 59);
  const int64_t weekday = (day + 4) % 7;  // 0 = Sunday
  r.days_since = kRefDay - day;

  // Source: duplicates come from another portal.
  r.source = duplicate ? kPortalSources[rng.below(kPortalSources.size())]
                       : rng.weighted(kReSourceWeight);
  const bool walk_in = r.source == 7;

  // First response (minutes): office hours 09:30-20:00, slower on weekends, night leads wait.
  {
    const double minute_of_day = static_cast<double>(hour * 60 + minute);
    double wait = rng.lognormal(std::log(12.0), 1.1);
    if (minute_of_day < 570) wait += 570 - minute_of_day;
    if (minute_of_day >= 1200) wait += 1440 - minute_of_day + 570;
    if (weekday == 0) wait *= 2.0;
    if (weekday == 6) wait *= 1.4;
    if (rng.chance(0.01)) wait += 1440 * rng.uniform(2, 5);  // forgotten lead
    r.first_response = walk_in ? 0.0 : std::round(wait);
  }

  // Behaviour driven by latent intent z.
  const bool fake = p.kind == 1, broker = p.kind == 2;
  r.loan = !p.rent && !fake && rng.chance(sigmoid(-0.9 + 0.6 * z));
  r.scheduled = !fake && (walk_in || rng.chance(sigmoid(-1.3 + 1.0 * z)));
  if (r.scheduled) {
    r.visits = rng.poisson(std::exp(-0.5 + 0.5 * z));
    if (walk_in) r.visits = std::max<int64_t>(r.visits, 1);
  } else {
    r.visits = rng.chance(0.05) ? 1 : 0;
  }
  if (rng.chance(0.001)) r.visits = rng.range(10, 20);  // outlier
  r.attempted = 1 + rng.poisson(2.5);
  const double answer_p = fake ? 0.0 : (broker ? 0.8 : sigmoid(-0.2 + 0.9 * z));
  r.answered = rng.binomial(r.attempted, answer_p);
  if (broker) {
    r.last_call = rng.chance(0.8) ? 8 : 1;
  } else if (r.answered == 0) {
    r.last_call = fake ? (rng.chance(0.7) ? 6 : 5)
                       : rng.weighted(std::array<double, 4>{0.2, 0.5, 0.2, 0.05}) + 3;
  } else {
    const double u = rng.uniform();
    const double interested = sigmoid(-0.6 + 1.2 * z);
    const double not_interested = sigmoid(-1.6 - 1.0 * z);
    if (u < 0.04) {
      r.last_call = 7;
    } else if (u < 0.04 + (1 - 0.04) * interested) {
      r.last_call = 0;
    } else if (rng.chance(not_interested / std::max(1e-9, 1 - interested))) {
      r.last_call = 2;
    } else {
      r.last_call = rng.chance(0.7) ? 1 : 3;
    }
  }
  r.whatsapp = fake ? 0 : rng.poisson(std::exp(0.2 + 0.6 * z) + (r.source == 9 ? 1.0 : 0.0));
  r.email_opens = rng.poisson(std::exp(0.4 + 0.3 * z));
  r.page_views = 1 + rng.poisson(std::exp(1.8 + 0.4 * z));
  if (rng.chance(0.005)) r.page_views = rng.range(300, 3000);  // bot
  r.time_on_site = std::round(rng.lognormal(5.0 + 0.35 * z, 0.8));
  if (rng.chance(0.003)) r.time_on_site = static_cast<double>(rng.range(20000, 86400));  // tab left open
  r.purpose = (!p.rent && rng.chance(0.3)) ? 1 : 0;
  r.sale_type = rng.chance(r.purpose == 1 ? 0.75 : 0.5) ? 0 : 1;
  r.possession = p.rent ? (rng.chance(0.8) ? 0 : 1)
                        : (r.sale_type == 1 ? rng.weighted(std::array<double, 5>{0.6, 0.2, 0.05, 0.0, 0.15})
                                            : rng.weighted(std::array<double, 5>{0.15, 0.2, 0.25, 0.3, 0.1}));
  // Pipeline stage follows the behaviour, with 10 % CRM noise.
  if (r.last_call == 2 || r.last_call >= 6) {
    r.stage = 5;
  } else if (r.visits >= 2 && z > 0.8) {
    r.stage = 4;
  } else if (r.visits >= 1) {
    r.stage = 3;
  } else if (r.last_call == 0 && (r.loan || r.scheduled)) {
    r.stage = 2;
  } else if (r.answered > 0) {
    r.stage = 1;
  } else {
    r.stage = r.days_since < 3 ? 0 : 1;
  }
  if (rng.chance(0.1)) r.stage = rng.below(kStages.size());
  r.consent = rng.chance(0.95);
  budget_text(rng, p, r.budget_text, r.budget_value);

  // Label from the written cells only.
  true_p = sigmoid(re_logit(r, p));
  label = rng.chance(true_p) ? 1 : 0;
  const std::string notes = r.miss[kNotes] ? std::string() : make_notes(rng, p, r);

  // ---- write ----
  CsvWriter& w = out.w();
  std::string cell;
  auto cat = [&](int col, size_t value, SV canonical) {
    if (r.miss[col]) return out.missing(col, Kind::kCategory, rng);
    if (r.messy[col]) {
      const auto& messy = cols[static_cast<size_t>(col)].messy;
      w.field(messy[rng.below(messy.size())]);
      return;
    }
    (void)value;
    w.field(canonical);
  };
  auto num = [&](int col, int64_t v) {
    if (r.miss[col]) return out.missing(col, Kind::kNumber, rng);
    w.field(v);
  };
  auto boolean = [&](int col, bool v) {
    if (r.miss[col]) return out.missing(col, Kind::kBool, rng);
    w.raw_field(bool_text(v, rng));
  };
  cell = "L";
  std::string id;
  append_int(id, static_cast<int64_t>(index + 1));
  cell.append(8 - std::min<size_t>(8, id.size()), '0');
  cell += id;
  w.raw_field(cell);
  cell.clear();
  append_date(cell, day);
  cell += "T";
  append_2d(cell, hour);
  cell += ":";
  append_2d(cell, minute);
  cell += ":";
  append_2d(cell, second);
  cell += "+05:30";
  w.raw_field(cell);
  cat(kSource, r.source, kReSources[r.source]);
  cat(kCity, p.city, kReCities[p.city]);
  if (r.miss[kLocality]) {
    out.missing(kLocality, Kind::kCategory, rng);
  } else {
    const SV loc = kReLocalities[p.city][p.locality];
    if (rng.chance(kMessyRate)) {
      // Portals often append the city; a schema sees an unknown locality (`other`).
      w.field(std::string(loc) + ", " + std::string(kReCities[p.city]));
    } else {
      w.field(loc);
    }
  }
  cat(kTransaction, p.rent, kTransactionTypes[p.rent ? 1 : 0]);
  cat(kPropertyType, p.ptype, kPropertyTypes[p.ptype]);
  num(kBhk, p.bhk);
  if (r.miss[kBudget]) {
    out.missing(kBudget, Kind::kNumber, rng);
  } else {
    w.field(r.budget_text);
  }
  if (p.rent) {
    out.missing(kSaleType, Kind::kText, rng);  // structurally empty for rentals
  } else {
    cat(kSaleType, r.sale_type, kSaleTypes[r.sale_type]);
  }
  boolean(kLoan, r.loan);
  cat(kPurpose, r.purpose, kPurposes[r.purpose]);
  cat(kPossession, r.possession, kPossessionPrefs[r.possession]);
  boolean(kVisitScheduled, r.scheduled);
  num(kVisitsDone, r.visits);
  num(kCallsAttempted, r.attempted);
  num(kCallsAnswered, r.answered);
  cat(kLastCall, r.last_call, kCallOutcomes[r.last_call]);
  num(kWhatsapp, r.whatsapp);
  num(kEmailOpens, r.email_opens);
  num(kPageViews, r.page_views);
  num(kTimeOnSite, static_cast<int64_t>(r.time_on_site));
  num(kDaysSince, r.days_since);
  num(kFirstResponse, static_cast<int64_t>(r.first_response));
  cat(kStage, r.stage, kStages[r.stage]);
  if (r.miss[kNotes]) {
    out.missing(kNotes, Kind::kText, rng);
  } else {
    w.field(notes);
  }
  boolean(kConsent, r.consent);
  if (r.miss[kName]) {
    out.missing(kName, Kind::kText, rng);
  } else {
    w.field(p.name);
  }
  w.field(p.phone);
  if (r.miss[kEmail]) {
    out.missing(kEmail, Kind::kText, rng);
  } else {
    w.field(p.email);
  }
  w.raw_field(label ? "1" : "0");
  w.field(true_p, 6);
  w.end_row();
}

// ---------------------------------------------------------------------------------------------
// Seed profile: the original assignment's 21 fields with a learnable label.

void seed_row(Rng& rng, uint64_t index, RowSink& out, double& true_p, int& label) {
  using namespace detail;
  const double z = rng.normal();
  const size_t city = rng.weighted(kSeedCityWeight);
  const int tier = kSeedCityTier[city];
  const int64_t age = std::clamp<int64_t>(static_cast<int64_t>(std::round(rng.normal(35, 9))), 21, 60);
  size_t occupation = rng.weighted(kOccupationWeight);
  if (occupation == 2 && age > 30) occupation = 0;  // few students over 30
  // Income: by occupation and city tier.
  double inc = rng.normal(0.0, 1.0) + (occupation == 0 ? 0.5 : 0) + (occupation == 1 ? 0.7 : 0) -
               (occupation >= 2 ? 1.2 : 0) + (tier == 1 ? 0.4 : 0) - (tier == 3 ? 0.3 : 0) +
               0.02 * static_cast<double>(age - 35);
  const size_t income = inc < -0.8 ? 0 : inc < 0.2 ? 1 : inc < 1.0 ? 2 : 3;
  const size_t education = rng.weighted(kEducationWeight);
  const int64_t visits = std::min<int64_t>(15, rng.poisson(std::exp(0.4 + 0.5 * z)));
  const double time_on_page = std::clamp(rng.lognormal(std::log(40.0) + 0.3 * z, 0.6), 5.0, 150.0);
  const bool form = rng.chance(sigmoid(-0.3 + 0.8 * z));
  const int64_t whatsapp = rng.binomial(5, sigmoid(-1.2 + 0.7 * z));
  const bool clicked = rng.chance(0.45);
  const bool bounced = rng.chance(sigmoid(-1.2 - 0.8 * z));
  const size_t referral = rng.weighted(kReferralWeight);
  const bool ip_geo = rng.chance(0.8);
  const size_t device = rng.weighted(kDeviceWeight);
  const size_t campaign = rng.below(3);
  const size_t crm = z + rng.normal(0, 0.8) > 0.6 ? 0 : (z + rng.normal(0, 0.8) > -0.6 ? 1 : 2);
  const bool linkedin = rng.chance(occupation == 0 ? 0.75 : 0.45);
  const double news = std::round(rng.uniform(-1.0, 1.0) * 100) / 100;
  const size_t company_size = rng.weighted(std::array<double, 4>{0.3, 0.3, 0.25, 0.15});
  const size_t industry = rng.below(5);

  double f = -4.2;
  f += 0.28 * static_cast<double>(std::min<int64_t>(visits, 8));
  f += 0.012 * (time_on_page - 40);
  f += form ? 0.7 : 0.0;
  f += 0.25 * static_cast<double>(whatsapp);
  f += clicked ? 0.15 : 0.0;
  f += bounced ? -0.8 : 0.0;
  f += kReferralEffect[referral];
  f += ip_geo ? 0.3 : -0.1;
  f += kCrmEffect[crm];
  f += linkedin ? 0.15 : 0.0;
  f += 0.4 * news;
  f += kOccupationEffect[occupation];
  f += kIncomeEffect[income];
  if (income == 3 && tier == 1) f += 0.3;   // affluent buyer in a metro
  if (income == 0 && tier == 1) f -= 0.3;   // metro prices out of reach
  f -= 0.0015 * static_cast<double>((age - 38) * (age - 38));
  if (form && visits >= 2) f += 0.4;
  f += device == 1 ? 0.1 : 0.0;
  f += campaign == 1 ? 0.1 : 0.0;
  true_p = sigmoid(f);
  label = rng.chance(true_p) ? 1 : 0;

  CsvWriter& w = out.w();
  std::string cell = "S";
  std::string id;
  append_int(id, static_cast<int64_t>(index + 1));
  cell.append(8 - std::min<size_t>(8, id.size()), '0');
  cell += id;
  w.raw_field(cell);
  cell = std::string(rng.pick(std::span<const SV>(kFirstNames))) + " " +
         std::string(rng.pick(std::span<const SV>(kSurnames)));
  w.raw_field(cell);
  w.field(age);
  w.raw_field(kSeedCities[city]);
  w.field(static_cast<int64_t>(tier));
  w.raw_field(kOccupations[occupation]);
  w.raw_field(kIncome[income]);
  w.raw_field(kEducation[education]);
  w.field(visits);
  w.field(time_on_page, 1);
  w.raw_field(form ? "true" : "false");
  w.field(whatsapp);
  w.raw_field(clicked ? "true" : "false");
  w.raw_field(bounced ? "true" : "false");
  w.raw_field(kReferral[referral]);
  w.raw_field(ip_geo ? "true" : "false");
  w.raw_field(kDevices[device]);
  w.raw_field(kCampaigns[campaign]);
  w.raw_field(kCrmTags[crm]);
  w.raw_field(linkedin ? "true" : "false");
  w.field(news, 2);
  w.raw_field(kCompanySize[company_size]);
  w.raw_field(kIndustry[industry]);
  w.raw_field(label ? "1" : "0");
  w.field(true_p, 6);
  w.end_row();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

core::Result<Profile> parse_profile(std::string_view name) {
  if (name == "real_estate" || name == "real-estate") return Profile::kRealEstate;
  if (name == "seed") return Profile::kSeed;
  return core::make_error("invalid_argument",
                          "unknown profile '" + std::string(name) + "' (use real_estate or seed)",
                          "profile");
}

std::string_view profile_name(Profile p) { return p == Profile::kSeed ? "seed" : "real_estate"; }

const std::vector<ColumnSpec>& profile_columns(Profile p) {
  static const std::vector<ColumnSpec> re = make_real_estate_columns();
  static const std::vector<ColumnSpec> seed = make_seed_columns();
  return p == Profile::kSeed ? seed : re;
}

ProfileTargets profile_targets(Profile p) {
  if (p == Profile::kSeed) return {0.158, 0.02, 0.82, 0.90};
  return {0.145, 0.02, 0.80, 0.88};
}

core::Result<GenerateReport> generate(const GenerateOptions& opt, CsvWriter& out) {
  if (opt.rows < 1 || opt.rows > kMaxGenerateRows) {
    return core::make_error("invalid_rows",
                            "rows must be between 1 and " + std::to_string(kMaxGenerateRows) +
                                ", got " + std::to_string(opt.rows),
                            "rows");
  }
  const auto start = std::chrono::steady_clock::now();
  const auto& cols = profile_columns(opt.profile);
  GenerateReport rep;
  rep.columns.reserve(cols.size());
  for (const auto& c : cols) rep.columns.emplace_back(c.name);
  rep.missing.assign(cols.size(), 0);
  for (const auto& c : cols) out.raw_field(c.name);
  out.end_row();

  // Streams derived from the seed and profile so the two profiles never share draws.
  Rng rng(opt.seed * 0x9E3779B97F4A7C15ULL + (opt.profile == Profile::kSeed ? 2 : 1));
  RowSink sink(out, rep.missing);
  ReState state;
  std::vector<double> probs;
  std::vector<int> labels;
  probs.reserve(opt.rows);
  labels.reserve(opt.rows);
  const bool progress = opt.progress && opt.rows >= opt.progress_min_rows;
  uint64_t next_report = opt.rows / 10;
  double sum_p = 0;
  for (uint64_t i = 0; i < opt.rows; ++i) {
    double p = 0;
    int y = 0;
    if (opt.profile == Profile::kSeed) {
      seed_row(rng, i, sink, p, y);
    } else {
      real_estate_row(rng, state, i, opt.rows, sink, p, y);
    }
    probs.push_back(p);
    labels.push_back(y);
    sum_p += p;
    rep.positives += static_cast<uint64_t>(y);
    if (progress && i + 1 == next_report) {
      std::fprintf(stderr, "generate: %3d%% (%llu/%llu rows)\n",
                   static_cast<int>((i + 1) * 100 / opt.rows),
                   static_cast<unsigned long long>(i + 1),
                   static_cast<unsigned long long>(opt.rows));
      next_report += opt.rows / 10;
    }
  }
  LS_TRY(out.flush());
  rep.rows = opt.rows;
  rep.oracle_auc = roc_auc(probs, labels);
  rep.mean_true_probability = opt.rows ? sum_p / static_cast<double>(opt.rows) : 0;
  rep.bytes = out.bytes_written();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return rep;
}

void append_report_text(const GenerateReport& r, std::string& out) {
  char line[256];
  const double rate = r.rows ? static_cast<double>(r.positives) / static_cast<double>(r.rows) : 0;
  std::snprintf(line, sizeof line,
                "rows: %llu\npositives: %llu (%.2f%%), mean true_probability %.4f\n"
                "oracle AUC (true_probability vs converted): %.4f\n"
                "missing cells per column:\n",
                static_cast<unsigned long long>(r.rows), static_cast<unsigned long long>(r.positives),
                100 * rate, r.mean_true_probability, r.oracle_auc);
  out += line;
  for (size_t i = 0; i < r.columns.size(); ++i) {
    const double m = r.rows ? static_cast<double>(r.missing[i]) / static_cast<double>(r.rows) : 0;
    std::snprintf(line, sizeof line, "  %-30s %6.2f%%\n", r.columns[i].c_str(), 100 * m);
    out += line;
  }
}

void append_report_json(const GenerateReport& r, std::string& out) {
  core::JsonWriter j(out);
  j.begin_object();
  j.field("rows", r.rows);
  j.field("positives", r.positives);
  j.field("positive_rate", r.rows ? static_cast<double>(r.positives) / static_cast<double>(r.rows) : 0.0);
  j.field("mean_true_probability", r.mean_true_probability);
  j.field("oracle_auc", r.oracle_auc);
  j.key("missing_rate").begin_object();
  for (size_t i = 0; i < r.columns.size(); ++i) {
    j.field(r.columns[i], r.rows ? static_cast<double>(r.missing[i]) / static_cast<double>(r.rows) : 0.0);
  }
  j.end_object();
  j.field("seconds", r.seconds);
  j.field("bytes", r.bytes);
  j.end_object();
}

}  // namespace data
