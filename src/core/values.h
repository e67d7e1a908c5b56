#pragma once
// Value helpers private to core (the public ones are in core.h).

#include <string>
#include <string_view>

#include "core/result.h"

namespace core::detail {

// A decimal number, optionally with Indian or Western digit grouping ("1,20,000"), a leading
// '+' or '-', a fraction or exponent. Error code `invalid_number`.
Result<double> parse_plain_number(std::string_view s);
// A money number without unit or currency sign: >= 100000 is rupees, below is lakhs.
double bare_money_to_lakhs(double v);
// Epoch number to seconds: |v| >= 1e11 is taken as milliseconds.
double epoch_number_to_seconds(double v);
// Years 1..9999 (what format_iso8601 can print; also keeps integer casts defined).
bool timestamp_in_range(double epoch_seconds);
// "2024-03-15T10:20:30Z"; requires timestamp_in_range.
std::string format_iso8601(double epoch_seconds);
// Same into `out` (replacing its contents; no allocation when it has the capacity).
void format_iso8601(double epoch_seconds, std::string& out);

}  // namespace core::detail
