#include "http/http.h"

#include <array>
#include <optional>

namespace http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') { ++i; continue; }
    const size_t j = path.find('/', i);
    out.push_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding of one path segment ('+' stays '+': that is form encoding, not
// path encoding). nullopt for a '%' without two hex digits after it.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    const int hi = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
    if (lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

// ---- errors

unsigned status_for_error(std::string_view code) {
  struct Entry {
    std::string_view code;
    unsigned status;
  };
  static constexpr std::array<Entry, 14> kStatus = {{
      {"invalid_json", 400},
      {"bad_request", 400},
      {"unauthorized", 401},
      {"forbidden", 403},
      {"not_found", 404},
      {"method_not_allowed", 405},
      {"payload_too_large", 413},
      {"batch_too_large", 413},
      {"unsupported_media_type", 415},
      {"headers_too_large", 431},
      {"overloaded", 429},
      {"internal", 500},
      {"not_ready", 503},
      {"model_load_failed", 422},
  }};
  for (const auto& e : kStatus) {
    if (e.code == code) return e.status;
  }
  // Everything else a client can cause is a schema/semantic violation of the body
  // (field_type_mismatch, field_out_of_range, missing_field, unknown_field, ...).
  return 422;
}

void write_error(Response& res, unsigned status, std::string_view code, std::string_view message,
                 std::string_view field) {
  res.status = status;
  res.content_type = "application/json";
  res.error_code = std::string(code);
  res.body.clear();
  core::JsonWriter w(res.body);
  w.begin_object().key("error").begin_object().field("code", code).field("message", message);
  w.key("field");
  if (field.empty()) w.null();
  else w.value(field);
  w.end_object().end_object();
}

void write_error(Response& res, const core::Error& err) {
  write_error(res, status_for_error(err.code), err.code, err.message, err.field);
}

// ---- request helpers

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

simdjson::padded_string_view Request::padded_body() const {
  if (!body_) return simdjson::padded_string_view("", 0, 0);
  if (body_->capacity() < body_->size() + simdjson::SIMDJSON_PADDING) {
    body_->reserve(body_->size() + simdjson::SIMDJSON_PADDING);
  }
  return simdjson::padded_string_view(body_->data(), body_->size(), body_->capacity());
}

core::Result<simdjson::dom::element> parse_json_body(const Request& req) {
  thread_local simdjson::dom::parser parser;
  const auto body = req.padded_body();
  if (body.length() == 0) return core::make_error("invalid_json", "request body is empty");
  simdjson::dom::element el;
  const auto err = parser.parse(body.data(), body.length(), false).get(el);
  if (err) {
    return core::make_error("invalid_json",
                            std::string("request body is not valid JSON: ") +
                                simdjson::error_message(err));
  }
  return el;
}

core::Status parse_reload_body(const Request& req) {
  if (req.body().empty()) return core::ok();
  LS_ASSIGN_OR_RETURN(auto el, parse_json_body(req));
  simdjson::dom::object obj;
  if (el.get(obj)) return core::make_error("field_type_mismatch", "body must be a JSON object");
  for (auto [key, value] : obj) {
    (void)value;
    return core::make_error("unknown_field", "reload takes no parameters",
                            core::displayable_name(key));
  }
  return core::ok();
}

// ---- router

void Router::insert(std::unique_ptr<Route> r) {
  for (auto s : split_path(r->pattern)) {
    r->segments.emplace_back(s);
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') r->has_params = true;
  }
  routes_.push_back(std::move(r));
}

void Router::add(std::string method, std::string pattern, Scope scope, BodyPolicy body,
                 Handler h) {
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->scope = scope;
  r->body = body;
  r->handler = std::move(h);
  insert(std::move(r));
}

void Router::add_async(std::string method, std::string pattern, Scope scope, BodyPolicy body,
                       AsyncHandler h) {
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->scope = scope;
  r->body = body;
  r->async_handler = std::move(h);
  insert(std::move(r));
}

Router::Route* Router::find(std::string_view method, std::string_view pattern) {
  for (auto& r : routes_) {
    if (r->method == method && r->pattern == pattern) return r.get();
  }
  return nullptr;
}

Router::Match Router::match(std::string_view method, std::string_view path, Request* req) const {
  Match m;
  // Exact routes first (the hot ones), then patterns.
  std::vector<std::string_view> segs;
  bool split = false;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& r : routes_) {
      if (r->has_params != (pass == 1)) continue;
      bool same_path = false;
      if (!r->has_params) {
        same_path = r->pattern == path ||
                    (path.size() == r->pattern.size() + 1 && path.back() == '/' &&
                     path.substr(0, r->pattern.size()) == r->pattern && r->pattern != "/");
      } else {
        if (!split) {
          segs = split_path(path);
          split = true;
        }
        if (segs.size() == r->segments.size()) {
          same_path = true;
          for (size_t i = 0; i < segs.size() && same_path; ++i) {
            const auto& p = r->segments[i];
            const bool is_param = p.size() >= 2 && p.front() == '{' && p.back() == '}';
            if (!is_param && p != segs[i]) same_path = false;
          }
        }
      }
      if (!same_path) continue;
      if (!m.path_route) m.path_route = r.get();
      if (r->method == method) {
        m.route = r.get();
        m.path_route = r.get();
        m.allow.clear();
        if (req && r->has_params) {
          req->params.clear();
          for (size_t i = 0; i < segs.size(); ++i) {
            const auto& p = r->segments[i];
            if (p.size() >= 2 && p.front() == '{') {
              const auto name = std::string_view(p).substr(1, p.size() - 2);
              auto value = percent_decode(segs[i]);
              if (!value) m.bad_param = std::string(name);
              req->params.emplace_back(name, value ? std::move(*value) : std::string());
            }
          }
        }
        return m;
      }
      if (m.allow.find(r->method) == std::string::npos) {
        if (!m.allow.empty()) m.allow += ", ";
        m.allow += r->method;
      }
    }
  }
  return m;
}

}  // namespace http
