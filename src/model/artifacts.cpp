// Training runs end to end (split, train, calibrate, measure) and the model directory:
// model.json (XGBoost's JSON), manifest.json (everything scoring needs, no rows of data) and
// report.md. Also the loader that validates a directory before anything scores with it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <simdjson.h>

#include "model/model.h"
#include "model/xgb.h"

namespace model {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kFormat = "leadscore-model/1";

std::string compute_version(std::string_view model_json, const Calibration& c) {
  std::string cal;
  core::JsonWriter w(cal);
  c.write_json(w);
  std::string bytes(model_json);
  bytes += '\n';
  bytes += cal;
  return sha256_hex(bytes).substr(0, 12);
}

core::Status write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return core::make_error("io_error", "cannot write " + path.string());
  return core::ok();
}

core::Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error("io_error", "cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_params(core::JsonWriter& w, const TrainParams& p, double spw) {
  w.begin_object()
      .field("objective", "binary:logistic")
      .field("tree_method", "hist")
      .field("max_depth", p.max_depth)
      .field("eta", p.eta)
      .field("max_trees", p.max_trees)
      .field("early_stopping_rounds", p.early_stopping_rounds)
      .field("min_child_weight", p.min_child_weight)
      .field("subsample", p.subsample)
      .field("colsample_bytree", p.colsample_bytree)
      .field("lambda", p.lambda)
      .field("alpha", p.alpha)
      .field("gamma", p.gamma)
      .field("max_bin", p.max_bin)
      .field("max_cat_to_onehot", p.max_cat_to_onehot)
      .field("scale_pos_weight", spw)
      .field("seed", static_cast<uint64_t>(p.seed))
      .end_object();
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
  return buf;
}

std::string num(double v, const char* fmt = "%.4f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string make_report(const Dataset& data, const TrainingRun& run, const Split& split) {
  std::string r;
  r += "# leadscore model " + run.version + "\n\n";
  r += "Trained " + utc_now() + " on `" + data.source_name + "` (" +
       std::to_string(data.x.rows) + " rows used, " + std::to_string(data.rows_skipped) +
       " skipped; SHA-256 `" + data.source_sha256.substr(0, 16) + "…`), label `" +
       data.label_name + "`, " + std::to_string(data.features.size()) + " features.\n\n";
  r += "Split (stratified, seeded): train " + std::to_string(split.train.size()) +
       ", validation " + std::to_string(split.valid.size()) + ", test " +
       std::to_string(split.test.size()) + ".\n\n";
  r += "XGBoost stopped at " + std::to_string(run.booster.rounds_run) +
       " rounds; best iteration " + std::to_string(run.booster.best_iteration) +
       " (validation log-loss " + num(run.booster.best_valid_logloss) + "), so model.json holds " +
       std::to_string(run.booster.best_iteration + 1) + " trees. Training took " +
       num(run.seconds, "%.1f") + " s.\n\n";
  r += "Calibration: **" + std::string(run.calibration.chosen.method_name()) +
       "** (5-fold CV log-loss on the validation split: identity " +
       num(run.calibration.cv_logloss_identity) + ", Platt " +
       num(run.calibration.cv_logloss_platt) + ", isotonic " +
       num(run.calibration.cv_logloss_isotonic) + ").\n\n";
  r += "Grades (calibrated probability cut-offs from held-out score quantiles: top 10 % A, next "
       "20 % B, next 30 % C, rest D): A ≥ " + num(run.grades.a) + ", B ≥ " + num(run.grades.b) +
       ", C ≥ " + num(run.grades.c) + ".\n\n";
  r += "| split | rows | base rate | ROC-AUC | PR-AUC | log-loss | Brier | ECE |\n";
  r += "|---|---|---|---|---|---|---|---|\n";
  const std::pair<const char*, const Metrics*> splits[] = {
      {"train", &run.train}, {"validation", &run.valid}, {"test", &run.test}};
  for (const auto& [name, m] : splits) {
    r += std::string("| ") + name + " | " + std::to_string(m->rows) + " | " + pct(m->base_rate) +
         " | " + num(m->roc_auc) + " | " + num(m->pr_auc) + " | " + num(m->log_loss) + " | " +
         num(m->brier) + " | " + num(m->ece) + " |\n";
  }
  r += "\n## Test split in detail\n\n```\n" + format_metrics_table(run.test) + "```\n";
  return r;
}

}  // namespace

