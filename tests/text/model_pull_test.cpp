// `leadscore model pull` against a local hub stand-in (tests/text/hub_server.py) started here.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "test_support.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using text_test::minilm_dir;
using text_test::read_all;

const char* kRepo = "sentence-transformers/all-MiniLM-L6-v2";

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

void write_file(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

// The hub server: a child process we started, stopped by its pid.
class HubServer {
 public:
  HubServer(const fs::path& root, const fs::path& log, long drop_after = -1) {
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::string script = LEADSCORE_SOURCE_DIR "/tests/text/hub_server.py";
    std::vector<std::string> args = {"/usr/bin/python3", script, root.string(), log.string()};
    if (drop_after >= 0) {
      args.emplace_back("--drop-after");
      args.push_back(std::to_string(drop_after));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    // Read the port line; keep the pipe open while the server runs (it may write more).
    out_fd_ = fds[0];
    std::string line;
    char c;
    while (line.size() < 16 && read(out_fd_, &c, 1) == 1 && c != '\n') line.push_back(c);
    port_ = std::atoi(line.c_str());
  }
  ~HubServer() {
    if (out_fd_ >= 0) close(out_fd_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int out_fd_ = -1;
};

struct RunResult {
  int code;
  std::string err;
};

RunResult run_pull(const std::string& args, const fs::path& tmp) {
  const fs::path err = tmp / "stderr.txt";
  std::string cmd = std::string(LEADSCORE_BIN) + " model pull " + args + " 2>" + err.string();
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_all(err)};
}

class ModelPull : public ::testing::Test {
 protected:
  void SetUp() override {
    TEXT_REQUIRE_FILE(minilm_dir() / "config.json");
    tmp_ = fs::temp_directory_path() / std::string("ls_pull_").append(std::to_string(::getpid()));
    fs::remove_all(tmp_);
    const fs::path main = tmp_ / "hub" / kRepo / "resolve" / "main";
    for (const char* f : {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
                          "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                          "config_sentence_transformers.json", "1_Pooling/config.json"}) {
      write_file(main / f, read_all(minilm_dir() / f));
    }
    // A fake weights file: deterministic bytes, not the real model (its sha must be rejected).
    fake_.resize(3u << 20);
    uint64_t x = 7;
    for (char& c : fake_) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      c = static_cast<char>(x >> 56);
    }
    write_file(main / "model.safetensors", fake_);
  }
  void TearDown() override { fs::remove_all(tmp_); }

  fs::path tmp_;
  std::string fake_;
};

TEST_F(ModelPull, FakeWeightsFailTheKnownSha256) {
  HubServer hub(tmp_ / "hub", tmp_ / "log.txt");
  ASSERT_GT(hub.port(), 0);
  const fs::path out = tmp_ / "models" / "text";
  auto r = run_pull(std::string(kRepo) + " --dir " + out.string() + " --hub-url " + hub.url(), tmp_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("pull_sha256_mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(sha256_hex(fake_)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out / "model.safetensors.part"));
  // The small files arrived intact.
  EXPECT_TRUE(read_all(out / "vocab.txt") == read_all(minilm_dir() / "vocab.txt"));
  EXPECT_TRUE(read_all(out / "1_Pooling" / "config.json") == read_all(minilm_dir() / "1_Pooling" / "config.json"));
}

TEST_F(ModelPull, InterruptedDownloadResumesWithRangeAndVerifies) {
  const long half = static_cast<long>(fake_.size() / 2);
  HubServer hub(tmp_ / "hub", tmp_ / "log.txt", half);
  ASSERT_GT(hub.port(), 0);
  const fs::path out = tmp_ / "models" / "text";
  const std::string args = std::string(kRepo) + " --dir " + out.string() + " --hub-url " + hub.url() +
                           " --sha256 " + sha256_hex(fake_);
  auto first = run_pull(args, tmp_);
  EXPECT_EQ(first.code, 1);
  EXPECT_NE(first.err.find("pull_network"), std::string::npos) << first.err;
  ASSERT_TRUE(fs::exists(out / "model.safetensors.part"));
  const auto partial = fs::file_size(out / "model.safetensors.part");
  EXPECT_GT(partial, 0u);
  EXPECT_LT(partial, fake_.size());
  EXPECT_FALSE(fs::exists(out / "model.safetensors"));

  auto second = run_pull(args, tmp_);
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_TRUE(read_all(out / "model.safetensors") == fake_);
  EXPECT_FALSE(fs::exists(out / "model.safetensors.part"));
  const std::string log = read_all(tmp_ / "log.txt");
  EXPECT_NE(log.find("model.safetensors bytes=" + std::to_string(partial) + "-"), std::string::npos) << log;

  // A third run finds the verified file and downloads no weights.
  auto third = run_pull(args, tmp_);
  EXPECT_EQ(third.code, 0) << third.err;
  EXPECT_NE(third.err.find("already present"), std::string::npos) << third.err;
}

// A mirror serving a tampered config, vocabulary or tokenizer file (one bit flipped) is refused,
// naming the file, even with --sha256 for the weights; nothing of it reaches the model directory
// and the weights are not fetched. The genuine files then pull fine.
TEST_F(ModelPull, TamperedSmallFilesFailTheirKnownSha256) {
  HubServer hub(tmp_ / "hub", tmp_ / "log.txt");
  ASSERT_GT(hub.port(), 0);
  const fs::path main = tmp_ / "hub" / kRepo / "resolve" / "main";
  int run = 0;
  fs::path out;
  std::string args;
  auto fresh_dir = [&] {
    out = tmp_ / "models" / std::to_string(++run);
    args = std::string(kRepo) + " --dir " + out.string() + " --hub-url " + hub.url() + " --sha256 " +
           sha256_hex(fake_);
  };
  for (const std::string f : {"vocab.txt", "config.json", "tokenizer.json", "1_Pooling/config.json"}) {
    SCOPED_TRACE(f);
    fresh_dir();
    const std::string good = read_all(minilm_dir() / f);
    std::string bad = good;
    bad[bad.size() / 2] ^= 1;
    write_file(main / f, bad);
    fs::remove(tmp_ / "log.txt");
    auto r = run_pull(args, tmp_);
    write_file(main / f, good);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("pull_sha256_mismatch: " + f + " from "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(sha256_hex(bad)), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(sha256_hex(good)), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out / f));
    EXPECT_FALSE(fs::exists(out / (f + ".part")));
    EXPECT_FALSE(fs::exists(out / "model.safetensors"));
    EXPECT_EQ(read_all(tmp_ / "log.txt").find("model.safetensors"), std::string::npos);
  }
  fresh_dir();
  auto ok = run_pull(args, tmp_);
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.err.find("ready"), std::string::npos) << ok.err;
  EXPECT_TRUE(read_all(out / "vocab.txt") == read_all(minilm_dir() / "vocab.txt"));
  EXPECT_TRUE(read_all(out / "model.safetensors") == fake_);
}

TEST_F(ModelPull, ClearErrorsForUnknownRepoAndMissingFiles) {
  HubServer hub(tmp_ / "hub", tmp_ / "log.txt");
  ASSERT_GT(hub.port(), 0);
  const fs::path out = tmp_ / "other";
  auto unknown = run_pull("someone/unknown-model --dir " + out.string() + " --hub-url " + hub.url(), tmp_);
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("pull_unknown_repo"), std::string::npos) << unknown.err;
  auto missing = run_pull("someone/unknown-model --dir " + out.string() + " --hub-url " + hub.url() +
                              " --sha256 " + std::string(64, 'a'),
                          tmp_);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("pull_http_error: HTTP 404"), std::string::npos) << missing.err;
  auto refused = run_pull(std::string(kRepo) + " --dir " + out.string() + " --hub-url http://127.0.0.1:1", tmp_);
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("pull_network"), std::string::npos) << refused.err;
}

}  // namespace
