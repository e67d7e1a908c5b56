// Test helper process for crash tests (killed with SIGKILL by the tests).
//   crm_outbox_child append DB N [URL]  append N events from 4 threads, print each event id once
//                                       its commit is acknowledged; with URL also run a deliverer
//                                       against it (the tests point it at a dead port)
//   crm_outbox_child deliver DB URL SECRET   deliver until killed
// GCC 12 -O3 false positive on std::string assignment (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crm/crm.h"

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  const std::string mode = argv[1];
  auto outbox = crm::Outbox::open({.path = argv[2]});
  if (!outbox) {
    std::fprintf(stderr, "%s\n", outbox.error().message.c_str());
    return 1;
  }
  crm::RetryPolicy fast;
  fast.base = std::chrono::milliseconds(20);
  fast.cap = std::chrono::milliseconds(200);
  fast.max_attempts = 1000;
  if (mode == "deliver" && argc >= 5) {
    crm::Deliverer d(**outbox, {.url = argv[3], .secret = argv[4], .concurrency = 8,
                                .timeout = std::chrono::milliseconds(2000),
                                .lease = std::chrono::milliseconds(2500), .retry = fast});
    if (!d.start()) return 1;
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (mode != "append") return 2;
  const int n = std::atoi(argv[3]);
  std::unique_ptr<crm::Deliverer> deliverer;
  if (argc >= 5) {
    deliverer = std::make_unique<crm::Deliverer>(
        **outbox, crm::DelivererOptions{.url = argv[4], .secret = "s", .concurrency = 4,
                                        .timeout = std::chrono::milliseconds(500), .retry = fast});
    if (!deliverer->start()) return 1;
  }
  std::mutex out_mu;
  std::vector<std::thread> threads;
  constexpr int kThreads = 4;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < n; i += kThreads) {
        crm::Event e;
        e.event_id = crm::new_event_id();
        char buf[32];
        std::snprintf(buf, sizeof buf, "lead-%d", i % 997);
        e.lead_id = buf;
        e.model_version = "child";
        e.score = i % 101;
        e.intent_score = e.score / 100.0;
        e.grade = "B";
        std::snprintf(buf, sizeof buf, "%d", i % 50);
        e.reasons.push_back({"page_views", buf, 0.5});
        e.scored_at_ms = crm::system_clock_ms();
        const std::string id = e.event_id;
        // Wait for each commit so the printed ids are exactly the acknowledged ones.
        auto st = (*outbox)->append(std::move(e)).get();
        if (!st) {
          std::fprintf(stderr, "append failed: %s\n", st.error().message.c_str());
          std::_Exit(1);
        }
        std::lock_guard lock(out_mu);
        std::fputs(id.c_str(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::puts("done");
  std::fflush(stdout);
  return 0;
}