void write_column_stats(core::JsonWriter& w, const Dataset& data) {
  w.begin_array();
  const size_t n = data.x.rows;
  for (size_t c = 0; c < data.x.cols; ++c) {
    size_t missing = 0;
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    std::vector<uint64_t> counts;
    for (size_t r = 0; r < n; ++r) {
      const float v = data.x.row(r)[c];
      if (std::isnan(v)) {
        ++missing;
        continue;
      }
      lo = std::min<double>(lo, v);
      hi = std::max<double>(hi, v);
      sum += v;
      if (data.features[c].categorical && v >= 0) {
        const auto code = static_cast<size_t>(v);
        if (code >= counts.size()) counts.resize(code + 1);
        ++counts[code];
      }
    }
    w.begin_object().field("name", data.features[c].name);
    w.field("missing_rate", n ? static_cast<double>(missing) / static_cast<double>(n) : 0.0);
    if (data.features[c].categorical) {
      w.key("category_counts").begin_object();
      const auto& names = c < data.category_names.size() ? data.category_names[c]
                                                        : std::vector<std::string>{};
      for (size_t k = 0; k < counts.size(); ++k) {
        w.field(k < names.size() ? names[k] : std::to_string(k), counts[k]);
      }
      w.end_object();
    } else if (missing < n) {
      w.field("min", lo).field("max", hi).field("mean", sum / static_cast<double>(n - missing));
    }
    w.end_object();
  }
  w.end_array();
}

