// The scoring hot path allocates nothing per lead once warm (STYLE.md): counted with a
// replaced global operator new (its own test binary, so no other test is affected).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "core/core.h"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

// Every non-aligned form is replaced so that new/delete pairs always match (ASan checks).
namespace {
void* counted_malloc(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

// The replacement operator new below allocates with malloc, so free() is the right
// deallocator; GCC 12 cannot see that through inlining and warns.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

const std::filesystem::path kSchemaPath =
    std::filesystem::path(LEADSCORE_SOURCE_DIR) / "tests/data/core_test_schema.json";

TEST(HotPath, ParseLeadIntoAllocatesNothingOnceWarm) {
  auto schema = *core::load_schema(kSchemaPath);
  const std::string leads[] = {
      R"({"lead_id":"L-1","name":"Zorawar Quxley","phone":"+91 98765 01234","city":"Pune",
          "bhk":3,"budget_lakh":"80 lakh - 1.2 crore","site_visit_scheduled":"yes",
          "created_at":"2024-03-15T10:20:30+05:30","source":"Walk-in",
          "notes":"call 98201 55501 or a@b.com","consent":true,"converted":0})",
      R"({"lead_id":"L-22","city":"Select","bhk":"NA","notes":"3 BHK, 90L","age":41})",
  };
  simdjson::dom::parser parser;
  std::vector<simdjson::padded_string> bodies;
  for (const auto& l : leads) bodies.emplace_back(l);
  core::Lead lead;
  for (int warm = 0; warm < 2; ++warm) {
    for (const auto& b : bodies) {
      ASSERT_TRUE(core::parse_lead_into(*schema, parser.parse(b).value(), lead));
    }
  }
  const size_t before = g_allocations.load();
  for (int round = 0; round < 10; ++round) {
    for (const auto& b : bodies) {
      simdjson::dom::element root = parser.parse(b).value();
      ASSERT_TRUE(core::parse_lead_into(*schema, root, lead));
    }
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
}

TEST(HotPath, RecordParserParseIntoAllocatesNothingOnceWarm) {
  auto schema = *core::load_schema(kSchemaPath);
  auto parser = *core::RecordParser::create(schema, {"lead_id", "city", "budget_lakh", "notes"});
  const std::string_view rows[][4] = {{"L-1", "Pune", "90L", "call 98201 55501"},
                                      {"L-2", "", "1.2 cr", ""}};
  core::Lead lead;
  for (int warm = 0; warm < 2; ++warm) {
    for (const auto& r : rows) ASSERT_TRUE(parser.parse_into(r, lead));
  }
  const size_t before = g_allocations.load();
  for (int round = 0; round < 10; ++round) {
    for (const auto& r : rows) ASSERT_TRUE(parser.parse_into(r, lead));
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
}

}  // namespace
