#include "http/http.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

namespace http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::array<unsigned char, 32> digest_of(std::string_view key) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), d.data());
  return d;
}

core::Result<ScopeSet> parse_scopes(std::string_view list, size_t entry) {
  ScopeSet set = 0;
  const std::string where = "API key entry " + std::to_string(entry);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view tok = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (tok == "score") set |= static_cast<ScopeSet>(Scope::kScore);
    else if (tok == "rerank") set |= static_cast<ScopeSet>(Scope::kRerank);
    else if (tok == "admin") set |= static_cast<ScopeSet>(Scope::kAdmin);
    else if (tok == "all") {
      set |= static_cast<ScopeSet>(Scope::kScore) | static_cast<ScopeSet>(Scope::kRerank) |
             static_cast<ScopeSet>(Scope::kAdmin);
    } else {
      return core::make_error("invalid_api_keys",
                              where + ": unknown scope '" + std::string(tok) +
                                  "' (expected score, rerank, admin or all)");
    }
  }
  if (set == 0) return core::make_error("invalid_api_keys", where + ": no scopes");
  return set;
}

}  // namespace

std::string_view scope_name(Scope s) {
  switch (s) {
    case Scope::kPublic: return "public";
    case Scope::kScore: return "score";
    case Scope::kRerank: return "rerank";
    case Scope::kAdmin: return "admin";
    case Scope::kAnyKey: return "any";
  }
  return "?";
}

core::Result<ApiKeys> ApiKeys::parse(std::string_view spec) {
  ApiKeys keys;
  size_t entry = 0;
  while (!spec.empty()) {
    const size_t semi = spec.find_first_of(";\n");
    const std::string_view item = trim(spec.substr(0, semi));
    spec = semi == std::string_view::npos ? std::string_view() : spec.substr(semi + 1);
    if (item.empty() || item.front() == '#') continue;
    ++entry;
    // The key may itself contain ':'; the scopes follow the last one.
    const size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return core::make_error("invalid_api_keys", "API key entry " + std::to_string(entry) +
                                                      ": expected key:scope[,scope...]");
    }
    const std::string_view key = trim(item.substr(0, colon));
    if (key.empty()) {
      return core::make_error("invalid_api_keys",
                              "API key entry " + std::to_string(entry) + ": empty key");
    }
    LS_ASSIGN_OR_RETURN(ScopeSet scopes, parse_scopes(item.substr(colon + 1), entry));
    keys.entries_.push_back(Entry{digest_of(key), scopes});
  }
  return keys;
}

core::Result<ApiKeys> ApiKeys::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error("invalid_api_keys", "cannot read API key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str());
}

std::optional<ApiKeys::Match> ApiKeys::lookup(std::string_view presented) const {
  // Hashing first makes the comparison independent of the keys' lengths; every entry is
  // compared, so timing does not reveal which (or whether an early) entry matched.
  const auto d = digest_of(presented);
  int found = -1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const bool eq = CRYPTO_memcmp(d.data(), entries_[i].digest.data(), d.size()) == 0;
    found = eq && found < 0 ? static_cast<int>(i) : found;
  }
  if (found < 0) return std::nullopt;
  return Match{entries_[static_cast<size_t>(found)].scopes, "key#" + std::to_string(found + 1)};
}

}  // namespace http