core::Result<TrainingRun> train_and_save(const Dataset& data, std::string_view schema_json,
                                         const fs::path& out_root, const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  LS_ASSIGN_OR_RETURN(Split split, stratified_split(data.labels, options.split));
  TrainingRun run;
  LS_ASSIGN_OR_RETURN(run.booster, train_booster(data.x, data.labels, data.features, split,
                                                 options.params, options.progress));
  LS_ASSIGN_OR_RETURN(auto margins_f, xgboost_predict(run.booster.model_json, data.x, data.features));
  const std::vector<double> margins(margins_f.begin(), margins_f.end());

  // Calibrate on the validation split only: the training split's margins are over-confident,
  // and scale_pos_weight (if used) shifts them; the test split stays untouched for metrics.
  std::vector<double> vm;
  std::vector<float> vy;
  for (uint32_t i : split.valid) {
    vm.push_back(margins[i]);
    vy.push_back(data.labels[i]);
  }
  run.calibration = choose_calibration(vm, vy, options.split.seed);
  const Calibration& cal = run.calibration.chosen;
  std::vector<double> probs(margins.size());
  for (size_t i = 0; i < margins.size(); ++i) probs[i] = cal.apply(margins[i]);

  // Percentiles and grades describe new leads, so they come from held-out rows (valid + test).
  std::vector<double> held_out;
  for (const auto* part : {&split.valid, &split.test}) {
    for (uint32_t i : *part) held_out.push_back(probs[i]);
  }
  const std::vector<double> quantiles = score_quantiles(held_out);
  run.grades = grade_thresholds_from_quantiles(quantiles);
  auto metrics_of = [&](const std::vector<uint32_t>& rows) {
    std::vector<double> p;
    std::vector<float> y;
    for (uint32_t i : rows) {
      p.push_back(probs[i]);
      y.push_back(data.labels[i]);
    }
    return compute_metrics(p, y, run.grades);
  };
  run.train = metrics_of(split.train);
  run.valid = metrics_of(split.valid);
  run.test = metrics_of(split.test);
  run.version = compute_version(run.booster.model_json, cal);
  run.dir = out_root / run.version;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::error_code ec;
  if (fs::exists(run.dir, ec) && !options.force) {
    return core::make_error("model_exists", run.dir.string() +
                                                " exists already (same data, schema and seed give "
                                                "the same version); pass --force to overwrite",
                            "out");
  }

  std::string manifest;
  {
    core::JsonWriter w(manifest);
    w.begin_object();
    w.field("format", kFormat).field("version", run.version).field("created_at", utc_now());
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    w.field("xgboost_version", std::to_string(major) + "." + std::to_string(minor) + "." +
                                   std::to_string(patch));
    w.key("schema").raw(schema_json);
    w.field("label", data.label_name);
    w.key("features").begin_array();
    for (size_t c = 0; c < data.features.size(); ++c) {
      w.begin_object()
          .field("index", static_cast<uint64_t>(c))
          .field("name", data.features[c].name)
          .field("type", data.features[c].categorical ? "categorical" : "numeric");
      if (data.features[c].categorical) {
        w.key("categories").begin_array();
        if (c < data.category_names.size()) {
          for (const auto& name : data.category_names[c]) w.value(name);
        }
        w.end_array();
      }
      w.end_object();
    }
    w.end_array();
    w.key("training_data").begin_object();
    w.field("file", data.source_name).field("sha256", data.source_sha256);
    w.field("rows_read", static_cast<uint64_t>(data.rows_read));
    w.field("rows_used", static_cast<uint64_t>(data.x.rows));
    w.field("rows_skipped", static_cast<uint64_t>(data.rows_skipped));
    w.key("columns");
    write_column_stats(w, data);
    w.end_object();
    w.key("split").begin_object()
        .field("method", "stratified")
        .field("seed", static_cast<uint64_t>(options.split.seed))
        .field("valid_fraction", options.split.valid_fraction)
        .field("test_fraction", options.split.test_fraction)
        .field("train_rows", static_cast<uint64_t>(split.train.size()))
        .field("valid_rows", static_cast<uint64_t>(split.valid.size()))
        .field("test_rows", static_cast<uint64_t>(split.test.size()))
        .end_object();
    w.key("hyperparameters");
    write_params(w, options.params, run.booster.effective_scale_pos_weight);
    w.key("training").begin_object()
        .field("best_iteration", run.booster.best_iteration)
        .field("num_trees", run.booster.best_iteration + 1)
        .field("rounds_run", run.booster.rounds_run)
        .field("best_valid_logloss", run.booster.best_valid_logloss)
        .field("seconds", run.seconds)
        .end_object();
    w.key("calibration");
    cal.write_json(w);
    w.key("calibration_selection").begin_object()
        .field("fitted_on", "validation")
        .field("criterion", "5-fold cross-validated log-loss")
        .field("cv_logloss_identity", run.calibration.cv_logloss_identity)
        .field("cv_logloss_platt", run.calibration.cv_logloss_platt)
        .field("cv_logloss_isotonic", run.calibration.cv_logloss_isotonic)
        .end_object();
    w.key("metrics").begin_object();
    w.key("train");
    run.train.write_json(w);
    w.key("valid");
    run.valid.write_json(w);
    w.key("test");
    run.test.write_json(w);
    w.end_object();
    w.key("score_distribution").begin_object().field("source", "held_out_calibrated");
    w.key("quantiles").begin_array();
    for (double q : quantiles) w.value(q);
    w.end_array().end_object();
    w.key("grades").begin_object()
        .field("policy", "held-out calibrated-score quantiles: top 10% A, next 20% B, next 30% C, rest D")
        .field("A", run.grades.a)
        .field("B", run.grades.b)
        .field("C", run.grades.c)
        .end_object();
    w.end_object();
  }

  // Write into a temporary sibling, then rename: a reader never sees half a model.
  fs::create_directories(out_root, ec);
  if (ec) return core::make_error("io_error", "cannot create " + out_root.string() + ": " + ec.message());
  const fs::path tmp = out_root / (".tmp-" + run.version + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return core::make_error("io_error", "cannot create " + tmp.string() + ": " + ec.message());
  LS_TRY(write_file(tmp / "model.json", run.booster.model_json));
  LS_TRY(write_file(tmp / "manifest.json", manifest));
  LS_TRY(write_file(tmp / "report.md", make_report(data, run, split)));
  if (fs::exists(run.dir, ec)) fs::remove_all(run.dir, ec);
  fs::rename(tmp, run.dir, ec);
  if (ec) return core::make_error("io_error", "cannot move model into " + run.dir.string() + ": " + ec.message());

  // models/latest -> <version> (relative symlink, replaced atomically by rename).
  const fs::path link_tmp = out_root / (".latest-" + std::to_string(::getpid()));
  fs::remove(link_tmp, ec);
  fs::create_directory_symlink(run.version, link_tmp, ec);
  if (!ec) fs::rename(link_tmp, out_root / "latest", ec);
  if (ec) return core::make_error("io_error", "cannot update " + (out_root / "latest").string() + ": " + ec.message());
  return run;
}

core::Result<ModelArtifacts> load_artifacts(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return core::make_error("model_not_found", "no model directory at " + dir.string(), "model");
  }
  if (!fs::exists(dir / "manifest.json", ec) || !fs::exists(dir / "model.json", ec)) {
    return core::make_error("model_not_found",
                            dir.string() + " lacks manifest.json or model.json", "model");
  }
  ModelArtifacts a;
  LS_ASSIGN_OR_RETURN(a.manifest_json, read_file(dir / "manifest.json"));
  LS_ASSIGN_OR_RETURN(a.model_json, read_file(dir / "model.json"));

  auto bad = [&](const std::string& what, const std::string& field) {
    return core::make_error("invalid_manifest",
                            (dir / "manifest.json").string() + ": " + what, field);
  };
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(a.manifest_json).get(doc)) return bad("not valid JSON", "");
  std::string_view sv;
  if (doc["format"].get(sv) || sv != kFormat) return bad("unknown format (want leadscore-model/1)", "format");
  if (doc["version"].get(sv)) return bad("no version", "version");
  a.version = std::string(sv);
  if (doc["label"].get(sv)) return bad("no label", "label");
  a.label_name = std::string(sv);
  simdjson::dom::element el;
  if (doc["schema"].get(el)) return bad("no schema", "schema");
  a.schema_json = simdjson::minify(el);
  if (doc["metrics"].get(el)) return bad("no metrics", "metrics");
  a.metrics_json = simdjson::minify(el);
  if (doc["calibration"].get(el)) return bad("no calibration", "calibration");
  LS_ASSIGN_OR_RETURN(a.calibration, calibration_from_json(simdjson::minify(el)));

  simdjson::dom::array features;
  if (doc["features"].get(features)) return bad("no features", "features");
  for (auto f : features) {
    FeatureSpec spec;
    std::string_view name, type;
    if (f["name"].get(name) || f["type"].get(type)) return bad("feature without name/type", "features");
    spec.name = std::string(name);
    spec.categorical = type == "categorical";
    std::vector<std::string> cats;
    simdjson::dom::array arr;
    if (spec.categorical && !f["categories"].get(arr)) {
      for (auto c : arr) {
        if (c.get(sv)) return bad("category is not a string", "features");
        cats.emplace_back(sv);
      }
    }
    a.features.push_back(std::move(spec));
    a.category_names.push_back(std::move(cats));
  }

  simdjson::dom::array quantiles;
  if (doc["score_distribution"]["quantiles"].get(quantiles)) {
    return bad("no score_distribution.quantiles", "score_distribution");
  }
  for (auto q : quantiles) {
    double d;
    if (q.get(d)) return bad("quantile is not a number", "score_distribution");
    a.score_quantiles.push_back(d);
  }
  if (a.score_quantiles.size() != 101 ||
      !std::is_sorted(a.score_quantiles.begin(), a.score_quantiles.end())) {
    return bad("score_distribution.quantiles must be 101 sorted numbers", "score_distribution");
  }
  if (doc["grades"]["A"].get(a.grades.a) || doc["grades"]["B"].get(a.grades.b) ||
      doc["grades"]["C"].get(a.grades.c) || !(a.grades.a >= a.grades.b && a.grades.b >= a.grades.c)) {
    return bad("grades need numbers A >= B >= C", "grades");
  }

  const std::string expected = compute_version(a.model_json, a.calibration);
  if (expected != a.version) {
    return core::make_error("version_mismatch",
                            "model.json and calibration hash to " + expected + ", but the manifest says " +
                                a.version + ": the directory was modified after training",
                            "version");
  }
  LS_ASSIGN_OR_RETURN(auto booster, xgb::Booster::from_json(a.model_json));
  bst_ulong num_feature = 0;
  LS_TRY(xgb::check(XGBoosterGetNumFeature(booster.get(), &num_feature), "XGBoosterGetNumFeature"));
  if (num_feature != a.features.size()) {
    return core::make_error("feature_mismatch",
                            "model.json has " + std::to_string(num_feature) +
                                " features, the manifest lists " + std::to_string(a.features.size()),
                            "features");
  }
  const char** names = nullptr;
  bst_ulong n_names = 0;
  LS_TRY(xgb::check(XGBoosterGetStrFeatureInfo(booster.get(), "feature_name", &n_names, &names),
                    "XGBoosterGetStrFeatureInfo"));
  for (bst_ulong i = 0; i < n_names && i < num_feature; ++i) {
    if (a.features[i].name != names[i]) {
      return core::make_error("feature_mismatch",
                              "feature " + std::to_string(i) + " is '" + names[i] +
                                  "' in model.json but '" + a.features[i].name + "' in the manifest",
                              "features");
    }
  }
  // The types must agree too: a feature trained as numeric but declared categorical (or the
  // reverse) would be encoded one way at scoring and split the other way in the trees.
  const char** types = nullptr;
  bst_ulong n_types = 0;
  LS_TRY(xgb::check(XGBoosterGetStrFeatureInfo(booster.get(), "feature_type", &n_types, &types),
                    "XGBoosterGetStrFeatureInfo"));
  for (bst_ulong i = 0; i < n_types && i < num_feature; ++i) {
    const bool categorical = std::string_view(types[i]) == "c";  // "q", "int", "float": numeric
    if (a.features[i].categorical != categorical) {
      auto kind = [](bool c) { return std::string(c ? "categorical" : "numeric"); };
      return core::make_error("feature_mismatch",
                              "feature " + std::to_string(i) + " '" + a.features[i].name + "' is " +
                                  kind(categorical) + " (\"" + types[i] + "\") in model.json but " +
                                  kind(a.features[i].categorical) + " in the manifest",
                              a.features[i].name);
    }
  }
  return a;
}

core::Result<std::vector<double>> predict_calibrated(const ModelArtifacts& model, const Matrix& x) {
  LS_ASSIGN_OR_RETURN(auto margins, xgboost_predict(model.model_json, x, model.features));
  std::vector<double> p(margins.size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = model.calibration.apply(margins[i]);
  return p;
}

}  // namespace model
