#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "data/data.h"

namespace data {

namespace {

constexpr size_t kChunk = 1 << 20;

core::Error csv_error(uint64_t line, const std::string& what) {
  return core::Error{"csv_malformed", "line " + std::to_string(line) + ": " + what, {}};
}

}  // namespace

struct CsvReader::Impl {
  std::FILE* file = nullptr;  // owned; null for in-memory input
  std::string path;
  std::string buf;
  size_t pos = 0;
  size_t end = 0;
  bool eof = false;
  bool bom_checked = false;
  uint64_t line = 1;  // physical line at `pos`

  std::string cellbuf;
  std::vector<size_t> cell_ends;
  std::vector<std::string_view> cells;

  std::vector<std::string> header;
  size_t expected = 0;  // fields per record; 0 until known
  uint64_t record_line = 0;
  uint64_t records = 0;

  ~Impl() {
    if (file != nullptr) std::fclose(file);
  }

  enum class Outcome { kRecord, kNeedMore, kEof };

  // Moves unread bytes to the front and reads more; grows the buffer when one record fills it.
  core::Status refill() {
    if (file == nullptr) {
      eof = true;
      return core::ok();
    }
    if (pos > 0) {
      std::memmove(buf.data(), buf.data() + pos, end - pos);
      end -= pos;
      pos = 0;
    }
    if (end == buf.size()) buf.resize(buf.empty() ? kChunk : buf.size() * 2);
    const size_t got = std::fread(buf.data() + end, 1, buf.size() - end, file);
    if (got == 0) {
      if (std::ferror(file)) {
        return core::make_error("io_error", "reading " + path + ": " + std::strerror(errno));
      }
      eof = true;
    }
    end += got;
    return core::ok();
  }

  // Length of the line break at p (1 or 2), 0 if none, -1 if more input is needed to tell.
  int newline_at(size_t p) const {
    const char c = buf[p];
    if (c == '\n') return 1;
    if (c != '\r') return 0;
    if (p + 1 < end) return buf[p + 1] == '\n' ? 2 : 1;
    return eof ? 1 : -1;
  }

  // Parses one record starting at pos. Leaves state untouched on kNeedMore.
  core::Result<Outcome> parse() {
    size_t p = pos;
    uint64_t ln = line;
    // Skip empty lines.
    while (p < end) {
      const int nl = newline_at(p);
      if (nl < 0) return Outcome::kNeedMore;
      if (nl == 0) break;
      p += static_cast<size_t>(nl);
      ++ln;
    }
    if (p == end) {
      if (!eof) return Outcome::kNeedMore;
      pos = p;
      line = ln;
      return Outcome::kEof;
    }
    const uint64_t start_line = ln;
    cellbuf.clear();
    cell_ends.clear();
    const char* b = buf.data();
    for (;;) {
      if (p < end && b[p] == '"') {
        const uint64_t quote_line = ln;
        ++p;
        for (;;) {
          const void* hit = std::memchr(b + p, '"', end - p);
          if (hit == nullptr) {
            if (!eof) return Outcome::kNeedMore;
            return tl::unexpected(csv_error(quote_line, "unterminated quoted field (field " +
                                                            std::to_string(cell_ends.size() + 1) +
                                                            ")"));
          }
          const size_t q = static_cast<size_t>(static_cast<const char*>(hit) - b);
          for (size_t k = p; k < q; ++k) ln += b[k] == '\n';
          cellbuf.append(b + p, q - p);
          p = q + 1;
          if (p == end && !eof) return Outcome::kNeedMore;
          if (p < end && b[p] == '"') {
            cellbuf.push_back('"');
            ++p;
            continue;
          }
          break;
        }
        if (p < end && b[p] != ',' && newline_at(p) == 0) {
          return tl::unexpected(csv_error(
              ln, "unexpected character after closing quote in field " +
                      std::to_string(cell_ends.size() + 1)));
        }
      } else {
        const size_t q0 = p;
        while (p < end && b[p] != ',' && b[p] != '\n' && b[p] != '\r') ++p;
        if (p == end && !eof) return Outcome::kNeedMore;
        // A '"' inside an unquoted field is kept literally (lenient, as most readers are).
        cellbuf.append(b + q0, p - q0);
      }
      cell_ends.push_back(cellbuf.size());
      if (p == end) break;  // eof ends the record
      if (b[p] == ',') {
        ++p;
        continue;
      }
      const int nl = newline_at(p);
      if (nl < 0) return Outcome::kNeedMore;
      p += static_cast<size_t>(nl);
      ++ln;
      break;
    }
    pos = p;
    line = ln;
    record_line = start_line;
    cells.clear();
    size_t s = 0;
    for (size_t e : cell_ends) {
      cells.emplace_back(cellbuf.data() + s, e - s);
      s = e;
    }
    return Outcome::kRecord;
  }

