// Lead id pseudonymisation (DPDP data minimisation; docs/PRIVACY.md).

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>

#include "http/http.h"

namespace http {

core::Result<LeadIdPseudonymiser> make_lead_id_pseudonymiser(std::string_view secret) {
  if (secret.size() < kMinIdSecret) {
    return core::make_error("id_secret_too_short",
                            "the lead id secret (LEADSCORE_ID_SECRET) needs at least " +
                                std::to_string(kMinIdSecret) + " bytes");
  }
  auto key = std::make_shared<const std::string>(secret);
  return LeadIdPseudonymiser([key](std::string_view id) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
         reinterpret_cast<const unsigned char*>(id.data()), id.size(), mac, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "p_";
    // 128 bits: collision-free for any realistic lead volume, short enough for CRM ids.
    for (unsigned i = 0; i < 16; ++i) {
      out.push_back(kHex[mac[i] >> 4]);
      out.push_back(kHex[mac[i] & 15]);
    }
    return out;
  });
}

core::Result<std::string> check_lead_id(std::string_view id,
                                        const LeadIdPseudonymiser& pseudonymise) {
  if (id.empty() || id.size() > 128) {
    return core::make_error("field_out_of_range", "lead_id must be 1..128 characters", "lead_id");
  }
  if (core::looks_like_pii(id)) {
    if (pseudonymise) return pseudonymise(id);  // what scoring stored it under
    return core::make_error("lead_id_looks_like_pii",
                            "lead_id looks like a phone number, e-mail or ID number", "lead_id");
  }
  return std::string(id);
}

}  // namespace http
