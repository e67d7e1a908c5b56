// safetensors reader: 8-byte little-endian header length, JSON header, raw little-endian data.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include <simdjson.h>

#include "text/text.h"

namespace text {
namespace {

// The real header is 11 KB; anything beyond this is a corrupt length field, not a model.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

int dtype_size(std::string_view dt) {
  if (dt == "F32" || dt == "I32" || dt == "U32") return 4;
  if (dt == "F16" || dt == "BF16" || dt == "I16" || dt == "U16") return 2;
  if (dt == "F64" || dt == "I64" || dt == "U64") return 8;
  if (dt == "I8" || dt == "U8" || dt == "BOOL" || dt == "F8_E4M3" || dt == "F8_E5M2") return 1;
  return 0;
}

core::Error invalid(std::string msg) { return core::Error{"safetensors_invalid", std::move(msg), {}}; }

}  // namespace

uint64_t TensorInfo::num_elements() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

SafeTensors::SafeTensors(SafeTensors&& o) noexcept { *this = std::move(o); }

SafeTensors& SafeTensors::operator=(SafeTensors&& o) noexcept {
  if (this != &o) {
    if (base_ != nullptr) munmap(const_cast<uint8_t*>(base_), file_size_);
    base_ = std::exchange(o.base_, nullptr);
    file_size_ = std::exchange(o.file_size_, 0);
    data_offset_ = o.data_offset_;
    data_size_ = o.data_size_;
    tensors_ = std::move(o.tensors_);
    metadata_ = std::move(o.metadata_);
  }
  return *this;
}

SafeTensors::~SafeTensors() {
  if (base_ != nullptr) munmap(const_cast<uint8_t*>(base_), file_size_);
}

core::Result<SafeTensors> SafeTensors::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::make_error("safetensors_unreadable",
                            "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return core::make_error("safetensors_unreadable", "cannot stat " + path.string());
  }
  SafeTensors f;
  f.file_size_ = static_cast<uint64_t>(st.st_size);
  if (f.file_size_ > 0) {
    void* p = mmap(nullptr, f.file_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return core::make_error("safetensors_unreadable", "cannot mmap " + path.string());
    }
    f.base_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  const std::string where = path.filename().string();

  if (f.file_size_ < 8) {
    return core::make_error("safetensors_truncated",
                            where + ": " + std::to_string(f.file_size_) +
                                " bytes, shorter than the 8-byte header length");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | f.base_[i];
  if (n < 2 || n > kMaxHeaderBytes) {
    return tl::unexpected(invalid(where + ": header length " + std::to_string(n) + " is not plausible"));
  }
  if (8 + n > f.file_size_) {
    return core::make_error("safetensors_truncated",
                            where + ": header of " + std::to_string(n) + " bytes but the file has only " +
                                std::to_string(f.file_size_ - 8) + " after the length");
  }
  f.data_offset_ = 8 + n;

  simdjson::dom::parser parser;
  simdjson::padded_string json(reinterpret_cast<const char*>(f.base_ + 8), static_cast<size_t>(n));
  simdjson::dom::element root;
  if (auto err = parser.parse(json).get(root); err) {
    return tl::unexpected(invalid(where + ": header is not valid JSON (" +
                                  std::string(simdjson::error_message(err)) + ")"));
  }
  simdjson::dom::object obj;
  if (root.get(obj)) return tl::unexpected(invalid(where + ": header is not a JSON object"));

  std::set<std::string_view> seen;
  for (auto field : obj) {
    std::string_view key = field.key;
    if (!seen.insert(key).second) {
      return tl::unexpected(invalid(where + ": duplicate entry '" + std::string(key) + "'"));
    }
    if (key == "__metadata__") {
      simdjson::dom::object meta;
      if (field.value.get(meta)) return tl::unexpected(invalid(where + ": __metadata__ is not an object"));
      for (auto m : meta) {
        std::string_view v;
        if (m.value.get(v)) {
          return tl::unexpected(invalid(where + ": __metadata__ values must be strings"));
        }
        f.metadata_[std::string(m.key)] = std::string(v);
      }
      continue;
    }
    const std::string name(key);
    simdjson::dom::object t;
    if (field.value.get(t)) return tl::unexpected(invalid(where + ": tensor " + name + " is not an object"));
    TensorInfo info;
    info.name = name;
    std::string_view dt;
    if (t["dtype"].get(dt)) return tl::unexpected(invalid(where + ": tensor " + name + " has no dtype string"));
    info.dtype = std::string(dt);
    int esize = dtype_size(dt);
    if (esize == 0) {
      return tl::unexpected(invalid(where + ": tensor " + name + " has unknown dtype " + info.dtype));
    }
    simdjson::dom::array shape;
    if (t["shape"].get(shape)) return tl::unexpected(invalid(where + ": tensor " + name + " has no shape array"));
    uint64_t count = 1;
    for (auto d : shape) {
      int64_t v = 0;
      if (d.get(v) || v < 0) {
        return tl::unexpected(invalid(where + ": tensor " + name + " has a bad dimension"));
      }
      if (v != 0 && count > std::numeric_limits<uint64_t>::max() / 16 / static_cast<uint64_t>(v)) {
        return tl::unexpected(invalid(where + ": tensor " + name + " shape overflows"));
      }
      count *= static_cast<uint64_t>(v);
      info.shape.push_back(v);
    }
    simdjson::dom::array offs;
    if (t["data_offsets"].get(offs) || offs.size() != 2) {
      return tl::unexpected(invalid(where + ": tensor " + name + " needs data_offsets [begin, end]"));
    }
    uint64_t b = 0, e = 0;
    if (offs.at(0).get(b) || offs.at(1).get(e) || b > e) {
      return tl::unexpected(invalid(where + ": tensor " + name + " has bad data_offsets"));
    }
    info.begin = b;
    info.end = e;
    if (e - b != count * static_cast<uint64_t>(esize)) {
      return tl::unexpected(invalid(where + ": tensor " + name + " spans " + std::to_string(e - b) +
                                    " bytes but its shape and dtype need " +
                                    std::to_string(count * static_cast<uint64_t>(esize))));
    }
    f.tensors_.push_back(std::move(info));
  }
  // The data section must be covered exactly: sorted ranges from 0, no holes, no overlap.
  std::vector<const TensorInfo*> order;
  for (const auto& t : f.tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  for (const TensorInfo* t : order) {
    if (t->begin != pos) {
      return tl::unexpected(invalid(where + ": tensor " + t->name +
                                    (t->begin < pos ? " overlaps the previous tensor" : " leaves a hole before it")));
    }
    pos = t->end;
  }
  f.data_size_ = pos;
  if (f.data_offset_ + f.data_size_ < f.data_offset_) return tl::unexpected(invalid(where + ": sizes overflow"));
  return f;
}

const TensorInfo* SafeTensors::find(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

core::Result<std::vector<float>> SafeTensors::load_f32(std::string_view name) const {
  const TensorInfo* t = find(name);
  if (t == nullptr) {
    return core::make_error("tensor_not_found", "no tensor named " + std::string(name), std::string(name));
  }
  if (data_offset_ + t->end > file_size_) {
    return core::make_error("safetensors_truncated",
                            "tensor " + t->name + " needs bytes up to " + std::to_string(data_offset_ + t->end) +
                                " but the file has " + std::to_string(file_size_) +
                                " (incomplete download?)",
                            t->name);
  }
  const uint8_t* p = base_ + data_offset_ + t->begin;
  const size_t n = static_cast<size_t>(t->num_elements());
  std::vector<float> out(n);
  if (t->dtype == "F32") {
    std::memcpy(out.data(), p, n * 4);  // little-endian host (x86-64)
  } else if (t->dtype == "F16" || t->dtype == "BF16") {
    const bool bf = t->dtype == "BF16";
    for (size_t i = 0; i < n; ++i) {
      uint16_t h = static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8));
      out[i] = bf ? bf16_to_f32(h) : f16_to_f32(h);
    }
  } else {
    return core::make_error("tensor_dtype_unsupported",
                            "tensor " + t->name + " has dtype " + t->dtype + "; F32, F16 or BF16 expected",
                            t->name);
  }
  return out;
}

}  // namespace text
