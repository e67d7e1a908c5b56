#pragma once
// model: training (XGBoost C API), calibration, metrics, artifacts (model.json + manifest.json +
// report.md) and the Scorer the HTTP server calls. See docs/MODEL.md for the choices made here.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "forest/forest.h"

namespace model {

// ---------------------------------------------------------------------------------------------
// Matrices and features
// ---------------------------------------------------------------------------------------------

// Dense row-major float32 matrix; NaN = missing (XGBoost's default branch).
struct Matrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> values;  // rows * cols

  const float* row(size_t r) const { return values.data() + r * cols; }
};

// How XGBoost should treat a column: numeric ("q") or categorical ("c", integer codes 0..n-1).
struct FeatureSpec {
  std::string name;
  bool categorical = false;
};

// ---------------------------------------------------------------------------------------------
// Split
// ---------------------------------------------------------------------------------------------

// Row indices of each split; each list is sorted ascending.
struct Split {
  std::vector<uint32_t> train, valid, test;
};

struct SplitOptions {
  double valid_fraction = 0.15;
  double test_fraction = 0.15;
  uint64_t seed = 42;
  size_t min_rows = 50;           // fewer rows in total: `too_few_rows`
  size_t min_per_class_split = 5;  // fewer positives or negatives in any split: `too_few_per_class`
};

// `invalid_params` (field = the flag of `leadscore train`, e.g. "valid-fraction") unless each
// fraction is in (0, 1) and valid + test < 1.
core::Status check_split_options(const SplitOptions& options);

// Seeded stratified split: positives and negatives are shuffled separately and cut at the
// same fractions, so every split has (within one row) the overall positive rate.
// Errors: check_split_options's, `no_positives`, `no_negatives`, `too_few_rows`,
// `too_few_per_class`, `invalid_label`.
core::Result<Split> stratified_split(std::span<const float> labels, const SplitOptions& options);

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

struct TrainParams {
  int max_depth = 3;
  double eta = 0.05;
  int max_trees = 2000;
  int early_stopping_rounds = 50;
  double min_child_weight = 10.0;
  double subsample = 0.7;
  double colsample_bytree = 0.6;
  double lambda = 5.0;
  double alpha = 0.0;
  double gamma = 0.0;
  int max_bin = 256;
  int max_cat_to_onehot = 4;
  // 1 = no reweighting (default: calibration needs honest probabilities). 0 = "auto":
  // negatives/positives of the training split. Any other value is used as given.
  double scale_pos_weight = 1.0;
  uint64_t seed = 42;
  int nthread = 0;  // 0 = all cores
};

// Called after each boosting round with the validation log-loss (uncalibrated).
using ProgressFn = std::function<void(int iteration, double valid_logloss, int best_iteration)>;

struct TrainedBooster {
  std::string model_json;  // XGBoost's JSON, truncated to the best iteration
  int best_iteration = 0;  // 0-based; model_json holds best_iteration + 1 trees
  double best_valid_logloss = 0;
  int rounds_run = 0;
  double effective_scale_pos_weight = 1.0;
};

// `invalid_params` (field = the flag of `leadscore train`, e.g. "threads") for a parameter
// out of range: trees, depth, early stopping, max_cat_to_onehot >= 1; eta > 0; subsample and
// colsample in (0, 1]; min_child_weight, lambda, alpha, gamma >= 0; max_bin >= 2;
// scale_pos_weight >= 0 (0 = auto); nthread >= 0. NaN is out of every range.
core::Status check_train_params(const TrainParams& params);

// Trains binary:logistic with hist trees on X[split.train], early-stopping on X[split.valid].
// Labels must be 0/1. Errors: `xgboost_error` (message from XGBGetLastError), `invalid_params`
// (check_train_params's, or labels and rows disagree).
core::Result<TrainedBooster> train_booster(const Matrix& x, std::span<const float> labels,
                                           std::span<const FeatureSpec> features,
                                           const Split& split, const TrainParams& params,
                                           const ProgressFn& progress = {});

// Predictions of XGBoost's own predictor (the oracle: forest must equal it bit for bit):
// raw margins when `output_margin`, else probabilities. `rows` selects rows of x (empty =
// all). Errors: `xgboost_error`.
core::Result<std::vector<float>> xgboost_predict(std::string_view model_json, const Matrix& x,
                                                 std::span<const FeatureSpec> features,
                                                 std::span<const uint32_t> rows = {},
                                                 bool output_margin = true);

// Copies the selected rows of x (and of labels) into a new matrix.
Matrix take_rows(const Matrix& x, std::span<const uint32_t> rows);
std::vector<float> take(std::span<const float> v, std::span<const uint32_t> rows);

