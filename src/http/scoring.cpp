// The scoring routes: JSON body -> core::Lead (PII dropped at the door) -> model::Scorer ->
// JSON result. Single leads, batches with per-item errors in place, the original prototype's
// POST /score, model info and atomic reload.

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>

#include "cache/cache.h"
#include "crm/crm.h"
#include "http/http.h"
#include "http/lead_items.h"
#include "model/model.h"

namespace http {
namespace detail {

void write_item_error(core::JsonWriter& w, size_t index, std::string_view lead_id,
                      const core::Error& e) {
  w.begin_object().field("index", static_cast<uint64_t>(index));
  w.key("lead_id");
  if (lead_id.empty()) w.null();
  else w.value(lead_id);
  w.key("error").begin_object().field("code", std::string_view(e.code));
  w.field("message", std::string_view(e.message)).key("field");
  if (e.field.empty()) w.null();
  else w.value(std::string_view(e.field));
  w.end_object().end_object();
}

void write_feature_value(core::JsonWriter& w, const core::Schema& schema, size_t feature_index,
                         float value) {
  if (std::isnan(value)) {
    w.null();
    return;
  }
  switch (schema.feature_field(feature_index).type) {
    case core::FieldType::Boolean: w.value(value != 0.0f); break;
    case core::FieldType::Category:
    case core::FieldType::Timestamp:
      w.value(core::describe_feature_value(schema, feature_index, value));
      break;
    default: w.value(static_cast<double>(value));
  }
}

core::Status refuse_minor(const core::Schema& schema, const core::Lead& lead) {
  if (!core::is_minor(lead)) return core::ok();
  const auto* age = schema.age_field();
  return core::make_error("minor_not_processed",
                          "leads under 18 are not processed (DPDP Act, section 9)",
                          age ? age->name : std::string());
}

core::Result<core::Lead> parse_checked(const core::Schema& schema, simdjson::dom::element el,
                                       const core::ParseOptions& options) {
  LS_ASSIGN_OR_RETURN(core::Lead lead, core::parse_lead(schema, el, options));
  LS_TRY(refuse_minor(schema, lead));
  return lead;
}

std::string safe_item_id(const core::Schema& schema, simdjson::dom::element el) {
  const auto* idf = schema.id_field();
  if (!idf) return {};
  simdjson::dom::element v;
  if (el.at_key(idf->name).get(v)) return {};
  std::string id;
  std::string_view s;
  int64_t i = 0;
  if (!v.get(s)) id = std::string(s);
  else if (!v.get(i)) id = std::to_string(i);
  if (id.empty() || id.size() > 128 || core::looks_like_pii(id)) return {};
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20) return {};
  }
  return id;
}

core::Status apply_consent_policy(const ScoringOptions& opts, const core::Schema& schema,
                                  const core::Lead& lead) {
  // Withdrawal: cancel queued pushes and drop cache entries (scores and rerank embeddings)
  // now; the rest of the lead's record goes with POST /v1/erase or retention.
  if (!lead.id.empty() && lead.consent.has_value() && !*lead.consent) {
    if (opts.outbox) opts.outbox->cancel_lead(lead.id, [](core::Result<int64_t>) {});
    if (opts.cache && opts.tagger) {
      (void)opts.cache->erase_lead(opts.tagger->tag(lead.id));
      (void)opts.cache->erase_lead(opts.tagger->embedding_tag(lead.id));
    }
  }
  if (opts.require_consent && !lead.consent.value_or(false)) {
    const auto* cf = schema.consent_field();
    return core::make_error("consent_required",
                            "this server processes only leads with consent: true",
                            cf ? cf->name : std::string());
  }
  return core::ok();
}

}  // namespace detail

