#include <gtest/gtest.h>

#include "http/http.h"

namespace {

http::Handler ok_handler() {
  return [](http::Request&, http::Response&) { return core::ok(); };
}

TEST(Router, ExactAndPatternRoutes) {
  http::Router r;
  r.add("GET", "/healthz", http::Scope::kPublic, http::BodyPolicy::kNone, ok_handler());
  r.add("GET", "/v1/leads/{id}/record", http::Scope::kAdmin, http::BodyPolicy::kNone,
        ok_handler());
  http::Request req;
  auto m = r.match("GET", "/healthz", &req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/healthz");
  m = r.match("GET", "/v1/leads/L-42/record", &req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(req.param("id"), "L-42");
  EXPECT_EQ(r.match("GET", "/v1/leads//record", &req).route, nullptr);
  EXPECT_EQ(r.match("GET", "/v1/leads/a/b/record", &req).route, nullptr);
  EXPECT_EQ(r.match("GET", "/nope", &req).route, nullptr);
  EXPECT_TRUE(r.match("GET", "/nope", &req).allow.empty());
}

TEST(Router, WrongMethodListsAllowedMethods) {
  http::Router r;
  r.add("GET", "/x", http::Scope::kPublic, http::BodyPolicy::kNone, ok_handler());
  r.add("POST", "/x", http::Scope::kPublic, http::BodyPolicy::kJson, ok_handler());
  auto m = r.match("DELETE", "/x", nullptr);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST(Router, WrongMethodStillNamesThePathsRoute) {
  http::Router r;
  r.add("GET", "/x", http::Scope::kPublic, http::BodyPolicy::kNone, ok_handler());
  r.add("GET", "/leads/{id}", http::Scope::kPublic, http::BodyPolicy::kNone, ok_handler());
  ASSERT_NE(r.match("DELETE", "/x", nullptr).path_route, nullptr);
  EXPECT_EQ(r.match("DELETE", "/x", nullptr).path_route->pattern, "/x");
  ASSERT_NE(r.match("PUT", "/leads/7", nullptr).path_route, nullptr);
  EXPECT_EQ(r.match("PUT", "/leads/7", nullptr).path_route->pattern, "/leads/{id}");
  EXPECT_EQ(r.match("GET", "/x", nullptr).path_route, r.match("GET", "/x", nullptr).route);
  EXPECT_EQ(r.match("DELETE", "/nope", nullptr).path_route, nullptr);
}

TEST(Router, FindReturnsTheRouteAddedForMethodAndPattern) {
  http::Router r;
  r.add("GET", "/x", http::Scope::kPublic, http::BodyPolicy::kNone, ok_handler());
  r.add("POST", "/x", http::Scope::kPublic, http::BodyPolicy::kJson, ok_handler());
  ASSERT_NE(r.find("POST", "/x"), nullptr);
  EXPECT_EQ(r.find("POST", "/x")->body, http::BodyPolicy::kJson);
  EXPECT_TRUE(r.find("GET", "/x")->counts_against_inflight_limit);  // the default
  EXPECT_EQ(r.find("PUT", "/x"), nullptr);
  EXPECT_EQ(r.find("GET", "/y"), nullptr);
}

TEST(Errors, StatusForCode) {
  EXPECT_EQ(http::status_for_error("invalid_json"), 400u);
  EXPECT_EQ(http::status_for_error("unauthorized"), 401u);
  EXPECT_EQ(http::status_for_error("forbidden"), 403u);
  EXPECT_EQ(http::status_for_error("payload_too_large"), 413u);
  EXPECT_EQ(http::status_for_error("batch_too_large"), 413u);
  EXPECT_EQ(http::status_for_error("unsupported_media_type"), 415u);
  EXPECT_EQ(http::status_for_error("field_out_of_range"), 422u);
  EXPECT_EQ(http::status_for_error("overloaded"), 429u);
  EXPECT_EQ(http::status_for_error("not_ready"), 503u);
}

TEST(Errors, BodyShape) {
  http::Response res;
  http::write_error(res, core::Error{"field_out_of_range", "bhk \"x\" too big", "bhk"});
  EXPECT_EQ(res.status, 422u);
  EXPECT_EQ(res.body,
            R"({"error":{"code":"field_out_of_range","message":"bhk \"x\" too big","field":"bhk"}})");
  http::write_error(res, 404, "not_found", "no");
  EXPECT_EQ(res.body, R"({"error":{"code":"not_found","message":"no","field":null}})");
}

}  // namespace
