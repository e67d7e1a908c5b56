// `leadscore outbox list|retry|purge`: inspect and replay the CRM outbox (no PII in it).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <simdjson.h>

#include "app/app.h"
#include "crm/crm.h"

namespace app {
namespace {

std::unique_ptr<crm::Outbox> open_outbox(const std::string& path) {
  if (path.empty()) {
    std::fprintf(stderr, "error: --outbox PATH is required\n");
    exit_with(2);
  }
  // Opening creates an outbox (SQLite file, 16 MB ring); a typo must not get a fresh empty one
  // that "lists" nothing or "purges" nothing.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    std::fprintf(stderr, "error: no outbox at %s (the server's DATA_DIR/outbox.sqlite)\n",
                 path.c_str());
    exit_with(1);
  }
  // A reader while the server runs: list, count and manage dead letters (the server moves
  // replayed ones into its log within a second).
  auto outbox = crm::Outbox::open({.path = path, .allow_reader = true});
  if (!outbox) {
    std::fprintf(stderr, "error: %s\n", outbox.error().message.c_str());
    exit_with(1);
  }
  return *std::move(outbox);
}

[[noreturn]] void fail(const core::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message.c_str());
  exit_with(1);
}

// Ages longer than this are refused: no outbox row is older, and n * unit must not overflow
// (an overflowed, negative age would put the cut-off in the future and purge everything).
constexpr int64_t kMaxAgeDays = 36500;

// "30d", "12h", "15m", "45s" → milliseconds; digits only, at most kMaxAgeDays.
std::optional<std::chrono::milliseconds> parse_age(const std::string& s) {
  if (s.size() < 2 || s.size() > 20) return std::nullopt;
  const int64_t unit = s.back() == 'd'   ? 86400000
                       : s.back() == 'h' ? 3600000
                       : s.back() == 'm' ? 60000
                       : s.back() == 's' ? 1000
                                         : 0;
  if (unit == 0) return std::nullopt;
  const int64_t max = kMaxAgeDays * 86400000 / unit;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    n = n * 10 + (s[i] - '0');
    if (n > max) return std::nullopt;  // checked per digit: n * 10 cannot overflow either
  }
  return std::chrono::milliseconds(n * unit);
}

void print_events(const std::vector<crm::StoredEvent>& events, bool json) {
  simdjson::dom::parser parser;
  for (const auto& e : events) {
    if (json) {
      std::string out;
      core::JsonWriter w(out);
      w.begin_object();
      w.field("seq", e.seq).field("state", crm::to_string(e.state)).field("attempts", e.attempts);
      if (!e.last_error.empty()) w.field("last_error", e.last_error);
      if (!e.recipient.empty()) w.field("recipient", e.recipient);
      w.key("event").raw(e.body);
      w.end_object();
      std::printf("%s\n", out.c_str());
      continue;
    }
    std::string_view grade = "?";
    int64_t score = -1;
    simdjson::dom::element el;
    if (!parser.parse(e.body).get(el)) {
      if (el["grade"].get_string().get(grade)) grade = "?";
      if (el["score"].get_int64().get(score)) score = -1;
    }
    std::printf("%-11s %8lld  %s  lead=%s grade=%.*s score=%lld attempts=%d%s%s\n",
                std::string(crm::to_string(e.state)).c_str(), static_cast<long long>(e.seq),
                e.event_id.c_str(), e.lead_id.c_str(), static_cast<int>(grade.size()),
                grade.data(), static_cast<long long>(score), e.attempts,
                e.last_error.empty() ? "" : " error=", e.last_error.c_str());
  }
}

}  // namespace