namespace {

using detail::parse_checked;
using detail::safe_item_id;
using detail::write_feature_value;
using detail::write_item_error;

void write_result(core::JsonWriter& w, const model::Scorer& scorer, const core::Lead& lead,
                  const model::ScoreResult& r, bool cached) {
  const auto& schema = scorer.schema();
  w.begin_object();
  w.key("lead_id");
  if (lead.id.empty()) w.null();
  else w.value(std::string_view(lead.id));
  // float precision: a cache hit (stored compactly as float) answers byte for byte the same.
  w.field("intent_score", static_cast<float>(r.intent_score));
  w.field("score", r.score);
  const char grade[2] = {r.grade, '\0'};
  w.field("grade", std::string_view(grade, 1));
  w.field("percentile", static_cast<float>(r.percentile));
  w.key("reasons").begin_array();
  for (int k = 0; k < r.n_reasons; ++k) {
    const auto& reason = r.reasons[static_cast<size_t>(k)];
    w.begin_object();
    w.field("feature", std::string_view(schema.feature_names()[static_cast<size_t>(reason.feature)]));
    w.key("value");
    write_feature_value(w, schema, static_cast<size_t>(reason.feature), reason.value);
    w.field("impact", static_cast<double>(reason.impact));
    w.field("text", std::string_view(model::reason_text(scorer, reason)));
    w.end_object();
  }
  w.end_array();
  w.field("model_version", std::string_view(scorer.version()));
  w.field("cached", cached);
  w.key("missing_fields").begin_array();
  for (const auto& m : lead.missing_fields) w.value(std::string_view(m));
  w.end_array();
  w.end_object();
}

// Cache values are the compact result; conversion both ways keeps every field we answer.
cache::ScoreValue to_cache_value(const model::ScoreResult& r) {
  cache::ScoreValue v;
  v.intent_score = static_cast<float>(r.intent_score);
  v.score = static_cast<uint8_t>(r.score);
  v.grade = r.grade;
  v.percentile = static_cast<float>(r.percentile);
  v.n_reasons = static_cast<uint8_t>(r.n_reasons);
  for (int k = 0; k < r.n_reasons; ++k) {
    const auto& in = r.reasons[static_cast<size_t>(k)];
    v.reasons[static_cast<size_t>(k)] = {static_cast<uint16_t>(in.feature), in.value, in.impact};
  }
  return v;
}

bool from_cache_value(std::string_view bytes, size_t n_features, model::ScoreResult& r) {
  auto v = cache::unpack_score(bytes);
  if (!v || v->n_reasons > 3) return false;
  r.intent_score = v->intent_score;
  r.score = v->score;
  r.grade = v->grade;
  r.percentile = v->percentile;
  r.n_reasons = v->n_reasons;
  for (int k = 0; k < r.n_reasons; ++k) {
    const auto& in = v->reasons[static_cast<size_t>(k)];
    if (in.feature >= n_features) return false;  // a corrupt or foreign entry: rescore
    r.reasons[static_cast<size_t>(k)] = {in.feature, in.value, in.impact};
  }
  return true;
}

// Consent policy (docs/PRIVACY.md): only a lead with consent: true is cached beyond the
// request or pushed to the CRM; others are scored for the broker's own use, or refused when
// the server requires consent.
bool has_consent(const core::Lead& lead) { return lead.consent.value_or(false); }

// A request's CRM events. The io thread's batch is reused from request to request, so after
// the first few the events' strings keep their buffers and building one allocates nothing.
class EventBatch {
 public:
  crm::Event& next() {
    if (n_ == items_.size()) items_.emplace_back();
    return items_[n_++];
  }
  void take_from(EventBatch& other) {
    for (auto& ev : other.events()) next() = std::move(ev);
    other.clear();
  }
  std::span<crm::Event> events() { return {items_.data(), n_}; }
  void clear() {
    n_ = 0;
    if (items_.size() > kKept) items_.resize(kKept);  // a large batch's events are not kept
  }

