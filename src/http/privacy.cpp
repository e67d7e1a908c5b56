// DPDP routes: erasure (POST /v1/erase) and access (GET /v1/leads/{id}/record), plus the
// append-only audit log. Both routes need the admin scope: they act on one person's data.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "http/http.h"

namespace http {
namespace {

core::Result<std::string> erase_body_lead_id(const Request& req,
                                             const PrivacyOptions& opts) {
  LS_ASSIGN_OR_RETURN(auto el, parse_json_body(req));
  simdjson::dom::object obj;
  if (el.get(obj)) return core::make_error("not_an_object", "the body must be a JSON object");
  std::string_view id;
  bool seen = false;
  for (auto [k, v] : obj) {
    if (k != "lead_id") {
      return core::make_error("unknown_field", "only lead_id is accepted",
                              core::displayable_name(k));
    }
    if (v.get(id)) {
      return core::make_error("field_type_mismatch", "lead_id must be a string", "lead_id");
    }
    seen = true;
  }
  if (!seen) return core::make_error("missing_field", "lead_id is required", "lead_id");
  return check_lead_id(id, opts.id_pseudonymiser);
}

// What the cache holds for a lead, without PII (scores and reason codes only).
void write_cache_entries(core::JsonWriter& w, const std::vector<cache::LeadEntry>& entries) {
  w.begin_array();
  for (const auto& e : entries) {
    w.begin_object();
    if (auto v = cache::unpack_score(e.value)) {
      w.field("intent_score", v->intent_score).field("score", static_cast<unsigned>(v->score));
      w.field("grade", std::string_view(&v->grade, 1));
      w.key("reason_features").begin_array();
      for (int k = 0; k < v->n_reasons; ++k) {
        w.value(static_cast<unsigned>(v->reasons[static_cast<size_t>(k)].feature));
      }
      w.end_array();
    }
    w.field("expires_in_s", static_cast<int64_t>(
                                std::chrono::duration_cast<std::chrono::seconds>(e.ttl_left).count()));
    w.end_object();
  }
  w.end_array();
}

// The lead's cached rerank embeddings: their size and time left (the vectors themselves are
// derived from scrubbed text and say nothing a person could read).
void write_embedding_entries(core::JsonWriter& w, const std::vector<cache::LeadEntry>& entries) {
  w.begin_array();
  for (const auto& e : entries) {
    w.begin_object().field("dimensions", static_cast<uint64_t>(e.value.size() / sizeof(float)));
    w.field("expires_in_s", static_cast<int64_t>(
                                std::chrono::duration_cast<std::chrono::seconds>(e.ttl_left).count()));
    w.end_object();
  }
  w.end_array();
}

}  // namespace

AuditHook open_audit_log(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return {};
  return [fd](const AuditEvent& ev) {
    std::string line;
    core::JsonWriter w(line);
    std::string ts;
    append_log_timestamp(ts);
    w.begin_object().field("ts", std::string_view(ts));
    w.field("action", ev.action).field("outcome", ev.outcome).field("route", ev.route);
    w.field("request_id", ev.request_id).field("key_id", ev.key_id).field("detail", ev.detail);
    w.end_object();
    line.push_back('\n');
    // One write(2) per record: O_APPEND keeps concurrent records whole. The shared lock keeps
    // a record from landing while the retention job rewrites the file (it locks exclusively).
    ::flock(fd, LOCK_SH);
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    ::flock(fd, LOCK_UN);
  };
}

void add_privacy_routes(Server& server, const PrivacyOptions& opts) {
  auto& r = server.router();
  r.add_async(
      "POST", "/v1/erase", Scope::kAdmin, BodyPolicy::kJsonRequired,
      [&server, opts](Request& req, Responder responder) {
        Response res;
        auto id = erase_body_lead_id(req, opts);
        if (!id) {
          write_error(res, id.error());
          return responder.send(std::move(res));
        }
        // The audit log records a keyed hash of the id, never the id itself.
        const std::string tag = opts.tagger ? std::string(opts.tagger->tag(*id).str()) : "";
        // Scores (tag) and rerank embeddings (embedding_tag), in-process and in Redis.
        int64_t cache_removed = 0, embeddings_removed = 0;
        if (opts.cache && opts.tagger) {
          auto n = opts.cache->erase_lead(opts.tagger->tag(*id));
          auto e = n ? opts.cache->erase_lead(opts.tagger->embedding_tag(*id)) : n;
          if (!n || !e) {
            server.audit({"erase", "cache_unavailable", "/v1/erase", req.request_id, req.key_id, tag});
            write_error(res, 503, "cache_unavailable",
                        "the cache could not be erased now; nothing was reported erased, retry");
            return responder.send(std::move(res));
          }
          cache_removed = static_cast<int64_t>(*n);
          embeddings_removed = static_cast<int64_t>(*e);
        }
        auto finish = [&server, tag, cache_removed, embeddings_removed,
                       rid = std::string(req.request_id),
                       kid = req.key_id](crm::EraseCounts counts, Responder rsp) {
          Response out;
          core::JsonWriter w(out.body);
          w.begin_object().field("status", "erased").field("lead_id_hash", std::string_view(tag));
          w.key("removed").begin_object().field("cache_entries", cache_removed);
          w.field("embeddings", embeddings_removed);
          w.field("outbox_pending", counts.pending).field("outbox_delivered", counts.delivered);
          w.field("outbox_dead_letter", counts.dead_letter).end_object().end_object();
          const std::string detail = tag + " cache=" + std::to_string(cache_removed) +
                                     " embeddings=" + std::to_string(embeddings_removed) +
                                     " outbox=" + std::to_string(counts.total());
          server.audit({"erase", "ok", "/v1/erase", rid, kid, detail});
          rsp.send(std::move(out));
        };
        if (!opts.outbox) return finish({}, std::move(responder));
        auto rsp = std::make_shared<Responder>(std::move(responder));
        opts.outbox->erase_lead(*id, [finish, rsp](core::Result<crm::EraseCounts> counts) {
          if (!counts) {
            Response err;
            write_error(err, 503, "outbox_unavailable", "the outbox could not be erased; retry");
            return rsp->send(std::move(err));
          }
          finish(*counts, std::move(*rsp));
        });
      });

  r.add_async(
      "GET", "/v1/leads/{id}/record", Scope::kAdmin, BodyPolicy::kNone,
      [opts](Request& req, Responder responder) {
        Response res;
        auto id = check_lead_id(req.param("id"), opts.id_pseudonymiser);
        if (!id) {
          write_error(res, id.error());
          return responder.send(std::move(res));
        }
        std::string cache_json = "[]", embeddings_json = "[]";
        if (opts.cache && opts.tagger) {
          auto entries = opts.cache->lead_entries(opts.tagger->tag(*id));
          auto embeddings = entries ? opts.cache->lead_entries(opts.tagger->embedding_tag(*id))
                                    : entries;
          if (!entries || !embeddings) {
            write_error(res, 503, "cache_unavailable", "the cache could not be read; retry");
            return responder.send(std::move(res));
          }
          cache_json.clear();
          core::JsonWriter cw(cache_json);
          write_cache_entries(cw, *entries);
          embeddings_json.clear();
          core::JsonWriter ew(embeddings_json);
          write_embedding_entries(ew, *embeddings);
        }
        auto finish = [id = *id, cache_json, embeddings_json, recipient = opts.crm_recipient](
                          crm::LeadRecord* rec, Responder rsp) {
          if (rec) {
            for (auto& ev : rec->pending) ev.recipient = recipient;  // where it is going
          }
          Response out;
          core::JsonWriter w(out.body);
          w.begin_object().field("lead_id", std::string_view(id));
          w.key("cache").raw(cache_json);
          w.key("embeddings").raw(embeddings_json);
          w.key("crm");
          if (rec) crm::write_lead_record_json(*rec, w);
          else w.null();
          w.end_object();
          out.lead_id = id;
          rsp.send(std::move(out));
        };
        if (!opts.outbox) return finish(nullptr, std::move(responder));
        auto rsp = std::make_shared<Responder>(std::move(responder));
        opts.outbox->record_for_lead(*id, [finish, rsp](core::Result<crm::LeadRecord> rec) {
          if (!rec) {
            Response err;
            write_error(err, 503, "outbox_unavailable", "the outbox could not be read; retry");
            return rsp->send(std::move(err));
          }
          finish(&*rec, std::move(*rsp));
        });
      });
}

}  // namespace http
