// `leadscore erase` against a real outbox file: the lead's events are gone, other leads'
// events stay, and one audit line without the lead id is appended.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "crm/crm.h"
#include "test_util.h"

namespace {

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(EraseCli, ErasesOneLeadFromTheOutboxAndAudits) {
  char tmpl[] = "/tmp/ls_erase_cli_XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(tmpl);
  const std::string outbox_path = (dir / "outbox.sqlite").string();
  const std::string gone = "lead-erase-canary-7731";
  const std::string kept = "lead-keep-4410";
  {
    auto outbox = crm::Outbox::open({.path = outbox_path});
    ASSERT_TRUE(outbox) << outbox.error().message;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*outbox)->append(crm_test::make_event(gone, i)).get());
      ASSERT_TRUE((*outbox)->append(crm_test::make_event(kept, i)).get());
    }
  }
  const std::string bin = LEADSCORE_BIN;
  ASSERT_EQ(run(bin + " erase --data-dir " + dir.string() + " --lead-id " + gone + " > " +
                (dir / "out.json").string()),
            0);
  {
    auto outbox = crm::Outbox::open({.path = outbox_path});
    ASSERT_TRUE(outbox);
    auto g = (*outbox)->record_for_lead(gone);
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->pending.empty() && g->delivered.empty() && g->dead_letter.empty());
    auto k = (*outbox)->record_for_lead(kept);
    ASSERT_TRUE(k);
    EXPECT_EQ(k->pending.size(), 3u);
  }
  // No byte of the erased lead's id is left in the SQLite files (secure_delete + checkpoint).
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename() == "out.json") continue;
    EXPECT_EQ(crm_test::read_bytes(entry.path()).find(gone), std::string::npos)
        << entry.path();
  }
  const std::string audit = crm_test::read_bytes(dir / "audit.log");
  EXPECT_NE(audit.find("\"action\":\"erase\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"outbox_pending\":3"), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"lead_id_hash\":\"sha256:"), std::string::npos) << audit;
  EXPECT_EQ(std::count(audit.begin(), audit.end(), '\n'), 1);

  // Missing required flags: a usage error, nothing written.
  EXPECT_NE(run(bin + " erase --data-dir " + dir.string() + " 2>/dev/null"), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
