// The Beast server: listener, per-connection sessions, signals and graceful drain.
// Reads top to bottom in the order a request travels: accept -> head -> body -> dispatch ->
// write -> next request (keep-alive / pipelined bytes already buffered) or close.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <random>
#include <thread>
#include <unordered_map>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/http.h"

namespace http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// application/json, application/<x>+json, with any parameters (charset=utf-8).
bool is_json_media_type(std::string_view ct) {
  ct = trim(ct.substr(0, ct.find(';')));
  if (iequals(ct, "application/json")) return true;
  constexpr std::string_view kApp = "application/";
  if (ct.size() > kApp.size() + 5 && iequals(ct.substr(0, kApp.size()), kApp) &&
      iequals(ct.substr(ct.size() - 5), "+json")) {
    return true;
  }
  return false;
}

// A client's X-Request-Id is echoed only when it is short and plain; anything else (which
// could carry personal data or break log parsing) is replaced by a generated id.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  size_t digit_run = 0;
  for (char c : id) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_' && c != '.' && c != ':') return false;
    // Ten or more digits in a row could be a phone number: not echoed, not logged.
    digit_run = (c >= '0' && c <= '9') ? digit_run + 1 : 0;
    if (digit_run >= 10) return false;
  }
  return true;
}

std::string generate_request_id() {
  static const uint32_t prefix = [] {
    std::random_device rd;
    return static_cast<uint32_t>(rd());
  }();
  static std::atomic<uint64_t> counter{0};
  const uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x-%010llx", prefix, static_cast<unsigned long long>(n));
  return buf;
}

// A parse error of the request's own bytes, as opposed to the connection ending mid-message.
bool is_framing_error(beast::error_code ec) {
  static const auto& http_errors = bhttp::make_error_code(bhttp::error::bad_chunk).category();
  return ec && ec.category() == http_errors && ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message;
}

std::string_view extract_api_key(const bhttp::request<bhttp::string_body>& msg) {
  const auto auth = sv(msg[bhttp::field::authorization]);
  if (auth.size() > 7 && iequals(auth.substr(0, 7), "Bearer ")) return trim(auth.substr(7));
  const auto key = sv(msg["X-API-Key"]);
  return trim(key);
}

}  // namespace

// Per-route metric handles, resolved once at listen() so the request path only touches
// atomics (status counters are created on first use of each status).
struct RouteMetrics {
  std::string route;
  std::string method;
  Histogram* latency = nullptr;
  std::array<std::atomic<Counter*>, 600> by_status{};
};

struct Server::Impl {
  explicit Impl(Server& s)
      : srv(s), acceptor(ioc), signals(ioc), drain_timer(ioc), bg(1) {}

  Server& srv;
  // Declared before the io_context: sessions still queued in it when it is destroyed
  // unregister themselves here.
  std::mutex sessions_mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::unordered_map<const Router::Route*, std::unique_ptr<RouteMetrics>> route_metrics;
  std::mutex other_metrics_mu;
  std::map<std::string, std::unique_ptr<RouteMetrics>> other_metrics;  // unmatched, by method

  std::atomic<unsigned> inflight{0};
  std::atomic<bool> draining{false};
  Clock::time_point drain_deadline;
  bool drain_timed_out = false;

  net::io_context ioc;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer drain_timer;
  net::thread_pool bg;

  Gauge* inflight_gauge = nullptr;
  Gauge* connections_gauge = nullptr;

  // A request on a known path is labelled with the path's pattern even when its method has
  // no route (405); only a path no route has (404, unparsable head) is "unmatched".
  RouteMetrics& metrics_for(const Router::Match& match, std::string_view method) {
    if (match.route) {
      auto it = route_metrics.find(match.route);
      if (it != route_metrics.end()) return *it->second;
    }
    std::lock_guard lock(other_metrics_mu);
    const std::string label = match.path_route ? match.path_route->pattern : "unmatched";
    const std::string key = label + " " + std::string(method);
    auto& slot = other_metrics[key];
    if (!slot) slot = make_metrics(label, std::string(method));
    return *slot;
  }

