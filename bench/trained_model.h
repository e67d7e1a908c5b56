#pragma once
// Benchmarks' shared fixture: generate `rows` real-estate leads and train a model with
// `leadscore train`'s defaults (rows = 1000 is what README command 1 produces). Aborts on
// any failure (benchmark code only).

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/data.h"
#include "model/model.h"

namespace bench {

struct TrainedModel {
  std::filesystem::path dir;  // models/<version>/ with model.json and manifest.json
  model::Dataset data;        // the encoded training rows
};

// Trains under `work` (created; the caller removes it when done with the files).
inline TrainedModel train_default_model(uint64_t rows, const std::filesystem::path& work) {
  namespace fs = std::filesystem;
  fs::create_directories(work);
  std::string csv;
  {
    data::CsvWriter w(&csv);
    data::GenerateOptions g;
    g.rows = rows;
    g.progress = false;
    if (!data::generate(g, w)) std::abort();
    (void)w.flush();
  }
  std::ofstream(work / "leads.csv") << csv;
  auto schema = core::load_schema(fs::path(LEADSCORE_SOURCE_DIR) / "schemas/real_estate.json");
  if (!schema) std::abort();
  auto d = model::load_dataset(work / "leads.csv", **schema);
  if (!d) std::abort();
  auto run = model::train_and_save(*d, (*schema)->to_json(), work / "models", {});
  if (!run) std::abort();
  return {run->dir, std::move(*d)};
}

inline std::filesystem::path temp_work_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
}

}  // namespace bench
