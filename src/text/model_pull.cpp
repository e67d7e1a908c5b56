// `leadscore model pull`: Hugging Face hub downloads with libcurl (resume, progress, sha256).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>

#include <curl/curl.h>
#include "text/sha256.h"
#include "text/text.h"

namespace text {
namespace {

// fetch_to's answer when the server ignored/refused the Range request: start the file over.
constexpr long kRestart = -1;

struct HubFile {
  const char* path;
  bool required;
};

// What sentence-transformers needs to rebuild the pipeline; README/ONNX/TF files are skipped.
constexpr HubFile kFiles[] = {
    {"config.json", true},
    {"vocab.txt", true},
    {"tokenizer.json", false},
    {"tokenizer_config.json", false},
    {"special_tokens_map.json", false},
    {"modules.json", false},
    {"sentence_bert_config.json", false},
    {"config_sentence_transformers.json", false},
    {"1_Pooling/config.json", false},
    {"model.safetensors", true},
};

struct KnownFile {
  std::string_view path;
  std::string_view sha256;
};

// Upstream sha256 of every file of kFiles (PROVENANCE.md of the shared all-MiniLM-L6-v2 files):
// a mirror serving a tampered vocab.txt or config.json changes the model as much as new weights.
constexpr KnownFile kMiniLmFiles[] = {
    {"config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"},
    {"vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"},
    {"tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"},
    {"tokenizer_config.json", "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"},
    {"special_tokens_map.json", "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"},
    {"modules.json", "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"},
    {"sentence_bert_config.json", "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"},
    {"config_sentence_transformers.json", "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"},
    {"1_Pooling/config.json", "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"},
    {"model.safetensors", kMiniLmSafetensorsSha256},
};

struct KnownModel {
  std::string_view repo;
  std::span<const KnownFile> files;
};
constexpr KnownModel kKnown[] = {
    {"sentence-transformers/all-MiniLM-L6-v2", kMiniLmFiles},
};

// The sha256 a downloaded file must have ("" when none is known): --sha256 for the weights, else
// the known upstream value of the repository's file.
std::string expected_sha256(const PullOptions& o, std::string_view path) {
  std::string sha;
  if (path == "model.safetensors" && !o.sha256_override.empty()) {
    sha = o.sha256_override;
  } else {
    for (const auto& k : kKnown) {
      if (k.repo != o.repo) continue;
      for (const auto& f : k.files) {
        if (f.path == path) sha = std::string(f.sha256);
      }
    }
  }
  for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return sha;
}

struct Transfer {
  FILE* out = nullptr;
  std::string label;
  bool progress = true;
  bool tty = false;
  curl_off_t resumed = 0;
  std::chrono::steady_clock::time_point last{};
  bool printed = false;
};

size_t on_data(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  return std::fwrite(data, size, nmemb, t->out);
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->progress || dltotal <= 0) return 0;
  auto now = std::chrono::steady_clock::now();
  const bool done = dlnow >= dltotal;
  if (!done && now - t->last < std::chrono::milliseconds(t->tty ? 200 : 2000)) return 0;
  t->last = now;
  const double total = static_cast<double>(dltotal + t->resumed) / 1e6;
  const double have = static_cast<double>(dlnow + t->resumed) / 1e6;
  const int pct = static_cast<int>(100.0 * have / total);
  const int bar = pct / 5;
  std::fprintf(stderr, "%s  %-28s [%.*s%*s] %6.1f / %.1f MB %3d%%%s", t->tty ? "\r" : "", t->label.c_str(), bar,
               "####################", 20 - bar, "", have, total, pct, t->tty ? "" : "\n");
  t->printed = true;
  return 0;
}

std::string url_for(const PullOptions& o, std::string_view file) {
  std::string hub = o.hub_url;
  while (!hub.empty() && hub.back() == '/') hub.pop_back();
  return hub + "/" + o.repo + "/resolve/main/" + std::string(file);
}

// Downloads url into part (resuming what is there). Returns the HTTP status.
core::Result<long> fetch_to(const PullOptions& o, const std::string& url, const std::filesystem::path& part,
                            const std::string& label) {
  std::error_code ec;
  curl_off_t have = 0;
  if (std::filesystem::exists(part, ec)) have = static_cast<curl_off_t>(std::filesystem::file_size(part, ec));
  FILE* out = std::fopen(part.c_str(), have > 0 ? "ab" : "wb");
  if (out == nullptr) return core::make_error("pull_io", "cannot write " + part.string() + ": " + std::strerror(errno));
  CURL* curl = curl_easy_init();
  Transfer t;
  t.out = out;
  t.label = label;
  t.progress = o.progress;
  t.tty = isatty(STDERR_FILENO) != 0;
  t.resumed = have;
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);  // never write an error page into the file
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  if (o.timeout_seconds > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT, o.timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "leadscore-model-pull/1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  if (have > 0) curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, have);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  const bool write_failed = std::fflush(out) != 0;
  std::fclose(out);
  if (t.printed && t.tty) std::fputc('\n', stderr);
  if (write_failed) return core::make_error("pull_io", "cannot write " + part.string());
  if (rc == CURLE_HTTP_RETURNED_ERROR && status == 416 && have > 0) return kRestart;
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    return core::make_error("pull_http_error", "HTTP " + std::to_string(status) + " for " + url, label);
  }
  if (rc == CURLE_RANGE_ERROR || (rc != CURLE_OK && status == 200 && have > 0)) {
    return kRestart;
  }
  if (rc != CURLE_OK) {
    return core::make_error("pull_network", std::string(curl_easy_strerror(rc)) + (err[0] ? ": " : "") + err +
                                                " (" + url + "; rerun to resume)",
                            label);
  }
  return status;
}

}  // namespace

