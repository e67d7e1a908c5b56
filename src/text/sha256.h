#pragma once
// SHA-256 of files (private to text/): `model pull` checks downloads with it, and the MiniLM
// model id is a digest of the model's files.

#include <filesystem>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "core/result.h"

namespace text {

// Streaming SHA-256. Not copyable; one per thread.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // Adds the file's bytes. Errors: `error_code` naming the file when it cannot be read.
  core::Status update_file(const std::filesystem::path& path, std::string_view error_code);
  // Lowercase hex of the digest; the object is spent afterwards.
  std::string hex();

 private:
  EVP_MD_CTX* ctx_;
};

// Lowercase hex SHA-256 of a file. Errors: `error_code` when it cannot be read.
core::Result<std::string> sha256_file(const std::filesystem::path& path, std::string_view error_code);

}  // namespace text