 private:
  static constexpr size_t kKept = 16;
  std::vector<crm::Event> items_;
  size_t n_ = 0;
};

void fill_event(const model::Scorer& scorer, const core::Lead& lead, const model::ScoreResult& r,
                crm::Event& ev) {
  ev.scored_at_ms = crm::system_clock_ms();
  crm::new_event_id(ev.scored_at_ms, ev.event_id);
  ev.lead_id.assign(lead.id);
  ev.model_version.assign(scorer.version());
  ev.intent_score = static_cast<float>(r.intent_score);
  ev.score = r.score;
  ev.grade.assign(1, r.grade);
  const auto& schema = scorer.schema();
  ev.reasons.resize(static_cast<size_t>(r.n_reasons));
  for (size_t k = 0; k < ev.reasons.size(); ++k) {
    const auto& reason = r.reasons[k];
    const auto i = static_cast<size_t>(reason.feature);
    auto& out = ev.reasons[k];
    out.feature.assign(schema.feature_names()[i]);
    out.value = core::describe_feature_value(schema, i, reason.value);
    out.impact = static_cast<double>(reason.impact);
  }
}

// A consenting lead's cached result, if any; `key` is set for the later store.
bool cache_lookup(const model::Scorer& scorer, const ScoringOptions& opts,
                  const core::Lead& lead, cache::Key& key, model::ScoreResult& r) {
  if (!opts.cache || !has_consent(lead)) return false;
  key = cache::make_key(scorer.version(), lead.features);
  thread_local std::string bytes;
  return opts.cache->get_into(key, bytes) &&
         from_cache_value(bytes, scorer.schema().feature_count(), r);
}

// The lead tag a consenting lead's cache entry is stored under (empty: not indexed).
cache::LeadTag lead_tag(const ScoringOptions& opts, const core::Lead& lead) {
  return (opts.tagger && !lead.id.empty()) ? opts.tagger->tag(lead.id) : cache::LeadTag{};
}

// Queues the CRM event of a scored lead when it should be pushed (consent, an id).
void queue_event(const model::Scorer& scorer, const ScoringOptions& opts, const core::Lead& lead,
                 const model::ScoreResult& r, EventBatch& events) {
  if (opts.outbox && has_consent(lead) && !lead.id.empty()) {
    fill_event(scorer, lead, r, events.next());
  }
}

// After a fresh score: caches it (consenting leads only) and queues the CRM event.
void after_score(const model::Scorer& scorer, const ScoringOptions& opts, const core::Lead& lead,
                 const cache::Key& key, const model::ScoreResult& r, bool cached,
                 EventBatch& events) {
  if (!cached && opts.cache && has_consent(lead)) {
    opts.cache->put(key, cache::pack_score(to_cache_value(r)), opts.cache_ttl,
                    lead_tag(opts, lead));
  }
  queue_event(scorer, opts, lead, r, events);
}

// Scores one parsed lead through the cache; queues its CRM event when it should be pushed.
void score_lead(const model::Scorer& scorer, const ScoringOptions& opts, const core::Lead& lead,
                model::ScoreResult& r, bool& cached, EventBatch& events) {
  cache::Key key;
  cached = cache_lookup(scorer, opts, lead, key, r);
  if (!cached) scorer.score(lead, r);
  after_score(scorer, opts, lead, key, r, cached, events);
}

core::Result<core::Lead> parse_for_policy(const model::Scorer& scorer, const ScoringOptions& opts,
                                          simdjson::dom::element el) {
  // --pseudonymise-lead-ids: phone- or e-mail-like ids become keyed hashes instead of 422s.
  core::ParseOptions po;
  po.pseudonymise_lead_id = opts.id_pseudonymiser;
  LS_ASSIGN_OR_RETURN(core::Lead lead, parse_checked(scorer.schema(), el, po));
  LS_TRY(detail::apply_consent_policy(opts, scorer.schema(), lead));
  return lead;
}

core::Status score_single(const model::Scorer& scorer, const ScoringOptions& opts,
                          simdjson::dom::element el, Response& res,
                          EventBatch& events) {
  LS_ASSIGN_OR_RETURN(core::Lead lead, parse_for_policy(scorer, opts, el));
  model::ScoreResult r;
  bool cached = false;
  score_lead(scorer, opts, lead, r, cached, events);
  res.body.clear();
  core::JsonWriter w(res.body);
  write_result(w, scorer, lead, r, cached);
  res.lead_id = lead.id;
  return core::ok();
}

// Batch items [begin, end) in place: all parsed, the consenting leads looked up in the cache
// together (one get_many: one MGET for Redis), the misses scored together
// (Scorer::score_rows) and stored together (one put_many: one pipelined round trip), then
// results or errors written, and CRM events queued, in item order.
void score_items(const model::Scorer& scorer, const ScoringOptions& opts,
                 std::span<const simdjson::dom::element> items, size_t begin,
                 core::JsonWriter& w, EventBatch& events) {
  struct Item {
    core::Result<core::Lead> lead;
    model::ScoreResult r;
    bool cached = false;
  };
  std::vector<Item> parsed;
  parsed.reserve(items.size());
  std::vector<cache::Key> keys;  // of the consenting leads, in item order
  std::vector<size_t> keyed;     // their item indexes
  for (size_t i = 0; i < items.size(); ++i) {
    Item& it = parsed.emplace_back(Item{parse_for_policy(scorer, opts, items[i]), {}, false});
    if (!it.lead || !opts.cache || !has_consent(*it.lead)) continue;
    keys.push_back(cache::make_key(scorer.version(), it.lead->features));
    keyed.push_back(i);
  }
  if (!keys.empty()) {
    const auto got = opts.cache->get_many(keys);
    for (size_t j = 0; j < keyed.size(); ++j) {
      Item& it = parsed[keyed[j]];
      it.cached = got[j] && from_cache_value(*got[j], scorer.schema().feature_count(), it.r);
    }
  }
  std::vector<const float*> rows;
  std::vector<size_t> miss;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (parsed[i].lead && !parsed[i].cached) {
      rows.push_back(parsed[i].lead->features.data());
      miss.push_back(i);
    }
  }
  std::vector<model::ScoreResult> fresh(rows.size());
  scorer.score_rows(rows, fresh.data());
  for (size_t j = 0; j < miss.size(); ++j) parsed[miss[j]].r = fresh[j];
  if (!keys.empty()) {
    // put_many only views the values: `packed` is reserved up front so they never move.
    std::vector<std::array<char, cache::kScoreValueSize>> packed;
    std::vector<cache::PutItem> puts;
    packed.reserve(keys.size());
    puts.reserve(keys.size());
    for (size_t j = 0; j < keyed.size(); ++j) {
      const Item& it = parsed[keyed[j]];
      if (it.cached) continue;
      auto& bytes = packed.emplace_back();
      cache::pack_score(to_cache_value(it.r), bytes);
      puts.push_back({keys[j], std::string_view(bytes.data(), bytes.size()), opts.cache_ttl,
                      lead_tag(opts, *it.lead)});
    }
    if (!puts.empty()) opts.cache->put_many(puts);
  }
  for (size_t i = 0; i < parsed.size(); ++i) {
    Item& it = parsed[i];
    if (!it.lead) {
      write_item_error(w, begin + i, safe_item_id(scorer.schema(), items[i]), it.lead.error());
      continue;
    }
    queue_event(scorer, opts, *it.lead, it.r, events);
    write_result(w, scorer, *it.lead, it.r, it.cached);
  }
}

