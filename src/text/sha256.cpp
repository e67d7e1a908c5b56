#include "text/sha256.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace text {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }

core::Status Sha256::update_file(const std::filesystem::path& path, std::string_view error_code) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return core::make_error(std::string(error_code), "cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) update(std::string_view(buf.data(), n));
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return core::make_error(std::string(error_code), "cannot read " + path.string());
  return core::ok();
}

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

core::Result<std::string> sha256_file(const std::filesystem::path& path, std::string_view error_code) {
  Sha256 h;
  LS_TRY(h.update_file(path, error_code));
  return h.hex();
}

}  // namespace text