// ---------------------------------------------------------------------------------------------
// Calibration: margin -> probability
// ---------------------------------------------------------------------------------------------

struct Calibration {
  enum class Method { kIdentity, kPlatt, kIsotonic };
  Method method = Method::kIdentity;
  double platt_a = 1.0, platt_b = 0.0;  // p = sigmoid(a * margin + b)
  // Isotonic: non-decreasing step points (margin, probability), interpolated linearly between
  // points and clamped outside them.
  std::vector<double> iso_x, iso_y;

  double apply(double margin) const;
  std::string_view method_name() const;
  void write_json(core::JsonWriter& w) const;
};

double sigmoid(double margin);

// Platt scaling fitted by Newton's method with Platt's smoothed targets.
Calibration fit_platt(std::span<const double> margins, std::span<const float> labels);
// Isotonic regression (pool-adjacent-violators) of labels on margins; probabilities are
// clamped to [1e-4, 1 - 1e-4] so log-loss stays finite.
Calibration fit_isotonic(std::span<const double> margins, std::span<const float> labels);

struct CalibrationChoice {
  Calibration chosen;
  // Mean 5-fold cross-validated log-loss on the calibration set per method.
  double cv_logloss_identity = 0, cv_logloss_platt = 0, cv_logloss_isotonic = 0;
};

// Fits identity/Platt/isotonic on (margins, labels) and picks the lowest 5-fold CV log-loss
// (CV, not in-sample: isotonic would always win in-sample); the winner is refit on all rows.
CalibrationChoice choose_calibration(std::span<const double> margins,
                                     std::span<const float> labels, uint64_t seed);

// Parses what Calibration::write_json wrote. Errors: `invalid_manifest`.
core::Result<Calibration> calibration_from_json(std::string_view json);

// ---------------------------------------------------------------------------------------------
// Grades, percentiles, metrics
// ---------------------------------------------------------------------------------------------

// Calibrated-probability cut-offs: p >= a -> 'A', >= b -> 'B', >= c -> 'C', else 'D'.
struct GradeThresholds {
  double a = 0.5, b = 0.3, c = 0.1;
  char grade(double p) const { return p >= a ? 'A' : p >= b ? 'B' : p >= c ? 'C' : 'D'; }
};

// Shares of leads per grade on the held-out score distribution (top 10 % A, next 20 % B,
// next 30 % C, rest D).
inline constexpr std::array<double, 3> kGradeQuantiles = {0.90, 0.70, 0.40};

// 101 quantiles (0th..100th percentile) of scores; empty input gives an empty vector.
std::vector<double> score_quantiles(std::vector<double> scores);
// Percentile rank (0..100) of p in the distribution given by score_quantiles, interpolated.
double percentile_of(std::span<const double> quantiles, double p);
GradeThresholds grade_thresholds_from_quantiles(std::span<const double> quantiles);

struct DecileRow {
  int decile = 0;  // 1 = highest scores
  size_t count = 0, positives = 0;
  double min_score = 0, max_score = 0, mean_score = 0;
  double conversion_rate = 0;
  double lift = 0;  // conversion_rate / base rate
};

struct Confusion {
  char grade = 'A';  // predicted positive = this grade or better
  double threshold = 0;
  size_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision = 0, recall = 0;
};

struct Metrics {
  size_t rows = 0, positives = 0;
  double base_rate = 0;
  double roc_auc = 0, pr_auc = 0, log_loss = 0, brier = 0, ece = 0;
  std::vector<DecileRow> deciles;
  std::array<size_t, 4> grade_counts{};  // A, B, C, D
  std::array<Confusion, 3> confusion{};  // at grade A, B, C thresholds

  void write_json(core::JsonWriter& w) const;
};

// data::roc_auc on float labels.
double roc_auc(std::span<const double> scores, std::span<const float> labels);
// Average precision: sum over positives of precision at that rank (ties grouped).
double average_precision(std::span<const double> scores, std::span<const float> labels);
double log_loss(std::span<const double> probs, std::span<const float> labels);
double brier_score(std::span<const double> probs, std::span<const float> labels);
// Expected calibration error over 10 equal-width probability bins: sum_b (n_b/n)|mean_p - rate|.
double expected_calibration_error(std::span<const double> probs, std::span<const float> labels,
                                  int bins = 10);

// All metrics for calibrated probabilities `probs`.
Metrics compute_metrics(std::span<const double> probs, std::span<const float> labels,
                        const GradeThresholds& grades);

// Human table of a Metrics (for report.md and `leadscore evaluate`).
std::string format_metrics_table(const Metrics& m);

// ---------------------------------------------------------------------------------------------
// Training runs and artifacts (models/<version>/model.json, manifest.json, report.md)
// ---------------------------------------------------------------------------------------------

