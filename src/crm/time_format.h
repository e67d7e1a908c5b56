#pragma once
// Private: time formatting shared by the crm sources.
#include <cstdint>
#include <string>

namespace crm {
// "2026-11-25T18:18:11.123Z"
std::string format_iso8601_ms(int64_t unix_ms);
}  // namespace crm
