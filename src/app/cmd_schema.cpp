// `leadscore schema infer data.csv`: a draft schema for a human to edit (data::infer_schema).
#include <cstdio>
#include <string>

#include "app/app.h"
#include "data/data.h"

namespace app {

void add_schema_command(CLI::App& root) {
  auto* schema = root.add_subcommand("schema", "Lead schema tools");
  schema->require_subcommand(1);
  auto* infer = schema->add_subcommand("infer", "Infer a draft schema (JSON, stdout) from a CSV");
  struct Opts {
    std::string csv;
    std::string label;
    std::string name = "inferred";
    size_t max_categories = 50;
  };
  auto o = std::make_shared<Opts>();
  infer->add_option("csv", o->csv, "CSV file with a header row")->required();
  infer->add_option("--label", o->label, "Column to mark as the label");
  infer->add_option("--name", o->name, "Schema name")->capture_default_str();
  infer->add_option("--max-categories", o->max_categories,
                    "Columns with more distinct values are text")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000000}));  // -3 would wrap to "no limit"
  infer->callback([o] {
    auto reader = data::CsvReader::open(o->csv);
    if (!reader) {
      std::fprintf(stderr, "error: %s\n", reader.error().message.c_str());
      exit_with(1);
    }
    data::InferOptions opt;
    opt.label = o->label;
    opt.name = o->name;
    opt.max_categories = o->max_categories;
    std::string summary;
    auto json = data::infer_schema(*reader, opt, &summary);
    if (!json) {
      std::fprintf(stderr, "error: %s: %s\n", o->csv.c_str(), json.error().message.c_str());
      exit_with(json.error().code == "io_error" ? 1 : 3);
    }
    std::fwrite(json->data(), 1, json->size(), stdout);
    std::fputs(summary.c_str(), stderr);
  });
}

}  // namespace app