  std::unique_ptr<RouteMetrics> make_metrics(const std::string& route, const std::string& method) {
    auto m = std::make_unique<RouteMetrics>();
    m->route = route;
    m->method = method;
    m->latency = &srv.metrics().histogram("leadscore_http_request_duration_seconds",
                                          "Time from request head to response ready",
                                          latency_buckets(), {{"route", route}});
    return m;
  }

  void count(RouteMetrics& m, unsigned status, double seconds) {
    m.latency->observe(seconds);
    if (status >= m.by_status.size()) status = 599;
    Counter* c = m.by_status[status].load(std::memory_order_acquire);
    if (!c) {
      c = &srv.metrics().counter(
          "leadscore_http_requests_total", "HTTP requests by route, method and status",
          {{"route", m.route}, {"method", m.method}, {"status", std::to_string(status)}});
      m.by_status[status].store(c, std::memory_order_release);
    }
    c->inc();
  }

  void accept();
  void wait_signal();
  void begin_drain();
  void poll_drain();
};

// ---------------------------------------------------------------------------------------

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server& srv, Server::Impl& impl)
      : stream_(std::move(socket)), srv_(srv), impl_(impl), cfg_(srv.config()) {
    impl_.connections_gauge->add(1);
  }

  ~Session() {
    release_slot();
    impl_.connections_gauge->add(-1);
    std::lock_guard lock(impl_.sessions_mu);
    impl_.sessions.erase(this);
  }

  void start() {
    {
      std::lock_guard lock(impl_.sessions_mu);
      impl_.sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->read_head(); });
  }

  // On the session's strand: close idle connections now, let in-flight requests finish.
  void drain() {
    if (state_ == State::kIdle || state_ == State::kHead) {
      close();
    } else {
      close_after_ = true;
    }
  }

  // On the session's strand (Responder posts here).
  void write_response(Response&& r);
  auto executor() { return stream_.get_executor(); }

 private:
  enum class State { kIdle, kHead, kBody, kHandling, kWriting, kClosed };

  void wait_for_next() {
    if (impl_.draining.load()) return linger_close();
    if (buffer_.size() > 0) return read_head();  // pipelined request already here
    state_ = State::kIdle;
    stream_.expires_after(cfg_.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->on_read_error(ec, "idle");
          self->buffer_.commit(n);
          self->read_head();
        });
  }

  void read_head() {
    state_ = State::kHead;
    match_ = {};
    method_ = "UNKNOWN";
    path_ = {};
    head_time_ = {};
    request_id_.clear();
    responded_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(cfg_.max_header_bytes));
    parser_->body_limit(cfg_.max_body_bytes);
    // One deadline for the whole head: a client dribbling header bytes is cut off.
    stream_.expires_after(cfg_.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->on_head(ec);
                             });
  }

  void on_head(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return reject_early(431, "headers_too_large", "request headers exceed the limit");
    }
    // Beast checks Content-Length against the body limit after the last header field (the
    // parser just has not marked the head done): the 413 gets the request's route and id.
    if (ec == bhttp::error::body_limit) {
      take_head();
      return reject_too_large();
    }
    if (ec == beast::error::timeout) return on_read_error(ec, "head");
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return close();
    }
    if (ec) return reject_early(400, "bad_request", "malformed HTTP request");

    take_head();
    auto& msg = parser_->get();
    body_deadline_ = head_time_ + cfg_.body_timeout;
    if (parser_->is_done()) return dispatch();
    if (iequals(sv(msg[bhttp::field::expect]), "100-continue")) {
      state_ = State::kBody;
      continue_.emplace(bhttp::status::continue_, msg.version());
      stream_.expires_after(cfg_.write_timeout);
      return bhttp::async_write(stream_, *continue_,
                                [self = shared_from_this()](beast::error_code wec, size_t) {
                                  if (wec) return self->close();
                                  self->read_body();
                                });
    }
    read_body();
  }

  // The request line and header fields are parsed: what labels (route, method) and identifies
  // (request id) the request from here on, whatever the answer.
  void take_head() {
    head_time_ = Clock::now();
    auto& msg = parser_->get();
    method_ = sv(bhttp::to_string(msg.method()));
    if (msg.method() == bhttp::verb::unknown) method_ = "UNKNOWN";
    const auto target = sv(msg.target());
    path_ = target.substr(0, target.find('?'));
    match_ = srv_.router().match(sv(msg.method_string()), path_, nullptr);
    acquire_slot(!match_.route || match_.route->counts_against_inflight_limit);

    const auto rid = sv(msg["X-Request-Id"]);
    request_id_ = acceptable_request_id(rid) ? std::string(rid) : generate_request_id();
    if (impl_.draining.load()) close_after_ = true;
  }

  void read_body() {
    state_ = State::kBody;
    const auto now = Clock::now();
    if (now >= body_deadline_) return on_read_error(beast::error::timeout, "body");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(body_deadline_ - now);
    stream_.expires_after(std::min(cfg_.body_idle_timeout, left));
    bhttp::async_read_some(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) {
                             self->on_body(ec);
                           });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return reject_too_large();
    // A broken body framing (bad chunk size, chunk extension, ...) is the client's error and
    // gets an answer; a peer that went away or timed out does not.
    if (is_framing_error(ec)) {
      return reject_early(400, "bad_request", "malformed HTTP request body");
    }
    if (ec) return on_read_error(ec, "body");
    if (parser_->is_done()) return dispatch();
    read_body();
  }

  void on_read_error(beast::error_code ec, const char* phase) {
    if (ec == beast::error::timeout) {
      srv_.metrics()
          .counter("leadscore_http_timeouts_total",
                   "Connections closed because a read timed out, by phase", {{"phase", phase}})
          .inc();
      if (std::string_view(phase) != "idle") {
        log_event("info", "read_timeout", {{"phase", phase}});
      }
    }
    close();
  }

  void dispatch();

  // An error answered before the body was read: the connection cannot be reused.
  void reject_early(unsigned status, std::string_view code, const std::string& message) {
    if (head_time_ == Clock::time_point{}) head_time_ = Clock::now();
    if (request_id_.empty()) request_id_ = generate_request_id();
    close_after_ = true;
    Response r;
    write_error(r, status, code, message);
    write_response(std::move(r));
  }

  void reject_too_large() {
    reject_early(413, "payload_too_large",
                 "request body exceeds " + std::to_string(cfg_.max_body_bytes) + " bytes");
  }

  void on_write(beast::error_code ec, bool keep_alive) {
    release_slot();
    res_ = {};
    if (ec) return close();
    if (!keep_alive) return linger_close();
    wait_for_next();
  }

  // Half-close, then read and discard whatever the client still sends for a moment, so the
  // response is not destroyed by a TCP reset caused by unread request bytes.
  void linger_close() {
    state_ = State::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    discard();
  }

  void discard() {
    stream_.async_read_some(net::buffer(discard_buf_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->close();
                              self->discard();
                            });
  }

  void close() {
    state_ = State::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // Every request counts in the in-flight gauge; only `limited` ones count against (and are
  // refused above) --max-inflight.
  void acquire_slot(bool limited) {
    if (has_slot_) return;
    has_slot_ = true;
    limited_ = limited;
    overloaded_ = false;
    if (limited_) {
      const unsigned n = impl_.inflight.fetch_add(1, std::memory_order_relaxed) + 1;
      overloaded_ = n > cfg_.max_inflight;
    }
    impl_.inflight_gauge->add(1);
  }

  void release_slot() {
    if (!has_slot_) return;
    has_slot_ = false;
    if (limited_) impl_.inflight.fetch_sub(1, std::memory_order_relaxed);
    impl_.inflight_gauge->add(-1);
  }

  beast::tcp_stream stream_;
  Server& srv_;
  Server::Impl& impl_;
  const ServerConfig& cfg_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  bhttp::response<bhttp::string_body> res_;
  std::array<char, 4096> discard_buf_{};

  State state_ = State::kIdle;
  bool close_after_ = false;
  bool has_slot_ = false;
  bool limited_ = false;
  bool overloaded_ = false;
  bool responded_ = false;
  Clock::time_point head_time_{};
  Clock::time_point body_deadline_{};
  std::string_view method_;
  std::string_view path_;
  Router::Match match_;
  std::string request_id_;
  Request req_;
};

