#include "data/data.h"

namespace data {

core::Result<std::string> infer_schema(CsvReader& reader, const InferOptions& opt) {
  (void)reader;
  (void)opt;
  return core::make_error("not_implemented", "schema inference is not implemented yet");
}

}  // namespace data