// Long-lived helper threads for large batches: starting threads per request cost a thread
// start, a cold allocator cache and fresh per-thread scoring buffers every time. Never
// destroyed (threads blocked on the condition variable are fine at exit).
class BatchPool {
 public:
  static BatchPool& instance() {
    static BatchPool* pool = new BatchPool(std::max(1u, std::thread::hardware_concurrency()) - 1);
    return *pool;
  }
  size_t helpers() const { return threads_.size(); }

  // Runs jobs[0] on the calling thread and the others on helpers; returns when all are done.
  void run(const std::vector<std::function<void()>>& jobs) {
    struct Latch {
      std::mutex mu;
      std::condition_variable cv;
      size_t left;
    };
    auto latch = std::make_shared<Latch>();
    latch->left = jobs.size() - 1;
    {
      std::lock_guard lock(mu_);
      for (size_t i = 1; i < jobs.size(); ++i) {
        queue_.push_back([job = &jobs[i], latch] {
          (*job)();
          std::lock_guard l(latch->mu);
          if (--latch->left == 0) latch->cv.notify_one();
        });
      }
    }
    cv_.notify_all();
    jobs[0]();
    std::unique_lock l(latch->mu);
    latch->cv.wait(l, [&] { return latch->left == 0; });
  }

 private:
  explicit BatchPool(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        for (;;) {
          std::function<void()> job;
          {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return !queue_.empty(); });
            job = std::move(queue_.front());
            queue_.pop_front();
          }
          job();
        }
      });
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
};

