// Deliverer: one background thread driving a libcurl multi handle.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <curl/curl.h>
#include <pthread.h>

#include "crm/crm.h"

namespace crm {
namespace {

void global_curl_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The commit listener may fire on the outbox writer thread while the deliverer stops: it
// reaches the multi handle only through this, under a lock.
struct Wake {
  std::mutex mu;
  CURLM* multi = nullptr;
  std::atomic<bool> hint{false};
  void poke() {
    hint = true;
    std::lock_guard lock(mu);
    if (multi) curl_multi_wakeup(multi);
  }
};

struct Request {
  std::vector<ClaimedEvent> events;
  std::string body;
  curl_slist* headers = nullptr;
  std::string retry_after;
  char errbuf[CURL_ERROR_SIZE] = {};
};

size_t discard_body(char*, size_t size, size_t n, void*) { return size * n; }

size_t capture_header(char* data, size_t size, size_t n, void* user) {
  auto* req = static_cast<Request*>(user);
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
    }
    if (match) {
      line.remove_prefix(kName.size());
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
      req->retry_after = std::string(line);
    }
  }
  return size * n;
}

}  // namespace

class Deliverer::Impl {
 public:
  Impl(Outbox& o, DelivererOptions opt) : outbox(o), opt(std::move(opt)) {
    if (!this->opt.clock) this->opt.clock = system_clock_ms;
    if (!this->opt.random) this->opt.random = default_random();
    if (this->opt.concurrency < 1) this->opt.concurrency = 1;
    if (this->opt.batch_size < 1) this->opt.batch_size = 1;
    if (this->opt.lease.count() <= 0) {
      this->opt.lease = this->opt.timeout + std::chrono::milliseconds(5000);
    }
    last_progress = this->opt.clock();
  }

