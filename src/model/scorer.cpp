// Scorer: the model as the HTTP server uses it (forest margin -> calibration -> score, grade,
// percentile, TreeSHAP reasons).
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "model/model.h"

namespace model {
namespace fs = std::filesystem;

core::Result<std::shared_ptr<const Scorer>> Scorer::load(const fs::path& dir) {
  LS_ASSIGN_OR_RETURN(ModelArtifacts artifacts, load_artifacts(dir));
  LS_ASSIGN_OR_RETURN(auto schema, core::parse_schema(artifacts.schema_json));
  LS_ASSIGN_OR_RETURN(auto forest, forest::Forest::load_json(artifacts.model_json));

  const auto specs = feature_specs(*schema);
  auto mismatch = [](const std::string& what, const std::string& field) {
    return core::make_error("feature_mismatch", what, field);
  };
  if (specs.size() != artifacts.features.size()) {
    return mismatch("the manifest's schema has " + std::to_string(specs.size()) +
                        " features but its feature list has " +
                        std::to_string(artifacts.features.size()),
                    "features");
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name != artifacts.features[i].name ||
        specs[i].categorical != artifacts.features[i].categorical) {
      return mismatch("feature " + std::to_string(i) + " is '" + specs[i].name +
                          "' in the schema but '" + artifacts.features[i].name +
                          "' in the manifest's feature list",
                      specs[i].name);
    }
  }
  if (forest->num_features() != specs.size()) {
    return mismatch("model.json has " + std::to_string(forest->num_features()) +
                        " features, the schema " + std::to_string(specs.size()),
                    "features");
  }
  const auto& names = forest->feature_names();
  for (size_t i = 0; i < names.size() && i < specs.size(); ++i) {
    if (names[i] != specs[i].name) {
      return mismatch("feature " + std::to_string(i) + " is '" + names[i] +
                          "' in model.json but '" + specs[i].name + "' in the schema",
                      specs[i].name);
    }
  }
  if (forest->objective() != forest::Objective::kBinaryLogistic) {
    return core::make_error("unsupported_model", "model.json is not binary:logistic", "model");
  }

  static std::atomic<uint64_t> next_id{1};
  std::shared_ptr<Scorer> s(new Scorer());
  s->artifacts_ = std::move(artifacts);
  s->schema_ = std::move(schema);
  s->forest_ = std::move(forest);
  s->id_ = next_id.fetch_add(1);
  return std::shared_ptr<const Scorer>(std::move(s));
}

void Scorer::score(const core::Lead& lead, ScoreResult& out, bool with_reasons) const {
  score_row(lead.features, out, with_reasons);
}

void Scorer::score_only(std::span<const float> row, ScoreResult& out) const {
  const double margin = forest_->predict_margin(row);
  const double p = artifacts_.calibration.apply(margin);
  out.intent_score = p;
  out.score = static_cast<int>(std::clamp(std::lround(p * 100), 0L, 100L));
  out.grade = artifacts_.grades.grade(p);
  out.percentile = percentile_of(artifacts_.score_quantiles, p);
  out.n_reasons = 0;
}

void Scorer::score_rows(std::span<const float* const> rows, ScoreResult* out) const {
  const std::size_t n_features = forest_->num_features();
  constexpr std::size_t k = std::tuple_size_v<decltype(ScoreResult::reasons)>;
  thread_local std::vector<forest::Contribution> top;
  thread_local std::vector<std::size_t> counts;
  if (top.size() < rows.size() * k) top.resize(rows.size() * k);
  if (counts.size() < rows.size()) counts.resize(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) score_only({rows[i], n_features}, out[i]);
  forest_->top_contributions_batch(rows, k, top.data(), counts.data());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < counts[i]; ++j) {
      const auto& c = top[i * k + j];
      out[i].reasons[out[i].n_reasons++] = Reason{static_cast<int>(c.feature), rows[i][c.feature], c.value};
    }
  }
}

void Scorer::score_row(std::span<const float> row, ScoreResult& out, bool with_reasons) const {
  score_only(row, out);
  if (!with_reasons) return;

  // One SHAP buffer per thread and model, made on the thread's first score with this model.
  struct ThreadBuffer {
    uint64_t owner = 0;
    std::unique_ptr<forest::ShapBuffer> buffer;
  };
  thread_local ThreadBuffer tb;
  if (tb.owner != id_) {
    tb.buffer = std::make_unique<forest::ShapBuffer>(*forest_);
    tb.owner = id_;
  }
  const auto top = forest_->top_contributions(row, out.reasons.size(), *tb.buffer);
  for (const auto& c : top) {
    if (out.n_reasons == static_cast<int>(out.reasons.size())) break;
    out.reasons[out.n_reasons++] = Reason{static_cast<int>(c.feature), row[c.feature], c.value};
  }
}

std::string reason_text(const Scorer& scorer, const Reason& r) {
  const auto& schema = scorer.schema();
  const auto i = static_cast<size_t>(r.feature);
  const auto& field = schema.feature_field(i);
  // "%+.1f" without printf (a tenth of a microsecond per reason on the request path).
  char impact[32];
  char* p = impact;
  const double v = static_cast<double>(r.impact);
  if (!std::signbit(v)) *p++ = '+';
  p = std::to_chars(p, impact + sizeof impact, v, std::chars_format::fixed, 1).ptr;
  const std::string& name = field.description.empty() ? field.name : field.description;
  const std::string value = core::describe_feature_value(schema, i, r.value);
  std::string out;
  out.reserve(name.size() + value.size() + static_cast<size_t>(p - impact) + 5);
  out.append(name).append(": ").append(value).append(" (").append(impact, p).append(")");
  return out;
}

}  // namespace model
