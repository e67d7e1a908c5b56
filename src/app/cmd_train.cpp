// `leadscore train`: CSV + schema -> models/<version>/ (model.json, manifest.json, report.md).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "app/app.h"
#include "model/model.h"

namespace app {

void warn_missing_columns(const char* command, const std::vector<std::string>& columns) {
  if (columns.empty()) return;
  std::string names;
  for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c;
  std::fprintf(stderr,
               "%s: warning: --allow-missing-columns: %zu feature column(s) absent from the CSV, "
               "missing in every row: %s\n",
               command, columns.size(), names.c_str());
}

namespace {

struct TrainArgs {
  std::string data, schema, out = "models";
  std::string scale_pos_weight = "1";
  // Signed: "-5" must be refused, not wrapped to 2^64 - 5.
  int64_t seed = static_cast<int64_t>(model::SplitOptions{}.seed);
  bool strict = false;
  bool allow_missing_columns = false;
  model::TrainOptions options;
};

void run_train(const TrainArgs& a) {
  model::prefer_passive_openmp();
  auto fail = [](const core::Error& e) {
    std::fprintf(stderr, "leadscore train: %s: %s\n", e.code.c_str(), e.message.c_str());
    exit_with(1);
  };
  auto usage = [](const core::Error& e) {  // a bad flag: exit 2 (usage), as `generate` does
    std::fprintf(stderr, "leadscore train: %s: %s\n", e.code.c_str(), e.message.c_str());
    exit_with(2);
  };
  model::TrainOptions opt = a.options;
  if (a.scale_pos_weight == "auto") {
    opt.params.scale_pos_weight = 0;
  } else {
    bool positive = false;
    try {
      opt.params.scale_pos_weight = std::stod(a.scale_pos_weight);
      positive = opt.params.scale_pos_weight > 0;  // false for NaN too
    } catch (const std::exception&) {
    }
    if (!positive) {
      usage({"invalid_params", "--scale-pos-weight takes a positive number or 'auto'", "scale-pos-weight"});
    }
  }
  // XGBoost's seed is an int64, so the split's seed keeps to the same range.
  if (a.seed < 0) {
    usage({"invalid_params", "--seed must be between 0 and " + std::to_string(INT64_MAX) +
                                 ", got " + std::to_string(a.seed),
           "seed"});
  }
  opt.split.seed = static_cast<uint64_t>(a.seed);
  opt.params.seed = opt.split.seed;
  // Flags are checked before the (possibly long) read of the CSV.
  if (auto ok = model::check_split_options(opt.split); !ok) usage(ok.error());
  if (auto ok = model::check_train_params(opt.params); !ok) usage(ok.error());
  auto schema = core::load_schema(a.schema);
  if (!schema) fail(schema.error());
  model::LoadOptions load;
  load.strict = a.strict;
  load.allow_missing_columns = a.allow_missing_columns;
  model::LoadReport report;
  auto data = model::load_dataset(a.data, **schema, load, &report);
  if (!data) fail(data.error());
  warn_missing_columns("leadscore train", report.missing_columns);
  if (data->rows_skipped > 0) {
    std::fprintf(stderr, "leadscore train: skipped %zu of %zu rows that failed to parse (--strict to fail instead); first:\n",
                 data->rows_skipped, data->rows_read);
    for (const auto& e : report.first_errors) std::fprintf(stderr, "  %s\n", e.message.c_str());
  }

  // Progress on stderr once training has run for a second, then at most twice a second.
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  bool printed = false;
  opt.progress = [&](int it, double loss, int best) {
    const auto now = std::chrono::steady_clock::now();
    if (now - start < std::chrono::seconds(1) || now - last < std::chrono::milliseconds(500)) return;
    last = now;
    printed = true;
    std::fprintf(stderr, "train: round %4d  validation logloss %.5f  best round %d\n", it, loss, best);
  };
  std::fprintf(stderr, "train: %zu rows x %zu features, label '%s'\n", data->x.rows,
               data->x.cols, data->label_name.c_str());
  auto run = model::train_and_save(*data, (*schema)->to_json(), a.out, opt);
  if (!run) fail(run.error());
  if (printed) std::fprintf(stderr, "train: stopped after %d rounds\n", run->booster.rounds_run);
  std::printf("model %s written to %s (%d trees, calibration %s, %.1f s)\n", run->version.c_str(),
              run->dir.string().c_str(), run->booster.best_iteration + 1,
              std::string(run->calibration.chosen.method_name()).c_str(), run->seconds);
  std::printf("test split: ROC-AUC %.4f  PR-AUC %.4f  log-loss %.4f  Brier %.4f  ECE %.4f\n",
              run->test.roc_auc, run->test.pr_auc, run->test.log_loss, run->test.brier,
              run->test.ece);
}

}  // namespace

void add_train_command(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "train", "Train a model from a labelled CSV and its schema into <out>/<version>/");
  auto a = std::make_shared<TrainArgs>();
  auto& p = a->options.params;
  auto& s = a->options.split;
  cmd->add_option("--data", a->data, "Labelled CSV file")->required();
  cmd->add_option("--schema", a->schema, "Schema JSON (docs/SCHEMA.md)")->required();
  cmd->add_option("--out", a->out, "Models directory; the model goes to <out>/<version>/")
      ->capture_default_str();
  cmd->add_flag("--force", a->options.force, "Overwrite <out>/<version>/ if it exists");
  cmd->add_flag("--strict", a->strict, "Fail on the first bad row instead of skipping it");
  cmd->add_flag("--allow-missing-columns", a->allow_missing_columns,
                "Train even if the CSV lacks some of the schema's feature columns (they are "
                "missing in every row; a warning lists them)");
  cmd->add_option("--seed", a->seed, "Seed for the split and XGBoost")->capture_default_str();
  cmd->add_option("--valid-fraction", s.valid_fraction, "Validation share")->capture_default_str();
  cmd->add_option("--test-fraction", s.test_fraction, "Test share")->capture_default_str();
  cmd->add_option("--max-depth", p.max_depth, "Tree depth")->capture_default_str();
  cmd->add_option("--eta", p.eta, "Learning rate")->capture_default_str();
  cmd->add_option("--trees", p.max_trees, "Maximum boosting rounds")->capture_default_str();
  cmd->add_option("--early-stopping", p.early_stopping_rounds,
                  "Stop after this many rounds without a better validation log-loss")
      ->capture_default_str();
  cmd->add_option("--min-child-weight", p.min_child_weight)->capture_default_str();
  cmd->add_option("--subsample", p.subsample)->capture_default_str();
  cmd->add_option("--colsample-bytree", p.colsample_bytree)->capture_default_str();
  cmd->add_option("--lambda", p.lambda, "L2 regularisation")->capture_default_str();
  cmd->add_option("--alpha", p.alpha, "L1 regularisation")->capture_default_str();
  cmd->add_option("--gamma", p.gamma, "Minimum split loss")->capture_default_str();
  cmd->add_option("--max-bin", p.max_bin)->capture_default_str();
  cmd->add_option("--max-cat-to-onehot", p.max_cat_to_onehot)->capture_default_str();
  cmd->add_option("--scale-pos-weight", a->scale_pos_weight,
                  "Positive class weight, or 'auto' (= negatives/positives); calibration on the "
                  "validation split undoes its effect on probabilities")
      ->capture_default_str();
  cmd->add_option("--threads", p.nthread, "XGBoost threads (0 = all cores)")->capture_default_str();
  cmd->callback([a] { run_train(*a); });
}

}  // namespace app