// Batches of at least this many leads are split over the cores: each worker parses, scores
// and writes a contiguous range (the first straight into the response, the others into
// buffers appended after it in request order). Smaller ones
// stay inline on the io thread (handing work to a helper costs a wake-up and a hand-back).
constexpr size_t kParallelBatchMin = 256;

core::Status score_batch(const model::Scorer& scorer, simdjson::dom::array leads,
                         const ScoringOptions& opts, Response& res,
                         EventBatch& events) {
  const size_t n = leads.size();
  if (n > opts.max_batch) {
    return core::make_error("batch_too_large",
                            "at most " + std::to_string(opts.max_batch) + " leads per request",
                            "leads");
  }
  res.body.clear();
  res.body.reserve(n * 600 + 64);
  core::JsonWriter w(res.body);
  w.begin_object().key("results").begin_array();
  const size_t workers =
      n < kParallelBatchMin
          ? 1
          : std::min<size_t>(BatchPool::instance().helpers() + 1, n / (kParallelBatchMin / 2));
  std::vector<simdjson::dom::element> items;
  items.reserve(n);
  for (simdjson::dom::element el : leads) items.push_back(el);
  const std::span<const simdjson::dom::element> all(items);
  if (workers <= 1) {
    score_items(scorer, opts, all, 0, w, events);
  } else {
    struct Chunk {
      std::string json;  // comma-separated results, no brackets (unused for chunk 0)
      EventBatch events;
    };
    std::vector<Chunk> chunks(workers);  // chunk 0 writes straight into the response
    auto run = [&](size_t c) {
      const size_t begin = n * c / workers, end = n * (c + 1) / workers;
      const auto part = all.subspan(begin, end - begin);
      if (c == 0) return score_items(scorer, opts, part, begin, w, events);
      chunks[c].json.reserve((end - begin) * 600);
      core::JsonWriter cw(chunks[c].json);
      score_items(scorer, opts, part, begin, cw, chunks[c].events);
    };
    std::vector<std::function<void()>> jobs;
    for (size_t c = 0; c < workers; ++c) jobs.emplace_back([&run, c] { run(c); });
    BatchPool::instance().run(jobs);
    for (auto& c : chunks) {
      if (!c.json.empty()) w.raw(c.json);
      events.take_from(c.events);
    }
  }
  w.end_array().field("model_version", std::string_view(scorer.version())).end_object();
  return core::ok();
}

// The 503 of a request whose CRM event the outbox refused (`e` is the first refusal).
Response outbox_unavailable(const core::Error& e) {
  Response err;
  write_error(err, 503, "outbox_unavailable",
              "the score could not be queued for the CRM (" + e.code + ": " + e.message +
                  "); retry the request");
  return err;
}