core::Status pull_model(const PullOptions& o) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  if (expected_sha256(o, "model.safetensors").empty()) {
    return core::make_error("pull_unknown_repo", "no known sha256 for " + o.repo +
                                                     "'s model.safetensors; pass --sha256 to pull it anyway");
  }
  if (o.dir.empty()) return core::make_error("pull_io", "no destination directory");
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) return core::make_error("pull_io", "cannot create " + o.dir.string() + ": " + ec.message());

  for (const HubFile& f : kFiles) {
    const std::filesystem::path dest = o.dir / f.path;
    const bool is_weights = std::string_view(f.path) == "model.safetensors";
    const std::string expected_sha = expected_sha256(o, f.path);
    if (is_weights && std::filesystem::exists(dest)) {
      LS_ASSIGN_OR_RETURN(std::string sha, sha256_file(dest, "pull_io"));
      if (sha == expected_sha) {
        if (o.progress) std::fprintf(stderr, "  %-28s already present, sha256 ok\n", f.path);
        continue;
      }
    }
    std::filesystem::create_directories(dest.parent_path(), ec);
    std::filesystem::path part = dest;
    part += ".part";
    const std::string url = url_for(o, f.path);
    // Small files are always fetched whole; only the weights resume.
    if (!is_weights) std::filesystem::remove(part, ec);
    auto status = fetch_to(o, url, part, f.path);
    if (status && *status == kRestart) {
      std::filesystem::remove(part, ec);
      status = fetch_to(o, url, part, f.path);
    }
    if (!status) {
      if (!f.required && status.error().code == "pull_http_error" &&
          status.error().message.starts_with("HTTP 404")) {
        std::filesystem::remove(part, ec);
        if (o.progress) std::fprintf(stderr, "  %-28s not on the hub, skipped\n", f.path);
        continue;
      }
      if (!is_weights) std::filesystem::remove(part, ec);
      return tl::unexpected(std::move(status).error());
    }
    if (!expected_sha.empty()) {
      LS_ASSIGN_OR_RETURN(std::string sha, sha256_file(part, "pull_io"));
      if (sha != expected_sha) {
        std::filesystem::remove(part, ec);
        return core::make_error("pull_sha256_mismatch",
                                std::string(f.path) + " from " + url + " has sha256 " + sha + ", expected " +
                                    expected_sha + "; the download was deleted",
                                f.path);
      }
      if (o.progress) std::fprintf(stderr, "  %-28s sha256 ok\n", f.path);
    }
    std::filesystem::rename(part, dest, ec);  // atomic within the directory
    if (ec) return core::make_error("pull_io", "cannot rename " + part.string() + ": " + ec.message());
  }
  return core::ok();
}

}  // namespace text