  core::Result<bool> next_record() {
    if (!bom_checked) {
      while (end - pos < 3 && !eof) LS_TRY(refill());
      if (end - pos >= 3 && std::memcmp(buf.data() + pos, "\xEF\xBB\xBF", 3) == 0) pos += 3;
      bom_checked = true;
    }
    for (;;) {
      LS_ASSIGN_OR_RETURN(Outcome o, parse());
      if (o == Outcome::kRecord) break;
      if (o == Outcome::kEof) return false;
      LS_TRY(refill());
    }
    if (expected == 0) {
      expected = cells.size();
    } else if (cells.size() != expected) {
      return tl::unexpected(csv_error(record_line, "expected " + std::to_string(expected) +
                                                       " fields, got " +
                                                       std::to_string(cells.size())));
    }
    return true;
  }
};

CsvReader::CsvReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CsvReader::CsvReader(CsvReader&&) noexcept = default;
CsvReader& CsvReader::operator=(CsvReader&&) noexcept = default;
CsvReader::~CsvReader() = default;

core::Result<CsvReader> CsvReader::open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return core::make_error("io_error", "cannot open " + path + ": " + std::strerror(errno));
  }
  auto impl = std::make_unique<Impl>();
  impl->file = f;
  impl->path = path;
  return CsvReader(std::move(impl));
}

CsvReader CsvReader::from_string(std::string text) {
  auto impl = std::make_unique<Impl>();
  impl->buf = std::move(text);
  impl->end = impl->buf.size();
  impl->eof = true;
  return CsvReader(std::move(impl));
}

core::Status CsvReader::read_header() {
  LS_ASSIGN_OR_RETURN(bool got, impl_->next_record());
  if (!got) return tl::unexpected(csv_error(impl_->line, "empty input, no header"));
  impl_->header.assign(impl_->cells.begin(), impl_->cells.end());
  return core::ok();
}

const std::vector<std::string>& CsvReader::header() const { return impl_->header; }

int CsvReader::column(std::string_view name) const {
  for (size_t i = 0; i < impl_->header.size(); ++i) {
    if (impl_->header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

core::Result<bool> CsvReader::next() {
  LS_ASSIGN_OR_RETURN(bool got, impl_->next_record());
  if (got) ++impl_->records;
  return got;
}

std::span<const std::string_view> CsvReader::record() const { return impl_->cells; }
uint64_t CsvReader::record_line() const { return impl_->record_line; }
uint64_t CsvReader::records_read() const { return impl_->records; }

// ---------------------------------------------------------------------------------------------

void append_csv_field(std::string& out, std::string_view field) {
  bool quote = !field.empty() && (field.front() == ' ' || field.back() == ' ');
  if (!quote) {
    for (char c : field) {
      if (c == ',' || c == '"' || c == '\n' || c == '\r') {
        quote = true;
        break;
      }
    }
  }
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

CsvWriter::CsvWriter(std::FILE* file, bool crlf) : file_(file), crlf_(crlf) {
  buf_.reserve(kChunk + 4096);
}
CsvWriter::CsvWriter(std::string* sink, bool crlf) : sink_(sink), crlf_(crlf) {}

CsvWriter::~CsvWriter() {
  if (file_ != nullptr) (void)flush();
}

void CsvWriter::separator() {
  std::string& out = sink_ != nullptr ? *sink_ : buf_;
  if (row_started_) out.push_back(',');
  row_started_ = true;
}

CsvWriter& CsvWriter::field(std::string_view s) {
  separator();
  append_csv_field(sink_ != nullptr ? *sink_ : buf_, s);
  return *this;
}

CsvWriter& CsvWriter::raw_field(std::string_view s) {
  separator();
  (sink_ != nullptr ? *sink_ : buf_).append(s);
  return *this;
}

CsvWriter& CsvWriter::field(int64_t v) {
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  return raw_field(std::string_view(tmp, static_cast<size_t>(r.ptr - tmp)));
}

CsvWriter& CsvWriter::field(double v, int decimals) {
  if (!std::isfinite(v)) return raw_field({});
  char tmp[64];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v, std::chars_format::fixed, decimals);
  if (r.ec != std::errc()) return raw_field({});
  return raw_field(std::string_view(tmp, static_cast<size_t>(r.ptr - tmp)));
}

void CsvWriter::end_row() {
  std::string& out = sink_ != nullptr ? *sink_ : buf_;
  if (crlf_) out.push_back('\r');
  out.push_back('\n');
  row_started_ = false;
  maybe_flush();
}

void CsvWriter::row(std::span<const std::string_view> cells) {
  for (auto c : cells) field(c);
  end_row();
}

void CsvWriter::row(std::span<const std::string> cells) {
  for (const auto& c : cells) field(std::string_view(c));
  end_row();
}

void CsvWriter::maybe_flush() {
  if (sink_ == nullptr && buf_.size() >= kChunk) (void)flush();
}

core::Status CsvWriter::flush() {
  if (sink_ != nullptr) {
    bytes_ = sink_->size();
    return core::ok();
  }
  if (!buf_.empty() && !failed_) {
    if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) failed_ = true;
    bytes_ += buf_.size();
  }
  buf_.clear();
  if (!failed_ && std::fflush(file_) != 0) failed_ = true;
  if (failed_) return core::make_error("io_error", std::string("write failed: ") + std::strerror(errno));
  return core::ok();
}

}  // namespace data