void Session::dispatch() {
  state_ = State::kHandling;
  stream_.expires_never();
  auto& msg = parser_->get();
  req_ = Request{};
  req_.bind_internal(&msg, &msg.body());
  req_.method = sv(msg.method_string());
  req_.target = sv(msg.target());
  req_.path = path_;
  const size_t q = req_.target.find('?');
  if (q != std::string_view::npos) req_.query = req_.target.substr(q + 1);
  req_.content_type = sv(msg[bhttp::field::content_type]);
  req_.request_id = request_id_;

  Response res;
  if (!match_.route) {
    // Re-match with parameters now that the Request exists (cheap; routes are few).
    if (match_.allow.empty()) {
      write_error(res, 404, "not_found", "no such endpoint");
    } else {
      write_error(res, 405, "method_not_allowed",
                  "method not allowed; allowed: " + match_.allow);
      res.headers.emplace_back("Allow", match_.allow);
    }
    return write_response(std::move(res));
  }
  match_ = srv_.router().match(req_.method, path_, &req_);
  const Router::Route& route = *match_.route;
  req_.route = route.pattern;
  if (!match_.bad_param.empty()) {
    write_error(res, 400, "invalid_path",
                "path parameter '" + match_.bad_param + "' has a broken %-escape",
                match_.bad_param);
    return write_response(std::move(res));
  }

  if (overloaded_) {
    write_error(res, 429, "overloaded", "too many requests in flight; retry shortly");
    res.headers.emplace_back("Retry-After", "1");
    return write_response(std::move(res));
  }

  if (route.scope != Scope::kPublic) {
    if (!cfg_.auth) {
      req_.scopes = 0xFF;
    } else {
      const auto key = extract_api_key(msg);
      std::optional<ApiKeys::Match> m;
      if (!key.empty()) m = cfg_.keys.lookup(key);
      if (!m) {
        const std::string_view outcome = key.empty() ? "missing_key" : "invalid_key";
        srv_.audit({"auth", outcome, route.pattern, request_id_, "", ""});
        write_error(res, 401, "unauthorized",
                    key.empty() ? "missing API key (Authorization: Bearer <key> or X-API-Key)"
                                : "invalid API key");
        res.headers.emplace_back("WWW-Authenticate", "Bearer");
        return write_response(std::move(res));
      }
      req_.scopes = m->scopes;
      req_.key_id = m->id;
      const bool allowed = route.scope == Scope::kAnyKey ||
                           (m->scopes & static_cast<ScopeSet>(route.scope)) != 0;
      if (!allowed) {
        srv_.audit({"auth", "insufficient_scope", route.pattern, request_id_, req_.key_id,
                    scope_name(route.scope)});
        write_error(res, 403, "forbidden",
                    "this API key lacks the '" + std::string(scope_name(route.scope)) +
                        "' scope");
        return write_response(std::move(res));
      }
    }
  }

  if (route.body != BodyPolicy::kNone && msg.method() != bhttp::verb::get) {
    const bool has_body = !msg.body().empty();
    if ((has_body || route.body == BodyPolicy::kJsonRequired) &&
        !is_json_media_type(req_.content_type)) {
      write_error(res, 415, "unsupported_media_type",
                  "request body must be JSON (Content-Type: application/json)");
      return write_response(std::move(res));
    }
    if (!has_body && route.body == BodyPolicy::kJsonRequired) {
      write_error(res, 400, "invalid_json", "request body is empty");
      return write_response(std::move(res));
    }
  }

  try {
    if (route.async_handler) {
      route.async_handler(req_, Responder(shared_from_this()));
      return;
    }
    auto st = route.handler(req_, res);
    if (!st) write_error(res, st.error());
  } catch (const std::exception& e) {
    log_event("error", "handler_exception",
              {{"route", route.pattern}, {"request_id", request_id_}});
    write_error(res, 500, "internal", "internal error");
  }
  write_response(std::move(res));
}

