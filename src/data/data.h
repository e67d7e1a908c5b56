#pragma once
// data: RFC 4180 CSV reading/writing, ranking metrics shared by training and the generator's
// report, the synthetic lead generator, and draft-schema inference from a CSV.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace data {

// ---------------------------------------------------------------------------------------------
// Metrics

// Area under the ROC curve of `scores` against 0/1 `labels` (non-zero counts as positive).
// Ties are handled by average ranks (Mann-Whitney U), so a constant score gives 0.5.
// Returns NaN when the sizes differ, or when there are no positives or no negatives.
double roc_auc(std::span<const double> scores, std::span<const int> labels);

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180): fields separated by ',', records by CRLF or LF; a field may be quoted with
// '"' and then contain commas, CR/LF and doubled quotes (""). A UTF-8 byte order mark at the
// start of the input is skipped. Bytes are passed through unchanged (UTF-8 is not validated).
// Completely empty lines are skipped. Errors have code "csv_malformed" (or "io_error") and a
// message that starts with "line N: " (1-based physical line where the problem is).

class CsvReader {
 public:
  // Streams a file in chunks (constant memory apart from the longest record).
  static core::Result<CsvReader> open(const std::string& path);
  // Parses an in-memory document (copied).
  static CsvReader from_string(std::string text);

  CsvReader(CsvReader&&) noexcept;
  CsvReader& operator=(CsvReader&&) noexcept;
  ~CsvReader();

  // Reads the first record as the header. Must be called before next() if the input has one;
  // afterwards every record must have exactly header().size() fields ("ragged" rows are errors).
  // An empty input is an error ("csv_malformed", "line 1: empty input, no header").
  core::Status read_header();
  const std::vector<std::string>& header() const;
  // Index of a header column, or -1.
  int column(std::string_view name) const;

  // Reads the next record. Returns true and fills record() on success, false at end of input.
  // Without a header, the first record fixes the expected field count.
  core::Result<bool> next();
  // Cells of the last record read. The views stay valid until the next call to next().
  std::span<const std::string_view> record() const;
  // 1-based line on which the last record (or header) started.
  uint64_t record_line() const;
  // Number of data records returned by next() so far.
  uint64_t records_read() const;

 private:
  struct Impl;
  explicit CsvReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Appends `field` to `out`, quoted only if it contains ',', '"', CR or LF (or has leading or
// trailing spaces, which some readers trim).
void append_csv_field(std::string& out, std::string_view field);

// Writes records to a FILE* (or into a string), buffering ~1 MiB between writes.
// Not thread-safe. Rows end with "\n" (or "\r\n" with crlf=true).
class CsvWriter {
 public:
  // Writes to `file` (not owned; flushed by flush() and the destructor, never closed).
  explicit CsvWriter(std::FILE* file, bool crlf = false);
  // Writes into `*sink` (appends; no I/O).
  explicit CsvWriter(std::string* sink, bool crlf = false);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  CsvWriter& field(std::string_view s);
  CsvWriter& field(int64_t v);
  // Fixed-point with `decimals` digits after the point (trailing zeros kept, deterministic).
  CsvWriter& field(double v, int decimals);
  // Writes the string as is (caller guarantees it needs no quoting).
  CsvWriter& raw_field(std::string_view s);
  CsvWriter& empty_field() { return raw_field({}); }
  void end_row();
  void row(std::span<const std::string_view> cells);
  void row(std::span<const std::string> cells);

  // Writes buffered bytes to the file; "io_error" if the write failed.
  core::Status flush();
  uint64_t bytes_written() const { return bytes_; }

 private:
  void separator();
  void maybe_flush();
  std::FILE* file_ = nullptr;
  std::string* sink_ = nullptr;
  std::string buf_;
  bool crlf_ = false;
  bool row_started_ = false;
  bool failed_ = false;
  uint64_t bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Synthetic leads (docs/DATA.md describes the latent model).

enum class Profile { kRealEstate, kSeed };

// "real_estate" / "seed".
core::Result<Profile> parse_profile(std::string_view name);
std::string_view profile_name(Profile p);

// One CSV column of a profile, in output order.
struct ColumnSpec {
  std::string_view name;
  // Intended share of rows where the generator writes a missing token ("", "NA", "Select").
  double missing_rate = 0;
  // Canonical category values (empty for non-categorical columns).
  std::vector<std::string_view> categories;
  // Intentionally messy spellings the generator also writes (a schema maps them to `other`).
  std::vector<std::string_view> messy;
};
const std::vector<ColumnSpec>& profile_columns(Profile p);

// The generator's intended share of positives and the tolerance the tests allow around it.
struct ProfileTargets {
  double positive_rate;
  double positive_rate_tolerance;  // absolute, for >= 20k rows
  double oracle_auc_min;
  double oracle_auc_max;
};
ProfileTargets profile_targets(Profile p);

// Largest `rows` generate() accepts: it keeps 12 bytes per row (true probability and label)
// for the oracle AUC, so this bounds that memory to 600 MB; the CSV itself is streamed.
inline constexpr uint64_t kMaxGenerateRows = 50'000'000;

struct GenerateOptions {
  uint64_t rows = 1000;  // 1..kMaxGenerateRows
  uint64_t seed = 42;
  Profile profile = Profile::kRealEstate;
  // Progress lines on stderr every 10 % when rows >= progress_min_rows.
  uint64_t progress_min_rows = 100000;
  bool progress = true;
};

struct GenerateReport {
  uint64_t rows = 0;
  uint64_t positives = 0;
  std::vector<std::string> columns;
  std::vector<uint64_t> missing;  // per column: cells written as a missing token
  double oracle_auc = 0;          // roc_auc(true_probability, converted)
  double mean_true_probability = 0;
  double seconds = 0;
  uint64_t bytes = 0;
};

// Writes header + `rows` records to `out`. Same options → same bytes. Errors: `invalid_rows`
// (rows is 0 or above kMaxGenerateRows; nothing is written), the writer's I/O errors.
core::Result<GenerateReport> generate(const GenerateOptions& opt, CsvWriter& out);

// Appends a human-readable report (rows, positive rate, oracle AUC, missingness per column).
void append_report_text(const GenerateReport& r, std::string& out);
// Appends the report as one JSON object.
void append_report_json(const GenerateReport& r, std::string& out);

// ---------------------------------------------------------------------------------------------
// Draft schema inference.

struct InferOptions {
  std::string label;                 // column to mark as the label (optional)
  std::string name = "inferred";     // schema name
  size_t max_categories = 50;        // more distinct values than this → text
};

// Reads the whole CSV and returns a draft schema in the docs/SCHEMA.md format, one field per
// line, for a human to edit: types from values (integer/number/boolean/category/text/id),
// missing tokens seen, `pii` guessed from column names (name, phone, mobile, email, ...).
// Numeric features non-negative in the data get "min": 0 (no max: a human sets real bounds).
// If `summary` is given, appends one human line per column (type, role, missing %, range).
core::Result<std::string> infer_schema(CsvReader& reader, const InferOptions& opt,
                                       std::string* summary = nullptr);

}  // namespace data