void add_outbox_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("outbox", "Inspect, replay and purge the CRM outbox");
  cmd->require_subcommand(1);
  auto path = std::make_shared<std::string>();

  auto* list = cmd->add_subcommand("list", "Counts, then events (pending, delivered, dead_letter)");
  auto state = std::make_shared<std::string>("all");
  auto limit = std::make_shared<size_t>(20);
  auto json = std::make_shared<bool>(false);
  list->add_option("--outbox", *path, "Outbox SQLite file")->required();
  list->add_option("--state", *state, "pending, delivered, dead_letter or all")
      ->check(CLI::IsMember({"pending", "delivered", "dead_letter", "all"}));
  list->add_option("--limit", *limit, "Events shown per state")
      ->check(CLI::Range(size_t{0}, size_t{100000000}));  // -2 would wrap to "all of them"
  list->add_flag("--json", *json, "One JSON object per line");
  list->callback([path, state, limit, json] {
    auto outbox = open_outbox(*path);
    auto counts = outbox->counts();
    if (!counts) fail(counts.error());
    if (!*json) {
      std::printf("pending %lld  delivered %lld  dead_letter %lld\n",
                  static_cast<long long>(counts->pending),
                  static_cast<long long>(counts->delivered),
                  static_cast<long long>(counts->dead_letter));
    }
    for (auto s : {crm::EventState::kPending, crm::EventState::kDelivered,
                   crm::EventState::kDeadLetter}) {
      if (*state != "all" && *state != crm::to_string(s)) continue;
      auto events = outbox->list(s, *limit);
      if (!events) fail(events.error());
      print_events(*events, *json);
    }
  });

  auto* retry = cmd->add_subcommand("retry", "Move dead letters back to pending");
  auto event_id = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  retry->add_option("--outbox", *path, "Outbox SQLite file")->required();
  auto* id_opt = retry->add_option("--event-id", *event_id, "Retry this dead letter");
  auto* all_opt = retry->add_flag("--all", *all, "Retry every dead letter");
  id_opt->excludes(all_opt);
  retry->callback([path, event_id, all] {
    if (event_id->empty() && !*all) {
      std::fprintf(stderr, "error: give --event-id ID or --all\n");
      exit_with(2);
    }
    auto outbox = open_outbox(*path);
    auto n = outbox->retry_dead_letters(*event_id);
    if (!n) fail(n.error());
    if (*n == 0 && !event_id->empty()) {
      std::fprintf(stderr, "error: no dead letter with event id %s (see outbox list --state "
                   "dead_letter)\n", event_id->c_str());
      exit_with(1);
    }
    std::printf("moved %lld dead letter(s) back to pending\n", static_cast<long long>(*n));
  });

  auto* purge = cmd->add_subcommand("purge", "Delete delivered and/or dead-letter events");
  auto delivered_age = std::make_shared<std::string>();
  auto dead_age = std::make_shared<std::string>();
  auto all_delivered = std::make_shared<bool>(false);
  auto all_dead = std::make_shared<bool>(false);
  auto yes = std::make_shared<bool>(false);
  purge->add_option("--outbox", *path, "Outbox SQLite file")->required();
  purge->add_option("--delivered-older-than", *delivered_age, "e.g. 30d, 12h");
  purge->add_option("--dead-older-than", *dead_age, "e.g. 30d, 12h");
  purge->add_flag("--all-delivered", *all_delivered, "Delete every delivered record");
  purge->add_flag("--all-dead", *all_dead, "Delete every dead letter");
  purge->add_flag("--yes", *yes, "Confirm deleting everything (needed with --all-*)");
  purge->callback([path, delivered_age, dead_age, all_delivered, all_dead, yes] {
    if ((*all_delivered || *all_dead) && !*yes) {
      std::fprintf(stderr, "error: --all-delivered/--all-dead delete everything: add --yes\n");
      exit_with(2);
    }
    std::optional<std::chrono::milliseconds> d_age, x_age;
    if (!delivered_age->empty() && !(d_age = parse_age(*delivered_age))) {
      std::fprintf(stderr, "error: --delivered-older-than: use a whole number with d, h, m or s, "
                   "at most %lldd\n", static_cast<long long>(kMaxAgeDays));
      exit_with(2);
    }
    if (!dead_age->empty() && !(x_age = parse_age(*dead_age))) {
      std::fprintf(stderr, "error: --dead-older-than: use a whole number with d, h, m or s, "
                   "at most %lldd\n", static_cast<long long>(kMaxAgeDays));
      exit_with(2);
    }
    if (*all_delivered) d_age = std::chrono::milliseconds(-1);  // everything up to now
    if (!d_age && !x_age && !*all_dead) {
      std::fprintf(stderr, "error: say what to purge (see --help)\n");
      exit_with(2);
    }
    auto outbox = open_outbox(*path);
    if (d_age) {
      auto n = outbox->purge_delivered_older_than(*d_age);
      if (!n) fail(n.error());
      std::printf("purged %lld delivered event(s)\n", static_cast<long long>(*n));
    }
    if (x_age || *all_dead) {
      auto n = outbox->purge_dead_letters(*all_dead ? std::nullopt : x_age);
      if (!n) fail(n.error());
      std::printf("purged %lld dead letter(s)\n", static_cast<long long>(*n));
    }
  });
}

}  // namespace app
