// Receiver: the reference webhook endpoint on Boost.Beast (async, a few io threads).
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>  // before Boost 1.74 asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <simdjson.h>

#include "crm/crm.h"

namespace crm {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Response = http::response<http::string_body>;

Response json_response(unsigned status, std::string body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "leadscore-crm-receiver");
  res.body() = std::move(body);
  return res;
}

Response error_response(unsigned status, std::string_view code, std::string_view message) {
  std::string body;
  core::JsonWriter w(body);
  w.begin_object().key("error").begin_object();
  w.field("code", code).field("message", message);
  w.end_object().end_object();
  return json_response(status, std::move(body));
}

// Pulls the fields we print out of one event object.
ReceivedEvent read_event(simdjson::dom::element el) {
  ReceivedEvent ev;
  std::string_view s;
  if (!el["event_id"].get_string().get(s)) ev.event_id = std::string(s);
  if (!el["lead_id"].get_string().get(s)) ev.lead_id = std::string(s);
  if (!el["grade"].get_string().get(s)) ev.grade = std::string(s);
  int64_t score = 0;
  if (!el["score"].get_int64().get(score)) ev.score = static_cast<int>(score);
  ev.body = simdjson::minify(el);
  return ev;
}

}  // namespace

class Receiver::Impl {
 public:
  explicit Impl(ReceiverOptions o) : opt(std::move(o)), fail_remaining(opt.fail_first) {}

  Response handle(const http::request<http::string_body>& req) {
    ++requests;
    if (req.method() != http::verb::post) {
      auto res = error_response(405, "method_not_allowed", "POST events here");
      res.set(http::field::allow, "POST");
      return res;
    }
    if (fail_remaining.fetch_sub(1) > 0) {
      auto res = error_response(503, "unavailable", "failing on purpose (--fail-first)");
      if (opt.retry_after_seconds >= 0) {
        res.set(http::field::retry_after, std::to_string(opt.retry_after_seconds));
      }
      return res;
    }
    const auto header = [&req](std::string_view name) {
      auto it = req.find(beast::string_view(name.data(), name.size()));
      return it == req.end() ? std::string_view()
                             : std::string_view(it->value().data(), it->value().size());
    };
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (auto st = verify_signature(opt.secret, header("X-Leadscore-Timestamp"), req.body(),
                                   header("X-Leadscore-Signature"), now, opt.max_skew_seconds);
        !st) {
      ++rejected;
      return error_response(401, st.error().code, st.error().message);
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(req.body()).get(root)) {
      ++rejected;
      return error_response(400, "invalid_json", "body is not JSON");
    }
    std::vector<std::pair<std::string, ReceivedEvent>> batch;  // (idempotency key, event)
    if (root.is_object()) {
      auto ev = read_event(root);
      const auto key = header("Idempotency-Key");
      batch.emplace_back(key.empty() ? ev.event_id : std::string(key), std::move(ev));
    } else if (root.is_array()) {
      simdjson::dom::array arr;
      if (root.get_array().get(arr)) return error_response(400, "invalid_json", "bad array");
      for (auto el : arr) {
        auto ev = read_event(el);
        batch.emplace_back(ev.event_id, std::move(ev));
      }
    } else {
      ++rejected;
      return error_response(400, "invalid_event", "body must be an event object or an array");
    }
    for (const auto& [key, ev] : batch) {
      if (key.empty() || ev.event_id.empty()) {
        ++rejected;
        return error_response(400, "invalid_event", "every event needs an event_id");
      }
    }
    int64_t accepted = 0, dups = 0;
    {
      std::lock_guard lock(mu);
      for (auto& [key, ev] : batch) {
        if (!seen.insert(key).second) {
          ++dups;
          continue;
        }
        ++accepted;
        if (store) {
          std::fwrite(ev.body.data(), 1, ev.body.size(), store);
          std::fputc('\n', store);
        }
        if (opt.print) {
          std::printf("accepted event_id=%s lead_id=%s grade=%s score=%d\n", ev.event_id.c_str(),
                      ev.lead_id.c_str(), ev.grade.c_str(), ev.score);
        }
        events.push_back(std::move(ev));
      }
      if (store) std::fflush(store);
      if (opt.print) std::fflush(stdout);
    }
    duplicates += static_cast<uint64_t>(dups);
    std::string body;
    core::JsonWriter w(body);
    w.begin_object().field("accepted", accepted).field("duplicates", dups).end_object();
    return json_response(200, std::move(body));
  }

  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(tcp::socket s, Impl& impl)
        : stream_(std::move(s)), timer_(stream_.get_executor()), impl_(impl) {}