void Session::write_response(Response&& r) {
  if (state_ == State::kClosed) return;  // the connection went away meanwhile
  if (responded_) return;
  responded_ = true;
  const auto& msg = parser_->get();
  const bool keep_alive = msg.keep_alive() && !close_after_ && !impl_.draining.load();
  res_ = {};
  res_.version(msg.version() ? msg.version() : 11);
  res_.result(r.status);
  res_.set(bhttp::field::content_type, r.content_type);
  res_.set("X-Request-Id", request_id_);
  for (auto& [k, v] : r.headers) res_.set(k, v);
  res_.body() = std::move(r.body);
  res_.keep_alive(keep_alive);
  res_.prepare_payload();

  const double seconds = std::chrono::duration<double>(Clock::now() - head_time_).count();
  auto& m = impl_.metrics_for(match_, method_);
  const double latency_ms = std::round(seconds * 1e6) / 1e3;
  impl_.count(m, r.status, seconds);
  if (cfg_.access_log) {
    // Route pattern, never the raw path (paths can carry ids typed by anyone).
    std::array<LogField, 7> fields = {
        LogField{"method", method_},          LogField{"route", m.route},
        LogField{"status", r.status},         LogField{"latency_ms", latency_ms},
        LogField{"request_id", request_id_},  LogField{"lead_id", r.lead_id},
        LogField{"error", r.error_code}};
    size_t n = 5;
    if (!r.lead_id.empty()) fields[n++] = LogField{"lead_id", r.lead_id};
    if (!r.error_code.empty()) fields[n++] = LogField{"error", r.error_code};
    log_event("info", "request", std::span<const LogField>(fields.data(), n));
  }

  state_ = State::kWriting;
  stream_.expires_after(cfg_.write_timeout);
  bhttp::async_write(stream_, res_,
                     [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                       self->on_write(ec, keep_alive);
                     });
}

