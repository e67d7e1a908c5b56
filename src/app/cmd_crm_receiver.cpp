// `leadscore crm-receiver`: the reference CRM webhook endpoint (see docs/CRM.md).
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "app/app.h"
#include "crm/crm.h"

namespace app {

void add_crm_receiver_command(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "crm-receiver", "Receive signed leadscore CRM webhooks: verify, de-duplicate, print/store");
  auto opt = std::make_shared<crm::ReceiverOptions>();
  auto delay_ms = std::make_shared<int>(0);
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("--port", opt->port, "TCP port (0 = any free port)")->default_val(8090);
  cmd->add_option("--bind", opt->bind, "Address to listen on")->default_val("127.0.0.1");
  cmd->add_option("--secret", opt->secret, "HMAC secret (or LEADSCORE_CRM_SECRET)");
  cmd->add_option("--store", opt->store_path, "Append each accepted event as a JSON line here");
  cmd->add_option("--max-skew", opt->max_skew_seconds, "Accepted timestamp skew in seconds")
      ->default_val(300);
  cmd->add_option("--fail-first", opt->fail_first, "Answer 503 to the first N requests (tests)");
  cmd->add_option("--retry-after", opt->retry_after_seconds,
                  "With --fail-first: send Retry-After: S on the 503s");
  cmd->add_option("--delay-ms", *delay_ms, "Wait this long before each answer (slow CRM)");
  cmd->add_option("--threads", opt->threads, "io threads")->default_val(2);
  cmd->add_flag("--quiet", *quiet, "Do not print a line per accepted event");
  cmd->callback([opt, delay_ms, quiet] {
    if (opt->secret.empty()) {
      if (const char* env = std::getenv("LEADSCORE_CRM_SECRET")) opt->secret = env;
    }
    if (opt->secret.empty()) {
      std::fprintf(stderr, "error: --secret (or LEADSCORE_CRM_SECRET) is required\n");
      exit_with(2);
    }
    opt->delay = std::chrono::milliseconds(*delay_ms);
    opt->print = !*quiet;
    // Block the stop signals before the io threads start so only sigwait sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    crm::Receiver receiver(*opt);
    if (auto st = receiver.start(); !st) {
      std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
      exit_with(1);
    }
    std::printf("crm-receiver listening on http://%s:%u/\n", opt->bind.c_str(), receiver.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    receiver.stop();
    std::fprintf(stderr, "crm-receiver: %llu requests, %zu events accepted, %llu duplicates, "
                 "%llu rejected\n",
                 static_cast<unsigned long long>(receiver.requests()), receiver.events().size(),
                 static_cast<unsigned long long>(receiver.duplicates()),
                 static_cast<unsigned long long>(receiver.rejected()));
  });
}

}  // namespace app