// A labelled feature matrix plus what the manifest must say about where it came from.
struct Dataset {
  Matrix x;
  std::vector<float> labels;  // 0/1 per row
  std::vector<FeatureSpec> features;
  // Per feature: category names by code (index = code; last entry is the implicit "other");
  // empty for numeric features.
  std::vector<std::vector<std::string>> category_names;
  std::string label_name = "label";
  std::string source_name;    // file name only (no directories) for the manifest
  std::string source_sha256;  // SHA-256 of the source file's bytes
  size_t rows_read = 0;       // data rows in the source (including skipped ones)
  size_t rows_skipped = 0;    // bad rows skipped (see docs/MODEL.md)
};

struct TrainOptions {
  SplitOptions split;
  TrainParams params;
  bool force = false;  // overwrite an existing models/<version>/
  ProgressFn progress;
};

struct TrainingRun {
  std::string version;
  std::filesystem::path dir;  // <out>/<version>
  TrainedBooster booster;
  CalibrationChoice calibration;
  Metrics train, valid, test;
  GradeThresholds grades;
  double seconds = 0;
};

// Splits, trains, calibrates on the validation split, measures every split and writes
// <out_root>/<version>/{model.json,manifest.json,report.md}, then points <out_root>/latest at
// it (a relative symlink). `schema_json` is embedded verbatim in the manifest (must be JSON).
// The version is the first 12 hex digits of SHA-256(model.json + "\n" + calibration JSON).
// Errors: those of stratified_split/train_booster, `model_exists` (directory exists, no
// force), `io_error`.
core::Result<TrainingRun> train_and_save(const Dataset& data, std::string_view schema_json,
                                         const std::filesystem::path& out_root,
                                         const TrainOptions& options);

// The parts of a model directory that scoring and evaluation need.
struct ModelArtifacts {
  std::string version;
  std::string model_json;     // XGBoost JSON, as saved
  std::string manifest_json;  // manifest.json, as saved
  std::string schema_json;    // the manifest's "schema" member, minified
  std::string metrics_json;   // the manifest's "metrics" member, minified
  std::string label_name;
  std::vector<FeatureSpec> features;
  std::vector<std::vector<std::string>> category_names;
  Calibration calibration;
  GradeThresholds grades;
  std::vector<double> score_quantiles;  // 101 calibrated-score quantiles (held-out rows)
};

// Reads and validates <dir>/manifest.json and <dir>/model.json: recomputes the version hash
// (`version_mismatch` if model.json or the calibration changed), checks the model's feature
// count, names and types (XGBoost's "c" is categorical, any other type numeric) against the
// manifest (`feature_mismatch`). Errors: `model_not_found`, `io_error`,
// `invalid_manifest`, `version_mismatch`, `feature_mismatch`.
core::Result<ModelArtifacts> load_artifacts(const std::filesystem::path& dir);

// Calibrated probabilities of XGBoost's predictor for every row of x.
core::Result<std::vector<double>> predict_calibrated(const ModelArtifacts& model, const Matrix& x);

// Per-column fingerprint written to the manifest (no row values, only aggregates).
void write_column_stats(core::JsonWriter& w, const Dataset& data);

// ---------------------------------------------------------------------------------------------
// CSV files with a schema
// ---------------------------------------------------------------------------------------------

struct LoadOptions {
  // false (default): rows that fail to parse are skipped and counted (the first few are
  // reported as line + field + code); true: the first bad row is an error.
  bool strict = false;
  size_t max_reported_errors = 5;
  // false (default): a header lacking any of the schema's feature columns is an error (a model
  // trained or measured with a whole column missing is silently useless); true: those columns
  // are NaN in every row and listed in LoadReport::missing_columns.
  bool allow_missing_columns = false;
};

struct LoadReport {
  std::vector<core::Error> first_errors;  // message starts with "line N: "; never a value
  std::vector<std::string> missing_columns;  // absent feature columns (allow_missing_columns)
};

// Reads a labelled CSV with `schema` into a Dataset (features in schema order, categories as
// codes with "other" last). Errors: `missing_label_column` (schema has a label the header
// lacks), `no_label_field` (schema without one), `missing_columns` (the header lacks feature
// columns; message lists them all, field = the first; unless allow_missing_columns),
// `csv_malformed`, `io_error`, the RecordParser::create codes, and with `strict` the row's
// parse error ("line N: ...").
core::Result<Dataset> load_dataset(const std::filesystem::path& csv, const core::Schema& schema,
                                   const LoadOptions& options = {}, LoadReport* report = nullptr);

// Category names per feature (index = code, "other" last) and XGBoost feature specs.
std::vector<FeatureSpec> feature_specs(const core::Schema& schema);
std::vector<std::vector<std::string>> category_names(const core::Schema& schema);

