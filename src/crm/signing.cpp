// HMAC-SHA256 webhook signatures (OpenSSL).
#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crm/crm.h"

namespace crm {

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    hex[2 * i] = kHex[mac[i] >> 4];
    hex[2 * i + 1] = kHex[mac[i] & 15];
  }
  return hex;
}

std::string sign(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string data = std::to_string(unix_seconds);
  data.push_back('.');
  data.append(body);
  return "sha256=" + hmac_sha256_hex(secret, data);
}

core::Status verify_signature(std::string_view secret, std::string_view timestamp_header,
                              std::string_view body, std::string_view signature_header,
                              int64_t now_unix_seconds, int64_t max_skew_seconds) {
  if (timestamp_header.empty() || signature_header.empty()) {
    return core::make_error("missing_signature",
                            "X-Leadscore-Timestamp and X-Leadscore-Signature are required");
  }
  int64_t ts = 0;
  const auto* end = timestamp_header.data() + timestamp_header.size();
  const auto [p, ec] = std::from_chars(timestamp_header.data(), end, ts);
  if (ec != std::errc() || p != end) {
    return core::make_error("invalid_timestamp", "X-Leadscore-Timestamp must be Unix seconds");
  }
  const int64_t skew = now_unix_seconds - ts;
  if (skew > max_skew_seconds || -skew > max_skew_seconds) {
    return core::make_error("timestamp_out_of_range",
                            "X-Leadscore-Timestamp is too far from the receiver's clock");
  }
  std::string data(timestamp_header);
  data.push_back('.');
  data.append(body);
  const std::string expected = "sha256=" + hmac_sha256_hex(secret, data);
  // Constant time: compare equal-length buffers with CRYPTO_memcmp.
  if (signature_header.size() != expected.size() ||
      CRYPTO_memcmp(signature_header.data(), expected.data(), expected.size()) != 0) {
    return core::make_error("invalid_signature", "X-Leadscore-Signature does not match");
  }
  return core::ok();
}

}  // namespace crm
