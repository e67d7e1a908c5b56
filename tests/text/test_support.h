#pragma once
// Shared helpers for text tests: where the shared model files live.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace text_test {

// ../shared/models beside the repository checkout (also in CI); $LEADSCORE_SHARED_DIR overrides
// the shared/ folder (worktrees checked out elsewhere).
inline std::filesystem::path models_dir() {
  if (const char* s = std::getenv("LEADSCORE_SHARED_DIR"); s != nullptr && *s != 0) {
    return std::filesystem::path(s) / "models";
  }
  return std::filesystem::path(LEADSCORE_SOURCE_DIR "/../shared/models");
}
inline std::filesystem::path minilm_dir() { return models_dir() / "all-MiniLM-L6-v2"; }

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace text_test

// Skips the test when a shared model file is missing.
#define TEXT_REQUIRE_FILE(path)                                                          \
  do {                                                                                   \
    if (!std::filesystem::exists(path))                                                  \
      GTEST_SKIP() << "shared model file missing: " << (path).string()                   \
                   << " (expected ../shared/models beside the checkout)";                \
  } while (0)