    void read() {
      req_ = {};
      stream_.expires_after(std::chrono::seconds(60));
      http::async_read(stream_, buf_, req_,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         self->on_read(ec);
                       });
    }

   private:
    void on_read(beast::error_code ec) {
      if (ec) return close();
      res_ = impl_.handle(req_);
      if (impl_.opt.delay.count() > 0) {
        timer_.expires_after(impl_.opt.delay);
        timer_.async_wait([self = shared_from_this()](beast::error_code) { self->write(); });
      } else {
        write();
      }
    }

    void write() {
      res_.keep_alive(req_.keep_alive());
      res_.prepare_payload();
      stream_.expires_after(std::chrono::seconds(60));
      http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec || !self->res_.keep_alive()) return self->close();
        self->read();
      });
    }

    void close() {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    net::steady_timer timer_;
    beast::flat_buffer buf_;
    http::request<http::string_body> req_;
    Response res_;
    Impl& impl_;
  };

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec) return;  // acceptor closed
      std::make_shared<Session>(std::move(s), *this)->read();
      accept();
    });
  }

  core::Status load_store() {
    std::ifstream in(opt.store_path);
    std::string line;
    simdjson::dom::parser parser;
    while (std::getline(in, line)) {
      simdjson::dom::element el;
      std::string_view id;
      if (!parser.parse(line).get(el) && !el["event_id"].get_string().get(id)) {
        seen.insert(std::string(id));
      }
    }
    store = std::fopen(opt.store_path.c_str(), "ab");
    if (!store) {
      return core::make_error("receiver_store_failed", "cannot open " + opt.store_path);
    }
    return core::ok();
  }

  ReceiverOptions opt;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::unordered_set<std::string> seen;
  std::vector<ReceivedEvent> events;
  FILE* store = nullptr;
  std::atomic<int> fail_remaining;
  std::atomic<uint64_t> requests{0}, duplicates{0}, rejected{0};
};

Receiver::Receiver(ReceiverOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Receiver::~Receiver() { stop(); }

core::Status Receiver::start() {
  auto& d = *impl_;
  if (!d.opt.store_path.empty()) LS_TRY(d.load_store());
  beast::error_code ec;
  const auto addr = net::ip::make_address(d.opt.bind, ec);
  if (ec) return core::make_error("receiver_bind_failed", "bad --bind address: " + d.opt.bind);
  const tcp::endpoint ep(addr, d.opt.port);
  d.acceptor.open(ep.protocol(), ec);
  if (!ec) d.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor.bind(ep, ec);
  if (!ec) d.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::make_error("receiver_bind_failed",
                            "cannot listen on " + d.opt.bind + ":" + std::to_string(d.opt.port) +
                                ": " + ec.message());
  }
  d.accept();
  for (int i = 0; i < std::max(1, d.opt.threads); ++i) {
    d.threads.emplace_back([&d] { d.ioc.run(); });
  }
  return core::ok();
}

void Receiver::stop() {
  auto& d = *impl_;
  if (d.threads.empty() && !d.store) return;
  d.ioc.stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  beast::error_code ignored;
  d.acceptor.close(ignored);
  if (d.store) {
    std::fclose(d.store);
    d.store = nullptr;
  }
}

uint16_t Receiver::port() const {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::vector<ReceivedEvent> Receiver::events() const {
  std::lock_guard lock(impl_->mu);
  return impl_->events;
}
uint64_t Receiver::requests() const { return impl_->requests; }
uint64_t Receiver::duplicates() const { return impl_->duplicates; }
uint64_t Receiver::rejected() const { return impl_->rejected; }

}  // namespace crm