// Answers once every CRM event of the request is committed to the outbox (DESIGN: a 200
// means the push is durable): at once, since an append is a copy into the outbox's mapped
// ring, or after the grouped fdatasync with --crm-sync-full.
void send_after_commit(const ScoringOptions& opts, std::span<crm::Event> events, Response res,
                       Responder responder) {
  if (events.empty()) return responder.send(std::move(res));
  if (opts.outbox->appends_at_once()) {  // the usual case: no shared state, no callbacks
    std::optional<core::Error> first_error;
    for (const auto& ev : events) {
      if (auto st = opts.outbox->append_now(ev); !st && !first_error) first_error = st.error();
    }
    return responder.send(first_error ? outbox_unavailable(*first_error) : std::move(res));
  }
  struct Pending {
    std::atomic<size_t> left;
    std::atomic<bool> failed{false};
    std::once_flag first_error;
    core::Error why;  // the first failure
    Response res;
    Responder responder;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = events.size();
  pending->res = std::move(res);
  pending->responder = std::move(responder);
  for (auto& ev : events) {
    opts.outbox->append(std::move(ev), [pending](core::Status st) {
      if (!st) {
        std::call_once(pending->first_error, [&] { pending->why = st.error(); });
        pending->failed = true;
      }
      if (pending->left.fetch_sub(1) != 1) return;
      if (pending->failed) return pending->responder.send(outbox_unavailable(pending->why));
      pending->responder.send(std::move(pending->res));
    });
  }
}

void register_model_info(MetricsRegistry& metrics, const std::string& version) {
  metrics.clear_family("leadscore_model_info");
  metrics.callback("leadscore_model_info", "The served model (value 1, version label)", "gauge",
                   {{"version", version}}, [] { return 1.0; });
}

}  // namespace

core::Status ModelHolder::load() {
  LS_ASSIGN_OR_RETURN(auto s, model::Scorer::load(dir_));
  scorer_.store(std::move(s));
  return core::ok();
}

core::Result<ModelHolder::ReloadOutcome> ModelHolder::reload() {
  std::lock_guard lock(reload_mu_);
  ReloadOutcome out;
  const auto old = scorer_.load();
  if (old) out.previous_version = old->version();
  auto fresh = model::Scorer::load(dir_);
  if (!fresh) {
    return core::make_error("model_load_failed",
                            "the new model was rejected, the old one keeps serving: " +
                                fresh.error().code + ": " + fresh.error().message,
                            fresh.error().field);
  }
  out.version = (*fresh)->version();
  out.changed = !old || out.version != out.previous_version;
  if (out.changed) scorer_.store(*std::move(fresh));
  return out;
}

