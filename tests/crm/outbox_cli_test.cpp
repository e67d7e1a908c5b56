// `leadscore outbox list|retry|purge` on bad input: a missing outbox is refused (not created),
// an unknown event id is an error, and an age that does not fit is refused before anything is
// purged.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "crm/crm.h"
#include "test_util.h"

namespace {

using namespace std::chrono_literals;

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string cli(const std::string& args, const std::filesystem::path& err) {
  return std::string(LEADSCORE_BIN) + " outbox " + args + " > /dev/null 2> " + err.string();
}

TEST(OutboxCli, RefusesAnOutboxThatDoesNotExistAndCreatesNothing) {
  const auto dir = crm_test::temp_dir("outbox_cli_missing");
  const auto missing = dir / "sub" / "outbox.sqlite";
  const auto err = dir / "err";
  for (const std::string& args :
       {"list --outbox " + missing.string(), "retry --all --outbox " + missing.string(),
        "purge --dead-older-than 30d --outbox " + missing.string()}) {
    EXPECT_EQ(run(cli(args, err)), 1) << args;
    EXPECT_NE(crm_test::read_bytes(err).find("no outbox at " + missing.string()), std::string::npos)
        << crm_test::read_bytes(err);
  }
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"err"});
  std::filesystem::remove_all(dir);
}

class OutboxCliWithEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = crm_test::temp_dir("outbox_cli");
    auto outbox = crm::Outbox::open({.path = db()});
    ASSERT_TRUE(outbox) << outbox.error().message;
    // Two delivered events (just now) and one dead letter.
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE((*outbox)->append(crm_test::make_event(crm_test::id_of("ok-", i), i)).get());
    }
    auto c = (*outbox)->claim(2, 60s);
    ASSERT_TRUE(c && c->size() == 2);
    ASSERT_TRUE((*outbox)->ack({(*c)[0].seq, (*c)[1].seq}, "http://crm.example/hook"));
    ASSERT_TRUE((*outbox)->append(crm_test::make_event("dead-1", 5)).get());
    c = (*outbox)->claim(1, 60s);
    ASSERT_TRUE(c && c->size() == 1);
    dead_event_id_ = (*c)[0].event_id;
    ASSERT_TRUE((*outbox)->dead_letter((*c)[0].seq, 10, "http_503", 503));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string db() const { return (dir_ / "outbox.sqlite").string(); }
  crm::OutboxCounts counts() const {
    auto outbox = crm::Outbox::open({.path = db()});
    EXPECT_TRUE(outbox);
    auto n = (*outbox)->counts();
    EXPECT_TRUE(n);
    return *n;
  }

  std::filesystem::path dir_;
  std::string dead_event_id_;
};

TEST_F(OutboxCliWithEvents, RetryOfAnUnknownEventIdIsAnError) {
  const auto err = dir_ / "err";
  EXPECT_EQ(run(cli("retry --outbox " + db() + " --event-id NOPE", err)), 1);
  EXPECT_NE(crm_test::read_bytes(err).find("no dead letter with event id NOPE"), std::string::npos)
      << crm_test::read_bytes(err);
  EXPECT_EQ(counts().dead_letter, 1);
  EXPECT_EQ(run(cli("retry --outbox " + db() + " --event-id " + dead_event_id_, err)), 0);
  EXPECT_EQ(counts().dead_letter, 0);
  EXPECT_EQ(counts().pending, 1);
}

TEST_F(OutboxCliWithEvents, ANegativeListLimitIsRefused) {
  const auto err = dir_ / "err";
  // Without the range check "-2" wrapped to 2^64 - 2: every event listed.
  EXPECT_EQ(run(cli("list --outbox " + db() + " --limit -2", err)), 2);
  EXPECT_NE(crm_test::read_bytes(err).find("--limit"), std::string::npos);
  EXPECT_EQ(run(cli("list --outbox " + db() + " --limit 1", err)), 0);
}

TEST_F(OutboxCliWithEvents, AgesThatDoNotFitAreRefusedAndNothingIsPurged) {
  const auto err = dir_ / "err";
  for (const char* age : {"200000000000d", "9223372036854775807s", "36501d", "-1d", "+5d", " 5d",
                          "5", "d", "5w", "1e3d", "99999999999999999999d"}) {
    for (const char* flag : {"--delivered-older-than", "--dead-older-than"}) {
      const std::string args = "purge --outbox " + db() + " " + flag + " '" + age + "'";
      EXPECT_EQ(run(cli(args, err)), 2) << args;
      EXPECT_NE(crm_test::read_bytes(err).find(flag), std::string::npos) << args;
    }
  }
  EXPECT_EQ(counts().delivered, 2);
  EXPECT_EQ(counts().dead_letter, 1);
  // The largest accepted age purges nothing that young; 0s purges what was delivered before now.
  EXPECT_EQ(run(cli("purge --outbox " + db() + " --delivered-older-than 36500d", err)), 0);
  EXPECT_EQ(counts().delivered, 2);
  EXPECT_EQ(run(cli("purge --outbox " + db() + " --delivered-older-than 0s", err)), 0);
  EXPECT_EQ(counts().delivered, 0);
}

}  // namespace
