// `leadscore evaluate`: measure a saved model on a labelled CSV (human table or --json).
#include <cstdio>
#include <string>

#include "app/app.h"
#include "model/model.h"

namespace app {

void add_evaluate_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("evaluate", "Measure a model on a labelled CSV");
  struct Args {
    std::string model, data;
    bool json = false, strict = false, allow_missing_columns = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "Model directory (e.g. models/latest)")->required();
  cmd->add_option("--data", a->data, "Labelled CSV with the model's schema")->required();
  cmd->add_flag("--json", a->json, "Print the metrics as JSON");
  cmd->add_flag("--strict", a->strict, "Fail on the first bad row instead of skipping it");
  cmd->add_flag("--allow-missing-columns", a->allow_missing_columns,
                "Evaluate even if the CSV lacks some of the model's feature columns (they are "
                "missing in every row; a warning lists them)");
  cmd->callback([a] {
    model::prefer_passive_openmp();
    model::LoadOptions load;
    load.strict = a->strict;
    load.allow_missing_columns = a->allow_missing_columns;
    model::LoadReport report;
    auto e = model::evaluate_csv(a->model, a->data, load, &report);
    if (!e) {
      std::fprintf(stderr, "leadscore evaluate: %s: %s\n", e.error().code.c_str(),
                   e.error().message.c_str());
      exit_with(1);
    }
    warn_missing_columns("leadscore evaluate", report.missing_columns);
    if (e->rows_skipped > 0) {
      std::fprintf(stderr, "leadscore evaluate: skipped %zu rows that failed to parse; first:\n",
                   e->rows_skipped);
      for (const auto& err : report.first_errors) std::fprintf(stderr, "  %s\n", err.message.c_str());
    }
    if (a->json) {
      std::string out;
      core::JsonWriter w(out);
      w.begin_object().field("model_version", e->version);
      w.field("rows_skipped", static_cast<uint64_t>(e->rows_skipped));
      w.key("metrics");
      e->metrics.write_json(w);
      w.end_object();
      std::printf("%s\n", out.c_str());
    } else {
      std::printf("model %s on %s\n%s", e->version.c_str(), a->data.c_str(),
                  model::format_metrics_table(e->metrics).c_str());
    }
  });
}

}  // namespace app