struct Evaluation {
  std::string version;
  Metrics metrics;
  size_t rows_skipped = 0;
};

// Scores a labelled CSV with a saved model (schema from its manifest) and measures it.
// Errors: load_artifacts's and load_dataset's, `feature_mismatch`.
core::Result<Evaluation> evaluate_csv(const std::filesystem::path& model_dir,
                                      const std::filesystem::path& csv,
                                      const LoadOptions& options = {},
                                      LoadReport* report = nullptr);

// ---------------------------------------------------------------------------------------------
// Scoring (the HTTP server's hot path)
// ---------------------------------------------------------------------------------------------

// One reason: a feature's TreeSHAP contribution to the margin (log-odds units).
struct Reason {
  int feature = 0;     // index in the schema's feature order
  float value = 0;     // the lead's encoded value (NaN = missing)
  float impact = 0;    // contribution to the margin; > 0 raises the score
};

struct ScoreResult {
  double intent_score = 0;  // calibrated probability of conversion, 0..1
  int score = 0;            // round(100 * intent_score)
  char grade = 'D';         // 'A'..'D' by the manifest's thresholds
  double percentile = 0;    // 0..100 against the held-out score distribution
  std::array<Reason, 3> reasons{};  // largest |impact| first
  int n_reasons = 0;
};

// A loaded model ready to score: schema, compiled forest, calibration, percentiles, grades.
// Immutable; share as std::shared_ptr<const Scorer> and swap the pointer on reload. All
// methods are const and thread-safe.
class Scorer {
 public:
  // Reads <dir>/manifest.json and <dir>/model.json, checks the version hash, builds the schema
  // from the manifest and the forest from model.json, and checks they agree (feature count,
  // names and order, types, objective). Errors: load_artifacts's, core::parse_schema's,
  // forest's `model_invalid`/`unsupported_model`, `feature_mismatch`.
  static core::Result<std::shared_ptr<const Scorer>> load(const std::filesystem::path& dir);

  const core::Schema& schema() const { return *schema_; }
  const std::shared_ptr<const core::Schema>& schema_ptr() const { return schema_; }
  const std::string& version() const { return artifacts_.version; }
  const forest::Forest& forest() const { return *forest_; }
  const Calibration& calibration() const { return artifacts_.calibration; }
  const GradeThresholds& grades() const { return artifacts_.grades; }
  // Minified JSON of the manifest's metrics (train/valid/test) for GET /v1/model.
  const std::string& metrics_json() const { return artifacts_.metrics_json; }
  const std::string& metrics() const { return metrics_json(); }
  // manifest.json as saved.
  const std::string& manifest_json() const { return artifacts_.manifest_json; }

  // Scores an encoded lead (lead.features must have schema().feature_count() entries). No
  // heap allocation once the calling thread has scored with this model before. Reasons
  // (TreeSHAP) cost far more than the score itself (docs/BENCHMARKS.md, "model"); with
  // `with_reasons` false, n_reasons is 0.
  void score(const core::Lead& lead, ScoreResult& out, bool with_reasons = true) const;
  void score_row(std::span<const float> row, ScoreResult& out, bool with_reasons = true) const;
  // Scores many encoded rows with reasons; out[i] equals score_row(*rows[i], out[i]). Faster
  // per row than score_row for batches (the forest reads each tree once per block of rows).
  void score_rows(std::span<const float* const> rows, ScoreResult* out) const;

 private:
  void score_only(std::span<const float> row, ScoreResult& out) const;
  Scorer() = default;
  ModelArtifacts artifacts_;
  std::shared_ptr<const core::Schema> schema_;
  std::shared_ptr<const forest::Forest> forest_;
  uint64_t id_ = 0;  // unique per loaded Scorer: keys the per-thread SHAP buffer
};

// Plain words for a reason: "<description>: <value in words> (+1.8)", e.g.
// "Site visit scheduled: yes (+1.8)". The number is the impact in log-odds, one decimal.
std::string reason_text(const Scorer& scorer, const Reason& reason);

// XGBoost's OpenMP threads spin while idle; with other processes on the cores (CI, a shared
// build box) that makes training 10-100x slower. libgomp reads OMP_WAIT_POLICY only at load,
// so when it is unset this sets it to PASSIVE and re-executes the process with the same
// arguments (from /proc/self/cmdline). Returns only if it did nothing (or exec failed).
void prefer_passive_openmp();

// ---------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------

// Lower-case hex SHA-256 (OpenSSL).
std::string sha256_hex(std::string_view bytes);
// Streams a file. Errors: `io_error`.
core::Result<std::string> sha256_file(const std::string& path);

}  // namespace model
