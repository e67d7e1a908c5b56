// `leadscore erase` against a real outbox file: the lead's events are gone, other leads'
// events stay, and the server's erase audit line (keyed tag, no lead id) is appended. Bad input
// (a data directory that does not exist, an id that is personal data) is refused with nothing
// created or audited.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cache/cache.h"
#include "crm/crm.h"
#include "http/http.h"
#include "test_util.h"

namespace {

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

constexpr char kCacheSecret[] = "erase-cli-cache-secret-0123456789";
constexpr char kIdSecret[] = "erase-cli-id-secret-0123456789";

// An outbox in `dir` holding 2 events of each lead.
void fill_outbox(const std::filesystem::path& dir, std::initializer_list<std::string> leads) {
  auto outbox = crm::Outbox::open({.path = (dir / "outbox.sqlite").string()});
  ASSERT_TRUE(outbox) << outbox.error().message;
  for (const auto& lead : leads) {
    for (int i = 0; i < 2; ++i) ASSERT_TRUE((*outbox)->append(crm_test::make_event(lead, i)).get());
  }
}

size_t pending_events(const std::filesystem::path& dir, const std::string& lead) {
  auto outbox = crm::Outbox::open({.path = (dir / "outbox.sqlite").string()});
  EXPECT_TRUE(outbox);
  if (!outbox) return 0;
  auto r = (*outbox)->record_for_lead(lead);
  EXPECT_TRUE(r);
  return r ? r->pending.size() : 0;
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
  ASSERT_EQ(run(std::string("LEADSCORE_CACHE_SECRET=") + kCacheSecret + " " + bin +
                " erase --data-dir " + dir.string() + " --lead-id " + gone + " > " +
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
  EXPECT_EQ(std::count(audit.begin(), audit.end(), '\n'), 1);
  // The server's line (http::open_audit_log): the lead's keyed tag, as the server's tagger
  // makes it with the same secret, then what was removed.
  auto tagger = cache::LeadTagger::create(kCacheSecret);
  ASSERT_TRUE(tagger);
  const std::string tag(tagger->tag(gone).str());
  EXPECT_NE(audit.find("\"outcome\":\"ok\",\"route\":\"cli\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"detail\":\"" + tag + " outbox=3\""), std::string::npos) << audit;
  EXPECT_EQ(audit.find("sha256"), std::string::npos) << audit;
  const std::string out = crm_test::read_bytes(dir / "out.json");
  EXPECT_NE(out.find("\"status\":\"erased\",\"lead_id_hash\":\"" + tag + "\""), std::string::npos)
      << out;
  // No Redis given: the cache is not reported (it was not looked at), the outbox is.
  EXPECT_NE(out.find("\"removed\":{\"outbox_pending\":3,"), std::string::npos) << out;

  // Missing required flags: a usage error, nothing written.
  EXPECT_NE(run(bin + " erase --data-dir " + dir.string() + " 2>/dev/null"), 0);
  std::filesystem::remove_all(dir);
}

TEST(EraseCli, WithoutTheCacheSecretTheAuditHashIsKeyedAtRandom) {
  // Without LEADSCORE_CACHE_SECRET the server keys its tags with a random per-process secret;
  // so does the CLI: the audit line never holds an unkeyed hash a short id could be guessed from.
  const auto dir = crm_test::temp_dir("erase_cli_nosecret");
  fill_outbox(dir, {"L-7"});
  const std::string cmd = "env -u LEADSCORE_CACHE_SECRET " + std::string(LEADSCORE_BIN) +
                          " erase --data-dir " + dir.string() + " --lead-id L-7 > /dev/null";
  ASSERT_EQ(run(cmd), 0);
  ASSERT_EQ(run(cmd), 0);
  const std::string audit = crm_test::read_bytes(dir / "audit.log");
  EXPECT_EQ(std::count(audit.begin(), audit.end(), '\n'), 2) << audit;
  EXPECT_EQ(audit.find("sha256"), std::string::npos) << audit;
  const auto detail_of = [&](size_t from) {
    const size_t at = audit.find("\"detail\":\"", from);
    return at == std::string::npos ? std::string() : audit.substr(at, audit.find(' ', at) - at);
  };
  const std::string first = detail_of(0), second = detail_of(audit.find('\n'));
  ASSERT_FALSE(first.empty());
  EXPECT_NE(first, second) << audit;  // a fresh key per run: nothing to match an id against
  std::filesystem::remove_all(dir);
}

TEST(EraseCli, RefusesADataDirThatDoesNotExistAndCreatesNothing) {
  const auto dir = crm_test::temp_dir("erase_cli_typo");
  const auto typo = dir / "dta";
  EXPECT_EQ(run(std::string(LEADSCORE_BIN) + " erase --data-dir " + typo.string() +
                " --lead-id X-1 2> " + (dir / "err").string()),
            1);
  EXPECT_FALSE(std::filesystem::exists(typo));
  EXPECT_NE(crm_test::read_bytes(dir / "err").find("not an existing directory"), std::string::npos);
  // An existing directory with no outbox and no --redis: nothing to erase from, nothing audited.
  EXPECT_EQ(run(std::string(LEADSCORE_BIN) + " erase --data-dir " + dir.string() +
                " --lead-id X-1 2> " + (dir / "err").string()),
            1);
  EXPECT_NE(crm_test::read_bytes(dir / "err").find("nothing to erase from"), std::string::npos);
  // An explicit --outbox that does not exist is not created.
  EXPECT_EQ(run(std::string(LEADSCORE_BIN) + " erase --data-dir " + dir.string() + " --outbox " +
                (dir / "nope.sqlite").string() + " --lead-id X-1 2>/dev/null"),
            1);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"err"});
  std::filesystem::remove_all(dir);
}

TEST(EraseCli, RefusesLeadIdsThatArePersonalDataLikeTheServer) {
  const auto dir = crm_test::temp_dir("erase_cli_pii");
  fill_outbox(dir, {"L-1"});
  for (const char* id : {"+91 98765 43012", "rahul@gmail.com", "ABCPK1234F", "2345 6789 0123"}) {
    ASSERT_FALSE(http::check_lead_id(id));  // what the server answers 422 to
    const std::string err = (dir / "err").string();
    EXPECT_EQ(run(std::string(LEADSCORE_BIN) + " erase --data-dir " + dir.string() +
                  " --lead-id '" + id + "' 2> " + err),
              1)
        << id;
    const std::string text = crm_test::read_bytes(err);
    EXPECT_NE(text.find("lead_id_looks_like_pii"), std::string::npos) << text;
    EXPECT_EQ(text.find(id), std::string::npos) << "the id is echoed: " << text;
  }
  EXPECT_EQ(run(std::string(LEADSCORE_BIN) + " erase --data-dir " + dir.string() +
                " --lead-id " + std::string(129, 'x') + " 2>/dev/null"),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir / "audit.log"));
  EXPECT_EQ(pending_events(dir, "L-1"), 2u);
  std::filesystem::remove_all(dir);
}