std::string_view Request::header(std::string_view name) const {
  if (!raw_) return {};
  const auto* msg = static_cast<const bhttp::request<bhttp::string_body>*>(raw_);
  return sv((*msg)[beast::string_view(name.data(), name.size())]);
}

// ---------------------------------------------------------------------------------------
// Responder

Responder::Responder(std::shared_ptr<Session> s) : session_(std::move(s)) {}

Responder& Responder::operator=(Responder&& o) noexcept {
  if (this != &o) {
    if (session_) {
      Response r;
      write_error(r, 500, "internal", "request was not answered");
      send(std::move(r));
    }
    session_ = std::move(o.session_);
  }
  return *this;
}

Responder::~Responder() {
  if (session_) {
    Response r;
    write_error(r, 500, "internal", "request was not answered");
    send(std::move(r));
  }
}

void Responder::send(Response res) {
  if (!session_) return;
  auto s = std::move(session_);
  session_.reset();
  // Hop onto the session's strand; this may be called from any thread.
  auto ex = s->executor();
  net::post(ex, [s, r = std::move(res)]() mutable { s->write_response(std::move(r)); });
}

// ---------------------------------------------------------------------------------------
// Listener, signals, drain

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: keep serving the connections we have; try again shortly.
      log_event("warn", "accept_failed", {{"error", ec.message()}});
      auto t = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds(50));
      t->async_wait([this, t](beast::error_code) { accept(); });
      return;
    }
    beast::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    std::make_shared<Session>(std::move(socket), srv, *this)->start();
    accept();
  });
}

void Server::Impl::wait_signal() {
  signals.async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log_event("info", "signal", {{"signal", "SIGHUP"}, {"action", "reload"}});
      if (srv.reload_hook_) srv.post_background(srv.reload_hook_);
      return wait_signal();
    }
    log_event("info", "signal",
              {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}, {"action", "drain"}});
    begin_drain();
  });
}

