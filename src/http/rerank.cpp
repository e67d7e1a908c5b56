// The rerank routes: a broker's free-text target intent against each lead's text.
// Leads are parsed (PII dropped) and scored on the io thread; similarities come from the
// text::Reranker (BM25 inline; MiniLM inline when few texts need encoding, else on the
// background thread), with MiniLM embeddings cached by scrubbed text. A lead's embedding is
// cached only with its consent, under a key of its own tagged with the lead's keyed embedding
// tag, so POST /v1/erase finds and removes it (docs/PRIVACY.md).

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "cache/cache.h"
#include "http/http.h"
#include "http/lead_items.h"
#include "model/model.h"
#include "text/text.h"

namespace http {
namespace {

using detail::parse_checked;
using detail::safe_item_id;
using detail::write_feature_value;
using detail::write_item_error;

constexpr std::string_view kIntentScoreKey = "intent_score";

struct Item {
  size_t index = 0;  // position in the request's leads
  std::string lead_id;
  bool consent = false;  // consent: true (its embedding may be cached)
  double intent_score = 0;
  int score = 0;
  char grade = 'D';
  std::string text;  // scrubbed rerank text
  std::string echo;  // /rerank only: the lead's schema fields (no PII) as a JSON object body
  float similarity = 0;
  double combined = 0;
};

struct Failure {
  size_t index = 0;
  std::string lead_id;
  core::Error error;
};

// Everything a request needs after its body is gone (it may finish on another thread).
struct Job {
  bool legacy = false;
  std::string intent;  // scrubbed
  size_t top_k = 10;
  double weight = 0.5;
  std::string model_version;
  std::vector<Item> items;
  std::vector<Failure> failures;
};

// "leads[3].notes" ("leads[3]" without a field).
std::string item_field(size_t index, std::string_view field) {
  std::string out = "leads[";
  out.append(std::to_string(index)).push_back(']');
  if (!field.empty()) out.append(".").append(field);
  return out;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

core::Result<Job> parse_request(const simdjson::dom::element& body, bool legacy,
                                const RerankOptions& opts, simdjson::dom::array& leads) {
  simdjson::dom::object obj;
  if (body.get(obj)) return core::make_error("not_an_object", "the body must be a JSON object");
  Job job;
  job.legacy = legacy;
  job.top_k = legacy ? opts.max_leads : 10;
  bool have_intent = false, have_leads = false;
  for (auto [k, v] : obj) {
    if (k == "target_intent") {
      std::string_view s;
      if (v.get(s)) {
        return core::make_error("field_type_mismatch", "target_intent must be a string",
                                "target_intent");
      }
      if (code_points(s) > opts.max_text_chars) {
        return core::make_error("field_too_long",
                                "target_intent is longer than " +
                                    std::to_string(opts.max_text_chars) + " characters",
                                "target_intent");
      }
      job.intent = core::scrub_contact_details(s);
      have_intent = job.intent.find_first_not_of(" \t\r\n") != std::string::npos;
    } else if (k == "leads") {
      if (v.get(leads)) {
        return core::make_error("field_type_mismatch", "leads must be an array", "leads");
      }
      have_leads = true;
    } else if (k == "top_k") {
      int64_t n = 0;
      if (v.get(n)) {
        uint64_t u = 0;
        if (!v.get(u)) n = INT64_MAX;
        else return core::make_error("field_type_mismatch", "top_k must be an integer", "top_k");
      }
      if (n < 1) return core::make_error("field_out_of_range", "top_k must be at least 1", "top_k");
      job.top_k = static_cast<size_t>(n);
    } else if (k == "weight") {
      double w = 0;
      if (v.get(w)) {
        return core::make_error("field_type_mismatch", "weight must be a number", "weight");
      }
      if (!(w >= 0.0 && w <= 1.0)) {
        return core::make_error("field_out_of_range", "weight must be between 0 and 1",
                                "weight");
      }
      job.weight = w;
    } else if (!legacy) {
      // /v1 is strict (a typo such as "topk" must not silently fall back to a default);
      // the prototype's /rerank ignores extra keys as the original did.
      return core::make_error("unknown_field", "unknown request field",
                              core::displayable_name(k));
    }
  }
  if (!have_intent) {
    return core::make_error("missing_field", "target_intent is required and must not be empty",
                            "target_intent");
  }
  if (!have_leads) return core::make_error("missing_field", "leads is required", "leads");
  if (leads.size() > opts.max_leads) {
    return core::make_error("batch_too_large",
                            "at most " + std::to_string(opts.max_leads) + " leads per request",
                            "leads");
  }
  if (legacy) job.weight = 1.0;  // the prototype ranked by similarity alone
  return job;
}

// A client-given intent_score (the schema has no field of that name): null means "score it".
// Returns NaN when absent.
core::Result<double> given_intent_score(const core::Schema& schema, simdjson::dom::object obj) {
  if (schema.field(kIntentScoreKey) != nullptr) return std::nan("");
  simdjson::dom::element v;
  if (obj.at_key(kIntentScoreKey).get(v) || v.is_null()) return std::nan("");
  double p = 0;
  if (v.is_bool() || v.get(p)) {
    return core::make_error("field_type_mismatch", "intent_score must be a number",
                            std::string(kIntentScoreKey));
  }
  if (!(p >= 0.0 && p <= 1.0)) {
    return core::make_error("field_out_of_range", "intent_score must be between 0 and 1",
                            std::string(kIntentScoreKey));
  }
  return p;
}

// Parses a lead; with a schema that rejects unknown fields, a given intent_score is removed
// first (it is a rerank input, not a lead field).
core::Result<core::Lead> parse_rerank_lead(const core::Schema& schema, simdjson::dom::object obj,
                                           simdjson::dom::element el, bool has_given,
                                           const core::ParseOptions& po) {
  if (!has_given || !schema.unknown_fields_rejected()) return parse_checked(schema, el, po);
  std::string copy;
  core::JsonWriter w(copy);
  w.begin_object();
  for (auto [k, v] : obj) {
    if (k != kIntentScoreKey) w.key(k).raw(simdjson::to_string(v));
  }
  w.end_object();
  LS_ASSIGN_OR_RETURN(core::Lead lead, core::parse_lead_json(schema, copy, po));
  LS_TRY(detail::refuse_minor(schema, lead));
  return lead;
}

// The lead's free text (text-for-rerank fields, already scrubbed by core) followed by its
// property in words: "3 BHK Apartment in Whitefield, Bengaluru, budget 1.4 crore".
std::string rerank_text(const core::Schema& schema, const core::Lead& lead) {
  std::string out;
  for (const auto& [name, value] : lead.texts) {
    if (value.empty()) continue;
    if (!out.empty()) out += ". ";
    out += value;
  }
  auto feature = [&](std::string_view name) -> std::string {
    const auto* f = schema.field(name);
    if (!f || f->feature_index < 0) return {};
    const auto i = static_cast<size_t>(f->feature_index);
    const float v = lead.features[i];
    if (std::isnan(v)) return {};
    if (f->type == core::FieldType::Category && v >= static_cast<float>(f->categories.size())) {
      return {};  // "other" says nothing
    }
    return core::describe_feature_value(schema, i, v);
  };
  std::string words;
  auto add = [&](std::string_view sep, const std::string& part) {
    if (part.empty()) return;
    if (!words.empty()) words += sep;
    words += part;
  };
  if (auto bhk = feature("bhk"); !bhk.empty() && bhk != "0") add(" ", bhk + " BHK");
  add(" ", feature("property_type"));
  const auto locality = feature("locality");
  const auto city = feature("city");
  if (!locality.empty() || !city.empty()) {
    std::string where = "in " + locality;
    if (!locality.empty() && !city.empty()) where += ", ";
    where += city;
    add(" ", where);
  }
  for (const auto& f : schema.fields()) {
    if (f.type == core::FieldType::MoneyInr && f.feature_index >= 0) {
      if (auto b = feature(f.name); !b.empty()) add(", ", "budget " + b);
    }
  }
  if (!words.empty()) {
    if (!out.empty()) out += ". ";
    out += words;
  }
  // Scrubbed again: the joined text must not reassemble a number split across fields.
  return core::scrub_contact_details(out);
}

// Parses every lead of the request: scores it (or takes its intent_score), builds its text.
// Returns a request-level error for a text over the limit (the limit is on the free text the
// client sent; our property words are not counted).
core::Status parse_leads(const model::Scorer& scorer, simdjson::dom::array leads,
                         const RerankOptions& opts, Job& job) {
  const auto& schema = scorer.schema();
  auto is_text_field = [&](std::string_view name) {
    const auto* f = schema.field(name);
    return f && f->role == core::FieldRole::TextForRerank;
  };
  auto too_long = [&](size_t index, std::string_view field) {
    return core::make_error("field_too_long",
                            "lead " + std::to_string(index) + "'s text is longer than " +
                                std::to_string(opts.max_text_chars) + " characters",
                            item_field(index, field));
  };
  job.items.reserve(leads.size());
  model::ScoreResult r;
  core::ParseOptions po;
  po.pseudonymise_lead_id = opts.policy.id_pseudonymiser;
  size_t index = 0;
  for (simdjson::dom::element el : leads) {
    const size_t i = index++;
    simdjson::dom::object obj;
    if (el.get(obj)) {
      job.failures.push_back({i, {}, core::Error{"not_an_object", "a lead must be a JSON object", ""}});
      continue;
    }
    auto given = given_intent_score(schema, obj);
    core::Result<core::Lead> lead =
        given ? parse_rerank_lead(schema, obj, el, !std::isnan(*given), po)
              : core::Result<core::Lead>(tl::unexpected(given.error()));
    if (lead) {
      if (auto st = detail::apply_consent_policy(opts.policy, schema, *lead); !st) {
        lead = tl::unexpected(st.error());
      }
    }
    if (!lead) {
      if (lead.error().code == "field_too_long" && is_text_field(lead.error().field)) {
        return too_long(i, lead.error().field);
      }
      job.failures.push_back({i, safe_item_id(schema, el), lead.error()});
      continue;
    }
    size_t chars = 0;
    for (const auto& [name, value] : lead->texts) chars += code_points(value);
    if (chars > opts.max_text_chars) {
      return too_long(i, lead->texts.size() == 1 ? lead->texts[0].first : std::string());
    }
    Item it;
    it.index = i;
    it.lead_id = lead->id;
    it.consent = lead->consent.value_or(false);
    if (std::isnan(*given)) {
      scorer.score(*lead, r, /*with_reasons=*/false);
      it.intent_score = r.intent_score;
      it.score = r.score;
      it.grade = r.grade;
    } else {
      it.intent_score = *given;
      it.score = static_cast<int>(std::lround(100.0 * *given));
      it.grade = scorer.grades().grade(*given);
    }
    it.text = rerank_text(schema, *lead);
    if (job.legacy) {
      // The lead as sent, minus PII/ignored/unknown fields, with texts scrubbed.
      core::JsonWriter w(it.echo);
      w.begin_object();
      for (auto [k, v] : obj) {
        const auto* f = schema.field(k);
        if (!f || f->role == core::FieldRole::Pii || f->role == core::FieldRole::Ignore) continue;
        if (f->role == core::FieldRole::Id) {
          w.key(k).value(std::string_view(lead->id));
          continue;
        }
        const auto* list = f->role == core::FieldRole::TextForRerank ? &lead->texts
                           : f->role == core::FieldRole::Meta        ? &lead->meta
                                                                     : nullptr;
        if (list) {
          for (const auto& [name, value] : *list) {
            if (name == k) w.key(k).value(std::string_view(value));
          }
          continue;
        }
        // Features, consent and label as parsed, never as sent: a phone number or e-mail put
        // in a category field comes back as "other" (the prototype echoed it verbatim).
        w.key(k);
        if (f->role == core::FieldRole::Feature) {
          const auto fi = static_cast<size_t>(f->feature_index);
          const float x = lead->features[fi];
          const bool number = f->type == core::FieldType::Number ||
                              f->type == core::FieldType::Integer ||
                              f->type == core::FieldType::MoneyInr;
          if (number && !std::isnan(x)) w.value(x);  // float: the number as sent, e.g. 0.1
          else write_feature_value(w, schema, fi, x);
        } else if (f->role == core::FieldRole::Consent && lead->consent) {
          w.value(*lead->consent);
        } else if (f->role == core::FieldRole::Label && lead->label) {
          w.value(*lead->label);
        } else {
          w.null();
        }
      }
      w.end_object();
    }
    job.items.push_back(std::move(it));
  }
  if (job.legacy && !job.failures.empty()) {
    // The prototype answered all or nothing: the first bad lead fails the request.
    auto e = job.failures.front().error;
    e.field = item_field(job.failures.front().index, e.field);
    return tl::unexpected(std::move(e));
  }
  return core::ok();
}

struct Shared {
  std::shared_ptr<ModelHolder> models;
  RerankOptions opts;
  text::MiniLmEncoder* minilm = nullptr;  // when the reranker is MiniLM
  std::string emb_ns;                     // "emb:<model id>"
  Counter* encoded = nullptr;
  Counter* cache_hits = nullptr;
  // Background encodes queued or running. While there are any, every encode goes there too:
  // the encoder serializes calls, so an inline one would block its io thread behind them.
  std::atomic<int> background{0};
};

// MiniLM with the embedding cache. `texts[0]` is the intent. Looks every cacheable text up,
// encodes the misses (each distinct text once), stores them, and fills sims.
// Cacheable: the intent (the broker's words, keyed by text alone) and each lead with consent.
// A lead with an id is keyed by (its embedding tag, text) and indexed under that tag, so
// erasing the lead removes exactly its embeddings; two leads with the same text never share
// an entry. A lead without consent is encoded for this request only (never looked up or
// stored), as its score is (docs/PRIVACY.md, consent policy).
struct EmbedPlan {
  std::vector<std::string> texts;
  std::vector<char> store;             // per text: cacheable (lookups and puts)
  std::vector<cache::Key> keys;        // per text, where store
  std::vector<cache::LeadTag> tags;    // per text: the lead's embedding tag (empty: none)
  std::vector<std::optional<std::string>> cached;
  std::vector<size_t> misses;  // indexes into texts of distinct texts to encode
};

EmbedPlan plan_embeddings(const Shared& sh, const Job& job) {
  EmbedPlan p;
  const size_t n = job.items.size() + 1;
  p.texts.reserve(n);
  p.texts.push_back(job.intent);
  for (const auto& it : job.items) p.texts.push_back(it.text);
  p.cached.resize(n);
  if (sh.opts.cache) {
    p.store.assign(n, 0);
    p.keys.resize(n);
    p.tags.resize(n);
    std::vector<cache::Key> lookup;
    std::vector<size_t> where;
    lookup.reserve(n);
    where.reserve(n);
    std::string keyed;
    for (size_t i = 0; i < n; ++i) {
      const Item* it = i == 0 ? nullptr : &job.items[i - 1];
      if (it && !it->consent) continue;
      p.store[i] = 1;
      if (it && sh.opts.tagger && !it->lead_id.empty()) {
        p.tags[i] = sh.opts.tagger->embedding_tag(it->lead_id);
        const auto& d = p.tags[i].digest();
        keyed.assign(reinterpret_cast<const char*>(d.data()), d.size());
        keyed += p.texts[i];
        p.keys[i] = cache::make_key(sh.emb_ns, keyed);
      } else {
        p.keys[i] = cache::make_key(sh.emb_ns, p.texts[i]);
      }
      lookup.push_back(p.keys[i]);
      where.push_back(i);
    }
    auto got = sh.opts.cache->get_many(lookup);
    for (size_t j = 0; j < where.size(); ++j) p.cached[where[j]] = std::move(got[j]);
  }
  const size_t dim = sh.minilm->embedding_dim();
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < p.texts.size(); ++i) {
    auto& c = p.cached[i];
    if (c && c->size() != dim * sizeof(float)) c.reset();  // another shape: a miss
    if (c) continue;
    if (seen.emplace(p.texts[i], i).second) p.misses.push_back(i);
  }
  return p;
}

core::Status run_embeddings(const Shared& sh, EmbedPlan& p, Job& job) {
  const size_t dim = sh.minilm->embedding_dim();
  std::vector<float> fresh(p.misses.size() * dim);
  if (!p.misses.empty()) {
    std::vector<std::string_view> batch;
    batch.reserve(p.misses.size());
    for (size_t m : p.misses) batch.push_back(p.texts[m]);
    LS_TRY(sh.minilm->encode(std::span<const std::string_view>(batch), fresh));
    sh.encoded->inc(p.misses.size());
  }
  sh.cache_hits->inc(p.texts.size() - p.misses.size());
  // Every text's embedding: cached bytes, or its (first) fresh row.
  std::unordered_map<std::string_view, const float*> fresh_rows;
  for (size_t j = 0; j < p.misses.size(); ++j) {
    fresh_rows.emplace(p.texts[p.misses[j]], fresh.data() + j * dim);
  }
  if (sh.opts.cache && !p.misses.empty()) {
    // One entry per cacheable text not found (its own key: a lead's text shared with another
    // lead or the intent is still stored under each lead's key).
    std::vector<cache::PutItem> puts;
    for (size_t i = 0; i < p.texts.size(); ++i) {
      if (!p.store[i] || p.cached[i]) continue;
      const float* row = fresh_rows.at(p.texts[i]);
      puts.push_back({p.keys[i],
                      std::string_view(reinterpret_cast<const char*>(row), dim * sizeof(float)),
                      sh.opts.embedding_ttl, p.tags[i]});
    }
    if (!puts.empty()) sh.opts.cache->put_many(puts);
  }
  std::vector<float> tmp(dim);
  auto row_of = [&](size_t i) -> std::span<const float> {
    if (p.cached[i]) {
      std::memcpy(tmp.data(), p.cached[i]->data(), dim * sizeof(float));
      return tmp;
    }
    return {fresh_rows.at(p.texts[i]), dim};
  };
  std::vector<float> query(dim);
  {
    auto q = row_of(0);
    std::copy(q.begin(), q.end(), query.begin());
  }
  for (size_t i = 0; i < job.items.size(); ++i) {
    job.items[i].similarity = text::dot(query, row_of(i + 1));
  }
  return core::ok();
}

core::Status run_bm25(const Shared& sh, Job& job) {
  std::vector<std::string> docs;
  docs.reserve(job.items.size());
  for (const auto& it : job.items) docs.push_back(it.text);
  std::vector<float> sims(docs.size());
  LS_TRY(sh.opts.reranker->similarities(job.intent, docs, sims));
  sh.encoded->inc(docs.size() + 1);
  for (size_t i = 0; i < job.items.size(); ++i) job.items[i].similarity = sims[i];
  return core::ok();
}

void write_response(const Shared& sh, Job& job, Response& res) {
  for (auto& it : job.items) {
    it.combined = job.weight * static_cast<double>(it.similarity) +
                  (1.0 - job.weight) * it.intent_score;
  }
  // Ties keep the leads' order.
  std::stable_sort(job.items.begin(), job.items.end(), [&](const Item& a, const Item& b) {
    return job.legacy ? a.similarity > b.similarity : a.combined > b.combined;
  });
  const size_t k = std::min(job.top_k, job.items.size());
  res.body.clear();
  res.body.reserve(k * (job.legacy ? 600 : 160) + job.failures.size() * 160 + 128);
  core::JsonWriter w(res.body);
  w.begin_object();
  if (job.legacy) {
    w.key("leads").begin_array();
    for (size_t i = 0; i < k; ++i) {
      const auto& it = job.items[i];
      // The echoed object with "similarity" appended before its closing brace.
      std::string obj = it.echo;
      obj.pop_back();
      if (obj.size() > 1) obj += ',';
      obj += "\"similarity\":";
      core::JsonWriter(obj).value(static_cast<double>(it.similarity));
      obj += '}';
      w.raw(obj);
    }
    w.end_array();
  } else {
    w.key("results").begin_array();
    for (size_t i = 0; i < k; ++i) {
      const auto& it = job.items[i];
      w.begin_object().key("lead_id");
      if (it.lead_id.empty()) w.null();
      else w.value(std::string_view(it.lead_id));
      w.field("rank", static_cast<uint64_t>(i + 1));
      w.field("similarity", static_cast<double>(it.similarity));
      w.field("intent_score", it.intent_score);
      w.field("combined", it.combined);
      w.field("score", it.score);
      const char grade[2] = {it.grade, '\0'};
      w.field("grade", std::string_view(grade, 1));
      w.end_object();
    }
    w.end_array();
    w.key("errors").begin_array();
    for (const auto& f : job.failures) write_item_error(w, f.index, f.lead_id, f.error);
    w.end_array();
  }
  w.field("encoder", sh.opts.reranker->name());
  w.field("model", sh.opts.reranker->model_id());
  w.field("model_version", std::string_view(job.model_version));
  w.end_object();
}

// Similarities then the response; returns the response to send.
Response finish(const Shared& sh, Job& job, EmbedPlan* plan) {
  Response res;
  core::Status st = plan ? run_embeddings(sh, *plan, job) : run_bm25(sh, job);
  if (!st) {
    log_event("error", "rerank_failed", {{"error", st.error().code}});
    write_error(res, 500, "internal", "the text encoder failed");
    return res;
  }
  write_response(sh, job, res);
  return res;
}

void handle(Server& server, const std::shared_ptr<Shared>& sh, bool legacy, Request& req,
            Responder responder) {
  Response res;
  auto fail = [&](const core::Error& e) {
    write_error(res, e);
    responder.send(std::move(res));
  };
  auto scorer = sh->models->get();
  if (!scorer) return fail(core::Error{"not_ready", "no model loaded", ""});
  auto body = parse_json_body(req);
  if (!body) return fail(body.error());
  simdjson::dom::array leads;
  auto job = parse_request(*body, legacy, sh->opts, leads);
  if (!job) return fail(job.error());
  job->model_version = scorer->version();
  if (auto st = parse_leads(*scorer, leads, sh->opts, *job); !st) return fail(st.error());

  auto shared_job = std::make_shared<Job>(*std::move(job));
  if (sh->minilm) {
    auto plan = std::make_shared<EmbedPlan>(plan_embeddings(*sh, *shared_job));
    if (plan->misses.empty() || (plan->misses.size() <= sh->opts.inline_encode_max &&
                                 sh->background.load() == 0)) {
      return responder.send(finish(*sh, *shared_job, plan.get()));
    }
    sh->background.fetch_add(1);
    auto rsp = std::make_shared<Responder>(std::move(responder));
    server.post_background([sh, shared_job, plan, rsp] {
      Response res = finish(*sh, *shared_job, plan.get());
      sh->background.fetch_sub(1);
      rsp->send(std::move(res));
    });
    return;
  }
  responder.send(finish(*sh, *shared_job, nullptr));
}

}  // namespace

void add_rerank_routes(Server& server, std::shared_ptr<ModelHolder> models,
                       const RerankOptions& opts) {
  auto sh = std::make_shared<Shared>();
  sh->models = std::move(models);
  sh->opts = opts;
  sh->minilm = dynamic_cast<text::MiniLmEncoder*>(opts.reranker.get());
  sh->emb_ns = "emb:" + std::string(opts.reranker->model_id());
  const Labels labels = {{"encoder", std::string(opts.reranker->name())}};
  sh->encoded = &server.metrics().counter(
      "leadscore_text_encoded_total",
      "Texts run through the rerank encoder (MiniLM: embedding-cache misses; BM25: every text)",
      labels);
  sh->cache_hits = &server.metrics().counter(
      "leadscore_embedding_cache_hits_total", "Rerank texts whose embedding came from the cache",
      labels);
  log_event("info", "reranker_ready",
            {{"encoder", opts.reranker->name()}, {"model", opts.reranker->model_id()}});

  auto& r = server.router();
  for (bool legacy : {false, true}) {
    r.add_async("POST", legacy ? "/rerank" : "/v1/rerank", Scope::kRerank,
                BodyPolicy::kJsonRequired, [&server, sh, legacy](Request& req, Responder rsp) {
                  handle(server, sh, legacy, req, std::move(rsp));
                });
  }
}

}  // namespace http