TEST(EraseCli, PseudonymisedLeadIsErasedByItsOriginalId) {
  // `serve --pseudonymise-lead-ids` stores a phone-number id as p_<HMAC(LEADSCORE_ID_SECRET)>;
  // `erase --pseudonymise-lead-ids` with the same secret finds it from the original id.
  const std::string phone = "+91 98765 43012";
  auto pseudonymise = http::make_lead_id_pseudonymiser(kIdSecret);
  ASSERT_TRUE(pseudonymise);
  const std::string stored = (*pseudonymise)(phone);
  const auto dir = crm_test::temp_dir("erase_cli_pseudo");
  fill_outbox(dir, {stored, "L-2"});
  const std::string erase = std::string(LEADSCORE_BIN) + " erase --data-dir " + dir.string() +
                            " --pseudonymise-lead-ids --lead-id '" + phone + "'";
  // No secret, or a short one: refused (exit 2, as serve), nothing erased or audited.
  EXPECT_EQ(run("env -u LEADSCORE_ID_SECRET " + erase + " 2>/dev/null >/dev/null"), 2);
  EXPECT_EQ(run("LEADSCORE_ID_SECRET=short " + erase + " 2>/dev/null >/dev/null"), 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "audit.log"));
  EXPECT_EQ(pending_events(dir, stored), 2u);

  ASSERT_EQ(run(std::string("LEADSCORE_ID_SECRET=") + kIdSecret + " LEADSCORE_CACHE_SECRET=" +
                kCacheSecret + " " + erase + " > " + (dir / "out.json").string()),
            0);
  EXPECT_EQ(pending_events(dir, stored), 0u);
  EXPECT_EQ(pending_events(dir, "L-2"), 2u);
  // Audited under the stored id's tag, as POST /v1/erase {"lead_id": stored} would be.
  auto tagger = cache::LeadTagger::create(kCacheSecret);
  ASSERT_TRUE(tagger);
  const std::string audit = crm_test::read_bytes(dir / "audit.log");
  EXPECT_NE(audit.find(std::string(tagger->tag(stored).str()) + " outbox=2"), std::string::npos)
      << audit;
  EXPECT_EQ(audit.find("98765"), std::string::npos);
  // Opaque ids are not pseudonymised (the server keeps them as sent).
  ASSERT_EQ(run(std::string("LEADSCORE_ID_SECRET=") + kIdSecret + " " + std::string(LEADSCORE_BIN) +
                " erase --data-dir " + dir.string() + " --pseudonymise-lead-ids --lead-id L-2 >/dev/null"),
            0);
  EXPECT_EQ(pending_events(dir, "L-2"), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