void Server::Impl::begin_drain() {
  if (draining.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  drain_deadline = Clock::now() + srv.cfg_.drain_timeout;
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mu);
    for (auto& [raw, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) {
    auto ex = s->executor();
    net::post(ex, [s] { s->drain(); });
  }
  poll_drain();
}

void Server::Impl::poll_drain() {
  size_t left = 0;
  {
    std::lock_guard lock(sessions_mu);
    left = sessions.size();
  }
  if (left == 0 || Clock::now() >= drain_deadline) {
    if (left != 0) {
      drain_timed_out = true;
      log_event("warn", "drain_timeout", {{"connections", static_cast<uint64_t>(left)}});
    }
    ioc.stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(10));
  drain_timer.async_wait([this](beast::error_code ec) {
    if (!ec) poll_drain();
  });
}

// ---------------------------------------------------------------------------------------
// Server

Server::Server(ServerConfig cfg) : cfg_(std::move(cfg)), impl_(std::make_unique<Impl>(*this)) {
  impl_->inflight_gauge = &metrics_.gauge("leadscore_http_requests_in_flight",
                                          "Requests read and not yet answered");
  impl_->connections_gauge =
      &metrics_.gauge("leadscore_http_connections", "Open client connections");
}

Server::~Server() {
  impl_->bg.join();
}

void Server::add_readiness_check(std::string name, ReadinessCheck check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

Readiness::State Server::check_readiness(
    std::vector<std::pair<std::string, Readiness>>& out) const {
  Readiness::State worst = Readiness::State::kOk;
  for (const auto& [name, fn] : checks_) {
    Readiness r = fn();
    if (r.state == Readiness::State::kDown) worst = Readiness::State::kDown;
    else if (r.state == Readiness::State::kDegraded && worst == Readiness::State::kOk)
      worst = Readiness::State::kDegraded;
    out.emplace_back(name, std::move(r));
  }
  return worst;
}

void Server::audit(const AuditEvent& ev) const {
  if (audit_hook_) return audit_hook_(ev);
  log_event("warn", "audit",
            {{"action", ev.action}, {"outcome", ev.outcome}, {"route", ev.route},
             {"request_id", ev.request_id}, {"key_id", ev.key_id}, {"detail", ev.detail}});
}

void Server::post_background(std::function<void()> job) {
  net::post(impl_->bg, [job = std::move(job)] {
    try {
      job();
    } catch (const std::exception& e) {
      log_event("error", "background_job_failed", {{"error", e.what()}});
    }
  });
}

core::Result<uint16_t> Server::listen() {
  auto& impl = *impl_;
  beast::error_code ec;
  const auto addr = net::ip::make_address(cfg_.bind, ec);
  if (ec) return core::make_error("invalid_bind", "invalid bind address '" + cfg_.bind + "'");
  const tcp::endpoint ep(addr, cfg_.port);
  impl.acceptor.open(ep.protocol(), ec);
  if (!ec) impl.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(ep, ec);
  if (!ec) impl.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::make_error("listen_failed", "cannot listen on " + cfg_.bind + ":" +
                                                 std::to_string(cfg_.port) + ": " + ec.message());
  }
  for (const auto& r : router_.routes()) {
    impl.route_metrics.emplace(r.get(), impl.make_metrics(r->pattern, r->method));
  }
  impl.signals.add(SIGINT);
  impl.signals.add(SIGTERM);
  impl.signals.add(SIGHUP);
  return impl.acceptor.local_endpoint().port();
}

int Server::run() {
  auto& impl = *impl_;
  impl.accept();
  impl.wait_signal();
  const unsigned n = thread_count();
  std::vector<std::thread> threads;
  threads.reserve(n - 1);
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([&impl] { impl.ioc.run(); });
  impl.ioc.run();
  for (auto& t : threads) t.join();
  log_event("info", "shutdown", {{"clean", !impl.drain_timed_out}});
  return impl.drain_timed_out ? 1 : 0;
}

unsigned Server::thread_count() const {
  return cfg_.threads ? cfg_.threads : std::max(1u, std::thread::hardware_concurrency());
}

void Server::shutdown() {
  net::post(impl_->ioc, [this] { impl_->begin_drain(); });
}

}  // namespace http