  void run() {
    pthread_setname_np(pthread_self(), "ls-deliver");  // for top -H, perf, /proc/*/task
    auto next_claim = std::chrono::steady_clock::now();
    const size_t concurrency = static_cast<size_t>(opt.concurrency);
    while (!stopping) {
      const auto real_now = std::chrono::steady_clock::now();
      const bool paused = real_now < paused_until;
      const size_t limit = trips > 0 ? 1 : concurrency;  // after a pause: one probe at a time
      if (!paused && inflight.size() < limit &&
          (wake->hint.exchange(false) || real_now >= next_claim)) {
        const size_t want = (limit - inflight.size()) * opt.batch_size;
        auto claimed = outbox.claim(want, opt.lease);
        next_claim = real_now + opt.idle_poll;
        if (!claimed) {
          report_error(claimed.error().message);
        } else if (claimed->empty()) {
          if (inflight.empty() && outbox.depth() == 0) last_progress = opt.clock();
        } else {
          if (claimed->size() == want) next_claim = real_now;  // more may be due right away
          for (size_t i = 0; i < claimed->size(); i += opt.batch_size) {
            const size_t end = std::min(claimed->size(), i + opt.batch_size);
            start_request(std::vector<ClaimedEvent>(
                std::make_move_iterator(claimed->begin() + static_cast<std::ptrdiff_t>(i)),
                std::make_move_iterator(claimed->begin() + static_cast<std::ptrdiff_t>(end))));
          }
        }
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      std::vector<std::pair<CURL*, CURLcode>> done;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) done.emplace_back(msg->easy_handle, msg->data.result);
      }
      if (!done.empty()) finish(done);
      // At capacity only sockets matter; otherwise also the next claim or an append's wake-up.
      int timeout_ms = 50;
      if (paused) {  // appends' wake-ups wait too
        const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
            paused_until - std::chrono::steady_clock::now());
        timeout_ms = static_cast<int>(
            std::clamp<int64_t>(until.count(), 0, inflight.empty() ? 1000 : 50));
      } else if (inflight.size() < limit) {
        const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
            next_claim - std::chrono::steady_clock::now());
        timeout_ms = static_cast<int>(std::clamp<int64_t>(until.count(), 0, 1000));
        if (!inflight.empty()) timeout_ms = std::min(timeout_ms, 50);
        if (wake->hint) timeout_ms = 0;
      }
      curl_multi_poll(multi, nullptr, 0, timeout_ms, nullptr);
    }
    for (auto& [easy, req] : inflight) {
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
      curl_slist_free_all(req->headers);
    }
    inflight.clear();
  }

  void start_request(std::vector<ClaimedEvent> events) {
    auto req = std::make_unique<Request>();
    std::string key;
    if (opt.batch_size == 1) {
      req->body = events[0].body;
      key = events[0].event_id;
    } else {
      req->body.push_back('[');
      for (size_t i = 0; i < events.size(); ++i) {
        if (i) {
          req->body.push_back(',');
          key.push_back(',');
        }
        req->body.append(events[i].body);
        key.append(events[i].event_id);
      }
      req->body.push_back(']');
    }
    req->events = std::move(events);
    // The signature's timestamp is wall time: the receiver checks it against its own clock.
    const int64_t ts = static_cast<int64_t>(std::time(nullptr));
    const std::string headers[] = {
        "Content-Type: application/json",
        "Idempotency-Key: " + key,
        "X-Leadscore-Timestamp: " + std::to_string(ts),
        "X-Leadscore-Signature: " + sign(opt.secret, ts, req->body),
        "User-Agent: leadscore-crm/1",
        "Expect:",  // no 100-continue round trip
    };
    for (const auto& h : headers) req->headers = curl_slist_append(req->headers, h.c_str());
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, opt.url.c_str());
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req->body.size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(opt.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, capture_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, req.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->errbuf);
    in_flight_events += static_cast<int64_t>(req->events.size());
    curl_multi_add_handle(multi, easy);
    inflight.emplace(easy, std::move(req));
  }

  // Books the outcome of finished requests; all 2xx of one round share one ack transaction.
  void finish(const std::vector<std::pair<CURL*, CURLcode>>& done) {
    std::vector<std::unique_ptr<Request>> ok;
    for (const auto& [easy, code] : done) {
      auto it = inflight.find(easy);
      std::unique_ptr<Request> req = std::move(it->second);
      inflight.erase(it);
      long status = 0;
      if (code == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
      curl_slist_free_all(req->headers);
      req->headers = nullptr;
      in_flight_events -= static_cast<int64_t>(req->events.size());
      ++requests;
      const bool network_error = code != CURLE_OK;
      const int http_status = static_cast<int>(status);
      note_answer(network_error, http_status);
      const auto outcome = classify(http_status, network_error);
      if (outcome == AttemptOutcome::kDelivered) {
        ok.push_back(std::move(req));
      } else {
        failed(*req, outcome, code, http_status);
      }
    }
    // All retries of one round share one transaction (a CRM outage fails many at once).
    if (!retries.empty()) {
      if (auto st = outbox.reschedule(retries); st) {
        retried += retries.size();
      } else {
        report_error(st.error().message);  // they come back after the lease
      }
      retries.clear();
    }
    if (ok.empty()) return;
    // Acks promote the leads' next events to heads: claim again on the next turn (appends
    // behind a head do not wake the deliverer).
    wake->hint = true;
    std::vector<int64_t> seqs;
    for (const auto& req : ok) {
      for (const auto& e : req->events) seqs.push_back(e.seq);
    }
    if (auto st = outbox.ack(seqs, opt.url); !st) {
      report_error(st.error().message);  // the events come back after the lease: at-least-once
      return;
    }
    const int64_t now = opt.clock();
    delivered += seqs.size();
    for (const auto& req : ok) {
      for (const auto& e : req->events) observe_latency(now - e.created_at_ms);
    }
    last_progress = now;
  }

  void failed(const Request& req, AttemptOutcome outcome, CURLcode code, int http_status) {
    const bool network_error = code != CURLE_OK;
    const int64_t now = opt.clock();
    const std::string error =
        network_error ? std::string("network: ") +
                            (req.errbuf[0] ? req.errbuf : curl_easy_strerror(code))
                      : "http_" + std::to_string(http_status);
    std::optional<std::chrono::milliseconds> retry_after;
    if (!req.retry_after.empty()) retry_after = parse_retry_after(req.retry_after, now);
    for (const auto& e : req.events) {
      const int attempts = e.attempts + 1;
      const bool too_old = now - e.created_at_ms >= opt.retry.max_age.count();
      core::Status st;
      if (outcome == AttemptOutcome::kDeadLetter || attempts >= opt.retry.max_attempts ||
          too_old) {
        st = outbox.dead_letter(e.seq, attempts, error, http_status);
        if (st) {
          ++dead_lettered;
          wake->hint = true;  // the lead's next event is due now
        }
      } else {
        const auto delay = retry_after ? std::min(*retry_after, opt.retry.max_retry_after)
                                       : backoff_delay(opt.retry, attempts, opt.random());
        retries.push_back({e.seq, attempts, now + delay.count(), error, http_status});
      }
      if (!st) report_error(st.error().message);
    }
  }

  // The circuit breaker. While the CRM cannot be reached (no HTTP answer, or a gateway's 502
  // or 504), trying every due head would spend each event's attempts within a couple of
  // minutes (the backoff starts at 0.5 s) and dead-letter them all during an outage. So after
  // a streak of such failures (2 x concurrency, at least 8) the deliverer stops claiming for a
  // pause (1 s, doubling to 30 s, jittered), then sends one request at a time until one gets
  // any other answer. Events not sent meanwhile keep their attempts. A 503 is the CRM's own
  // answer: it stays with the event's backoff and Retry-After.
  void note_answer(bool network_error, int http_status) {
    const bool unreachable = network_error || http_status == 502 || http_status == 504;
    if (!unreachable) {
      unreachable_streak = 0;
      trips = 0;
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < paused_until) return;  // sent before the pause began
    if (trips == 0 && ++unreachable_streak < std::max(8, 2 * opt.concurrency)) return;
    const int n = ++trips;
    const double pause_ms =
        std::min(30000.0, 1000.0 * static_cast<double>(1 << std::min(n - 1, 5)));
    paused_until = now + std::chrono::milliseconds(
                             static_cast<int64_t>(pause_ms * (0.5 + 0.5 * opt.random())));
    unreachable_streak = 0;
  }

  void observe_latency(int64_t ms) {
    size_t b = 0;
    while (b < kLatencyBucketsMs.size() && ms > kLatencyBucketsMs[b]) ++b;
    ++latency_counts[b];
    latency_sum_ms += std::max<int64_t>(0, ms);
  }

  void report_error(const std::string& message) {
    // Rate-limited: a broken disk must not flood stderr from a tight loop.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_report < std::chrono::seconds(10)) return;
    last_error_report = now;
    std::fprintf(stderr, "crm deliverer: %s\n", message.c_str());
  }

  Outbox& outbox;
  DelivererOptions opt;
  std::shared_ptr<Wake> wake = std::make_shared<Wake>();
  CURLM* multi = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::unordered_map<CURL*, std::unique_ptr<Request>> inflight;
  std::vector<Outbox::Reschedule> retries;  // failed attempts of the current finish() round
  int unreachable_streak = 0;                        // circuit breaker (note_answer)
  std::atomic<int> trips{0};                          // > 0: open, or probing after a pause
  std::chrono::steady_clock::time_point paused_until{};
  std::chrono::steady_clock::time_point last_error_report{};
  std::atomic<uint64_t> delivered{0}, retried{0}, dead_lettered{0}, requests{0};
  std::atomic<int64_t> in_flight_events{0}, last_progress{0}, latency_sum_ms{0};
  std::array<std::atomic<uint64_t>, kLatencyBucketsMs.size() + 1> latency_counts{};
};

