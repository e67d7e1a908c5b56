#include "core/result.h"

#include <gtest/gtest.h>

namespace {

core::Result<int> parse_positive(int v) {
  if (v <= 0) return core::make_error("field_out_of_range", "must be positive", "v");
  return v;
}

core::Result<int> doubled(int v) {
  LS_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

core::Status check(int v) {
  LS_TRY(parse_positive(v));
  return core::ok();
}

TEST(Result, AssignOrReturnPropagatesValue) { EXPECT_EQ(*doubled(4), 8); }

TEST(Result, AssignOrReturnPropagatesErrorWithField) {
  auto r = doubled(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "field_out_of_range");
  EXPECT_EQ(r.error().field, "v");
}

TEST(Result, TryPropagatesStatus) {
  EXPECT_TRUE(check(1));
  EXPECT_EQ(check(0).error().code, "field_out_of_range");
}

}  // namespace
