#include <gtest/gtest.h>

#include "http/http.h"

namespace {

constexpr auto kScore = static_cast<http::ScopeSet>(http::Scope::kScore);
constexpr auto kRerank = static_cast<http::ScopeSet>(http::Scope::kRerank);
constexpr auto kAdmin = static_cast<http::ScopeSet>(http::Scope::kAdmin);

TEST(ApiKeys, ParsesScopes) {
  auto keys = http::ApiKeys::parse("key1:score,rerank; key2:admin;k:e:y:all");
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(keys->size(), 3u);
  auto m = keys->lookup("key1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->scopes, kScore | kRerank);
  EXPECT_EQ(m->id, "key#1");
  EXPECT_EQ(keys->lookup("key2")->scopes, kAdmin);
  EXPECT_EQ(keys->lookup("k:e:y")->scopes, kScore | kRerank | kAdmin);
}

TEST(ApiKeys, RejectsNearMisses) {
  auto keys = http::ApiKeys::parse("secret-key:score");
  ASSERT_TRUE(keys);
  EXPECT_FALSE(keys->lookup(""));
  EXPECT_FALSE(keys->lookup("secret-ke"));
  EXPECT_FALSE(keys->lookup("secret-key "));
  EXPECT_FALSE(keys->lookup("SECRET-KEY"));
  EXPECT_TRUE(keys->lookup("secret-key"));
}

TEST(ApiKeys, ErrorsNeverContainTheKey) {
  for (const char* spec : {"hunter2-secret:root", "hunter2-secret", "hunter2-secret:"}) {
    auto keys = http::ApiKeys::parse(spec);
    ASSERT_FALSE(keys) << spec;
    EXPECT_EQ(keys.error().code, "invalid_api_keys");
    EXPECT_EQ(keys.error().message.find("hunter2"), std::string::npos) << keys.error().message;
  }
}

TEST(ApiKeys, EmptySpecHasNoKeys) {
  auto keys = http::ApiKeys::parse(" ; \n# comment\n");
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), 0u);
}

}  // namespace