Deliverer::Deliverer(Outbox& outbox, DelivererOptions options)
    : impl_(std::make_unique<Impl>(outbox, std::move(options))) {}

Deliverer::~Deliverer() { stop(); }

core::Status Deliverer::start() {
  auto& d = *impl_;
  if (d.thread.joinable()) return core::make_error("deliverer_started", "already started");
  if (d.opt.url.rfind("http://", 0) != 0 && d.opt.url.rfind("https://", 0) != 0) {
    return core::make_error("invalid_crm_url", "--crm-url must start with http:// or https://",
                            "crm_url");
  }
  global_curl_init();
  d.multi = curl_multi_init();
  curl_multi_setopt(d.multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(d.opt.concurrency));
  {
    std::lock_guard lock(d.wake->mu);
    d.wake->multi = d.multi;
  }
  d.outbox.set_commit_listener([wake = d.wake] { wake->poke(); });
  d.stopping = false;
  d.thread = std::thread([&d] { d.run(); });
  return core::ok();
}

void Deliverer::stop() {
  auto& d = *impl_;
  if (!d.thread.joinable()) return;
  d.stopping = true;
  d.wake->poke();
  d.thread.join();
  d.outbox.set_commit_listener(nullptr);
  {
    std::lock_guard lock(d.wake->mu);
    d.wake->multi = nullptr;
  }
  curl_multi_cleanup(d.multi);
  d.multi = nullptr;
}

DeliveryStats Deliverer::stats() const {
  const auto& d = *impl_;
  DeliveryStats s;
  s.delivered = d.delivered;
  s.retried = d.retried;
  s.dead_lettered = d.dead_lettered;
  s.requests = d.requests;
  s.depth = d.outbox.depth();
  s.in_flight = d.in_flight_events;
  s.last_progress_ms = d.last_progress;
  s.circuit_open = d.trips > 0;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < s.latency_le.size(); ++i) {
    cumulative += d.latency_counts[i];
    s.latency_le[i] = cumulative;
  }
  s.latency_sum_seconds = static_cast<double>(d.latency_sum_ms.load()) / 1000.0;
  return s;
}

bool Deliverer::stuck(std::chrono::milliseconds threshold) const {
  const auto& d = *impl_;
  return d.outbox.depth() > 0 && d.opt.clock() - d.last_progress > threshold.count();
}

}  // namespace crm