void add_scoring_routes(Server& server, std::shared_ptr<ModelHolder> models,
                        const ScoringOptions& opts) {
  auto& r = server.router();
  if (auto s = models->get()) {
    register_model_info(server.metrics(), s->version());
    log_event("info", "model_loaded", {{"version", s->version()}, {"dir", models->dir()}});
  }

  server.add_readiness_check("model", [models] {
    auto s = models->get();
    if (!s) return Readiness{Readiness::State::kDown, "no model loaded"};
    return Readiness{Readiness::State::kOk, "version " + s->version()};
  });

  // Scoring runs inline on the io thread (microseconds); only the outbox commit is waited
  // for, asynchronously.
  auto score_route = [models, opts](bool allow_batch) {
    return [models, opts, allow_batch](Request& req, Responder responder) {
      Response res;
      thread_local EventBatch events;
      events.clear();
      auto st = [&]() -> core::Status {
        auto scorer = models->get();
        if (!scorer) return core::make_error("not_ready", "no model loaded");
        LS_ASSIGN_OR_RETURN(auto el, parse_json_body(req));
        simdjson::dom::object obj;
        simdjson::dom::element batch;
        if (allow_batch && !el.get(obj) && !obj["leads"].get(batch)) {
          // An object with `leads` is a batch request: a malformed one is refused, not scored
          // as one empty lead.
          simdjson::dom::array leads;
          if (batch.get(leads)) {
            return core::make_error("invalid_batch", "leads must be an array of lead objects",
                                    "leads");
          }
          return score_batch(*scorer, leads, opts, res, events);
        }
        return score_single(*scorer, opts, el, res, events);
      }();
      if (!st) {
        write_error(res, st.error());
        return responder.send(std::move(res));
      }
      send_after_commit(opts, events.events(), std::move(res), std::move(responder));
    };
  };
  r.add_async("POST", "/v1/score", Scope::kScore, BodyPolicy::kJsonRequired, score_route(true));
  // The original prototype's endpoint: one flat lead, answering at least intent_score and
  // cached; missing fields are scored (XGBoost default branch) and listed, not refused.
  r.add_async("POST", "/score", Scope::kScore, BodyPolicy::kJsonRequired, score_route(false));

  r.add("GET", "/v1/model", Scope::kAnyKey, BodyPolicy::kNone,
        [models](Request&, Response& res) -> core::Status {
          auto scorer = models->get();
          if (!scorer) return core::make_error("not_ready", "no model loaded");
          const auto& schema = scorer->schema();
          core::JsonWriter w(res.body);
          w.begin_object().field("model_version", std::string_view(scorer->version()));
          // The schema describes fields (PII ones by name and role only: it holds no values).
          w.key("schema").raw(schema.to_json());
          w.key("features").begin_array();
          for (const auto& f : schema.feature_names()) w.value(std::string_view(f));
          w.end_array();
          w.key("metrics").raw(scorer->metrics_json().empty() ? "{}" : scorer->metrics_json());
          const auto& g = scorer->grades();
          w.key("grade_thresholds").begin_object().field("A", g.a).field("B", g.b).field("C", g.c);
          w.end_object();
          w.field("calibration", scorer->calibration().method_name());
          w.end_object();
          return core::ok();
        });

  auto do_reload = [models, &server](std::string_view request_id, std::string_view key_id,
                                     Response& res) {
    auto outcome = models->reload();
    if (!outcome) {
      server.audit({"model_reload", "rejected", "/v1/model/reload", request_id, key_id,
                    outcome.error().field});
      log_event("warn", "model_reload_rejected", {{"error", outcome.error().message}});
      write_error(res, outcome.error());
      return;
    }
    if (outcome->changed) {
      register_model_info(server.metrics(), outcome->version);
      log_event("info", "model_reloaded",
                {{"version", outcome->version}, {"previous_version", outcome->previous_version}});
    }
    server.audit({"model_reload", outcome->changed ? "reloaded" : "unchanged",
                  "/v1/model/reload", request_id, key_id, outcome->version});
    core::JsonWriter w(res.body);
    w.begin_object().field("status", outcome->changed ? "reloaded" : "unchanged");
    w.field("model_version", std::string_view(outcome->version)).key("previous_version");
    if (outcome->previous_version.empty()) w.null();
    else w.value(std::string_view(outcome->previous_version));
    w.end_object();
  };

  // Loading a model takes milliseconds to seconds: done on the background thread, so io
  // threads keep serving with the old model until the swap.
  r.add_async("POST", "/v1/model/reload", Scope::kAdmin, BodyPolicy::kJson,
              [&server, do_reload](Request& req, Responder responder) {
                Response res;
                if (auto st = parse_reload_body(req); !st) {
                  write_error(res, st.error());
                  return responder.send(std::move(res));
                }
                auto rsp = std::make_shared<Responder>(std::move(responder));
                server.post_background([rsp, do_reload, rid = std::string(req.request_id),
                                        kid = req.key_id] {
                  Response out;
                  do_reload(rid, kid, out);
                  rsp->send(std::move(out));
                });
              });

  server.on_reload([do_reload] {
    Response ignored;
    do_reload("", "signal", ignored);
  });
}

}  // namespace http
