#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "core/core.h"

namespace {

struct MoneyCase {
  const char* text;
  double lakhs;
};

// Portal spellings brokers see, and what they mean in lakhs.
constexpr MoneyCase kValid[] = {
    {"90L", 90},
    {"90 L", 90},
    {"90 lakh", 90},
    {"90 lakhs", 90},
    {"90 Lakhs", 90},
    {"85 Lac", 85},
    {"Rs. 85 Lac", 85},
    {"Rs 85 lacs", 85},
    {"INR 85 lakh", 85},
    {"1.2 cr", 120},
    {"1.2cr", 120},
    {"1.2 Cr.", 120},
    {"1.2 crore", 120},
    {"2 crores", 200},
    {"\xE2\x82\xB9"
     "1,20,00,000",
     120},
    {"\xE2\x82\xB9 1.2 Cr", 120},
    {"1,20,00,000", 120},
    {"12,000,000", 120},
    {"12000000", 120},
    {"\xE2\x82\xB9"
     "5000000",
     50},
    {"Rs. 50,000", 0.5},
    {"100000", 1},
    {"99999", 99999},
    {"75", 75},
    {"62.5", 62.5},
    {"25k", 0.25},
    {"80 lakh - 1 crore", 90},
    {"80L-1Cr", 90},
    {"80 lakh to 1 crore", 90},
    {"1-1.5 Cr", 125},
    {"60 \xE2\x80\x93 70 L", 65},
    {"\xE2\x82\xB9"
     "80L - \xE2\x82\xB9"
     "1Cr",
     90},
    {"2 Cr+", 200},
    {"  45 lakh  ", 45},
    {"0", 0},
    {"upto 80L", 80},
    {"Up to 80 lakh", 80},
    {"approx 1.2 Cr", 120},
    {"~90L", 90},
    {"90L negotiable", 90},
    {"Above 2 Cr", 200},
    {"Budget: 75 lakh", 75},
    {"1.5 cr onwards", 150},
    {"\xE2\x82\xB9"
     "45,000",
     0.45},
    {"45k", 0.45},
    {"0.35", 0.35},
    {"80-90 L", 85},
    {"1.2-1.5 Cr", 135},
};

constexpr const char* kInvalid[] = {
    "",
    "   ",
    "abc",
    "-5L",
    "-5",
    "1.2.3 cr",
    "5 bananas",
    "lakh",
    "80 lakh -",
    "- 1 crore",
    "1,2,3",
    "12,,000",
    "1,00",
    "1 cr - 80 lakh",
    "\xE2\x82\xB9",
    "Rs.",
    "90 L L",
    "9O lakh",
    "upto",
    "approx lakh",
    "1.2 Cr (see notes)",
    "80L or 90L",
};

TEST(MoneyInr, ParsesPortalSpellingsToLakhs) {
  for (const auto& c : kValid) {
    auto r = core::parse_money_inr_lakh(c.text);
    ASSERT_TRUE(r) << "'" << c.text << "': " << r.error().message;
    EXPECT_NEAR(*r, c.lakhs, 1e-9) << c.text;
  }
}

TEST(MoneyInr, RejectsNonsenseWithInvalidMoney) {
  for (const char* text : kInvalid) {
    auto r = core::parse_money_inr_lakh(text);
    ASSERT_FALSE(r) << "'" << text << "' gave " << *r;
    EXPECT_EQ(r.error().code, "invalid_money") << text;
  }
}

TEST(Timestamp, ParsesIsoAndEpoch) {
  EXPECT_EQ(*core::parse_timestamp_seconds("1970-01-01"), 0);
  EXPECT_EQ(*core::parse_timestamp_seconds("2024-03-15"), 1710460800);
  EXPECT_EQ(*core::parse_timestamp_seconds("2024-03-15T10:20:30Z"), 1710460800 + 37230);
  EXPECT_EQ(*core::parse_timestamp_seconds("2024-03-15 10:20:30"), 1710460800 + 37230);
  EXPECT_EQ(*core::parse_timestamp_seconds("2024-03-15T10:20"), 1710460800 + 37200);
  EXPECT_EQ(*core::parse_timestamp_seconds("2024-03-15T10:20:30+05:30"),
            1710460800 + 37230 - 19800);
  EXPECT_EQ(*core::parse_timestamp_seconds("2024-03-15T10:20:30.5Z"), 1710460800 + 37230.5);
  EXPECT_EQ(*core::parse_timestamp_seconds("2024-02-29"), 1709164800);
  EXPECT_EQ(*core::parse_timestamp_seconds("1710460800"), 1710460800);
  EXPECT_EQ(*core::parse_timestamp_seconds("1710460800000"), 1710460800);
}

TEST(CivilDate, FromDaysKnownDates) {
  EXPECT_EQ(core::civil_from_days(0), (core::CivilDate{1970, 1, 1}));
  EXPECT_EQ(core::civil_from_days(-1), (core::CivilDate{1969, 12, 31}));
  EXPECT_EQ(core::civil_from_days(11016), (core::CivilDate{2000, 2, 29}));
  EXPECT_EQ(core::civil_from_days(20392), (core::CivilDate{2025, 10, 31}));
  EXPECT_EQ(core::civil_from_days(-719162), (core::CivilDate{1, 1, 1}));
  EXPECT_EQ(core::civil_from_days(2932896), (core::CivilDate{9999, 12, 31}));
}

TEST(CivilDate, RoundTripsThroughTheTimestampParser) {
  // parse_timestamp_seconds (days_from_civil) is the oracle: every 2749th day of years 1..9999.
  char buf[32];
  for (int64_t days = -719162; days <= 2932896; days += 2749) {
    const core::CivilDate d = core::civil_from_days(days);
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(d.year), d.month, d.day);
    auto secs = core::parse_timestamp_seconds(buf);
    ASSERT_TRUE(secs) << buf;
    EXPECT_EQ(*secs, static_cast<double>(days) * 86400.0) << buf;
  }
}

TEST(Timestamp, RejectsMalformed) {
  for (const char* text :
       {"", "yesterday", "2023-02-29", "2024-13-01", "2024-3-15", "2024-03-15T25:00",
        "2024-03-15T10:20:30X", "15/03/2024", "2024-03-15T10:20:30+5"}) {
    auto r = core::parse_timestamp_seconds(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, "invalid_timestamp");
  }
}

}  // namespace
