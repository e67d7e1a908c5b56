#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "data/data.h"

namespace {

using Rows = std::vector<std::vector<std::string>>;

// Parses a whole document without a header.
core::Result<Rows> parse_all(std::string text) {
  auto r = data::CsvReader::from_string(std::move(text));
  Rows rows;
  for (;;) {
    auto got = r.next();
    if (!got) return tl::unexpected(got.error());
    if (!*got) break;
    rows.emplace_back(r.record().begin(), r.record().end());
  }
  return rows;
}

TEST(Csv, PlainRecordsWithLfAndCrlf) {
  auto a = parse_all("a,b,c\n1,2,3\n");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(*a, (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  auto b = parse_all("a,b,c\r\n1,2,3\r\n");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, *a);
  auto c = parse_all("a,b,c\r\n1,2,3");  // no final line break
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, *a);
}

TEST(Csv, QuotedFieldsWithCommasQuotesAndNewlines) {
  auto r = parse_all("x,y\n\"a,b\",\"say \"\"hi\"\"\"\n");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1][0], "a,b");
  EXPECT_EQ((*r)[1][1], "say \"hi\"");
  auto m = parse_all("x,y\n\"line1\nline2\r\nline3\",\"\"\n");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)[1][0], "line1\nline2\r\nline3");
  EXPECT_EQ((*m)[1][1], "");
}

TEST(Csv, EmptyFieldsAndBlankLines) {
  auto r = parse_all("a,b,c\n,,\n\n1,,3\n,2,\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Rows{{"a", "b", "c"}, {"", "", ""}, {"1", "", "3"}, {"", "2", ""}}));
}

TEST(Csv, Utf8AndBomTolerated) {
  auto r = data::CsvReader::from_string("\xEF\xBB\xBFname,city\nअमित,Mumbai ₹\n");
  ASSERT_TRUE(r.read_header());
  EXPECT_EQ(r.header()[0], "name");
  EXPECT_EQ(r.column("city"), 1);
  EXPECT_EQ(r.column("nope"), -1);
  auto got = r.next();
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(r.record()[0], "अमित");
  EXPECT_EQ(r.record()[1], "Mumbai ₹");
}

TEST(Csv, UnterminatedQuoteReportsItsLine) {
  auto r = parse_all("a,b\n1,2\n3,\"never\nclosed\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "csv_malformed");
  EXPECT_EQ(r.error().message.rfind("line 3: unterminated", 0), 0u) << r.error().message;
}

TEST(Csv, RaggedRowReportsItsLine) {
  auto r = data::CsvReader::from_string("a,b,c\n1,2,3\n\"x\ny\",2,3\n4,5\n");
  ASSERT_TRUE(r.read_header());
  ASSERT_TRUE(*r.next());
  auto second = r.next();
  ASSERT_TRUE(second && *second);
  EXPECT_EQ(r.record_line(), 3u);
  auto bad = r.next();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "csv_malformed");
  EXPECT_EQ(bad.error().message, "line 5: expected 3 fields, got 2");
}

TEST(Csv, GarbageAfterClosingQuoteIsAnError) {
  auto r = parse_all("a,b\n\"x\"y,2\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("line 2: unexpected character", 0), 0u);
}

TEST(Csv, EmptyInputHasNoHeader) {
  auto r = data::CsvReader::from_string("");
  auto h = r.read_header();
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, "csv_malformed");
}

TEST(Csv, WriterQuotesOnlyWhenNeeded) {
  std::string out;
  {
    data::CsvWriter w(&out);
    w.field("plain").field("a,b").field("q\"q").field("n\nl").field(" pad").empty_field();
    w.end_row();
    w.field(int64_t{-42}).field(1.5, 3).field(std::nan(""), 2);
    w.end_row();
  }
  EXPECT_EQ(out, "plain,\"a,b\",\"q\"\"q\",\"n\nl\",\" pad\",\n-42,1.500,\n");
}

TEST(Csv, OpenMissingFileIsIoError) {
  auto r = data::CsvReader::open("/nonexistent/dir/x.csv");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "io_error");
}

std::string random_cell(std::mt19937& rng) {
  static const std::string alphabet[] = {"a", "Z", "0", " ", ",", "\"", "\n", "\r\n", "\r",
                                         "₹", "é", "\t", ";", "x"};
  std::string s;
  const size_t len = rng() % 12;
  for (size_t i = 0; i < len; ++i) s += alphabet[rng() % std::size(alphabet)];
  return s;
}

// Writes random records through CsvWriter to a file, then streams them back.
TEST(Csv, RoundTripRandomStringsThroughFile) {
  std::mt19937 rng(1234);
  Rows rows;
  const size_t cols = 5;
  // Enough rows that records straddle the 1 MiB read chunk.
  for (int i = 0; i < 40000; ++i) {
    std::vector<std::string> row;
    for (size_t c = 0; c < cols; ++c) row.push_back(random_cell(rng));
    rows.push_back(std::move(row));
  }
  const std::string path = ::testing::TempDir() + "/csv_roundtrip.csv";
  for (bool crlf : {false, true}) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    {
      data::CsvWriter w(f, crlf);
      for (const auto& row : rows) w.row(std::span<const std::string>(row));
      ASSERT_TRUE(w.flush());
    }
    std::fclose(f);
    auto reader = data::CsvReader::open(path);
    ASSERT_TRUE(reader);
    size_t i = 0;
    for (;;) {
      auto got = reader->next();
      ASSERT_TRUE(got) << got.error().message;
      if (!*got) break;
      ASSERT_LT(i, rows.size());
      ASSERT_EQ(std::vector<std::string>(reader->record().begin(), reader->record().end()),
                rows[i])
          << "record " << i;
      ++i;
    }
    EXPECT_EQ(i, rows.size());
  }
  std::remove(path.c_str());
}

}  // namespace
