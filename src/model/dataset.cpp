// CSV + schema -> Dataset (through data::CsvReader and core::RecordParser), and evaluation of
// a saved model on a labelled CSV.
#include <memory>

#include "data/data.h"
#include "model/model.h"

namespace model {
namespace fs = std::filesystem;

std::vector<FeatureSpec> feature_specs(const core::Schema& schema) {
  std::vector<FeatureSpec> out;
  for (size_t i = 0; i < schema.feature_count(); ++i) {
    const auto& f = schema.feature_field(i);
    out.push_back({f.name, f.type == core::FieldType::Category});
  }
  return out;
}

std::vector<std::vector<std::string>> category_names(const core::Schema& schema) {
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < schema.feature_count(); ++i) {
    const auto& f = schema.feature_field(i);
    std::vector<std::string> names;
    if (f.type == core::FieldType::Category) {
      names = f.categories;
      names.emplace_back("other");
    }
    out.push_back(std::move(names));
  }
  return out;
}

core::Result<Dataset> load_dataset(const fs::path& csv, const core::Schema& schema,
                                   const LoadOptions& options, LoadReport* report) {
  const core::FieldSpec* label = schema.label_field();
  if (label == nullptr) {
    return core::make_error("no_label_field",
                            "schema '" + schema.name() + "' has no field with role label");
  }
  LS_ASSIGN_OR_RETURN(auto reader, data::CsvReader::open(csv.string()));
  LS_TRY(reader.read_header());
  if (reader.column(label->name) < 0) {
    return core::make_error("missing_label_column",
                            csv.string() + ": the label column '" + label->name +
                                "' is not in the header",
                            label->name);
  }
  // RecordParser owns a shared_ptr; the caller's schema outlives this call, so alias it.
  std::shared_ptr<const core::Schema> schema_ref(std::shared_ptr<const core::Schema>{}, &schema);
  core::RecordParser::Options popt;
  popt.require_label = true;
  LS_ASSIGN_OR_RETURN(auto parser, core::RecordParser::create(schema_ref, reader.header(), popt));
  if (const auto& absent = parser.absent_features(); !absent.empty()) {
    if (!options.allow_missing_columns) {
      std::string names;
      for (const auto& n : absent) names += (names.empty() ? "'" : ", '") + n + "'";
      return core::make_error(
          "missing_columns",
          csv.string() + ": the header lacks " + std::to_string(absent.size()) + " of the " +
              std::to_string(schema.feature_count()) + " feature columns of schema '" +
              schema.name() + "': " + names +
              " (rename the columns to match, or --allow-missing-columns to treat them as missing)",
          absent.front());
    }
    if (report) report->missing_columns = absent;
  }

  Dataset d;
  d.features = feature_specs(schema);
  d.category_names = category_names(schema);
  d.label_name = label->name;
  d.source_name = csv.filename().string();
  d.x.cols = schema.feature_count();
  while (true) {
    LS_ASSIGN_OR_RETURN(bool more, reader.next());
    if (!more) break;
    ++d.rows_read;
    auto lead = parser.parse(reader.record());
    if (!lead) {
      core::Error e = std::move(lead).error();
      e.message = "line " + std::to_string(reader.record_line()) + ": " + e.message +
                  (e.field.empty() ? "" : " (field " + e.field + ", " + e.code + ")");
      if (options.strict) return tl::unexpected<core::Error>(std::move(e));
      ++d.rows_skipped;
      if (report && report->first_errors.size() < options.max_reported_errors) {
        report->first_errors.push_back(std::move(e));
      }
      continue;
    }
    d.x.values.insert(d.x.values.end(), lead->features.begin(), lead->features.end());
    d.labels.push_back(*lead->label);
    ++d.x.rows;
  }
  LS_ASSIGN_OR_RETURN(d.source_sha256, sha256_file(csv.string()));
  return d;
}

core::Result<Evaluation> evaluate_csv(const fs::path& model_dir, const fs::path& csv,
                                      const LoadOptions& options, LoadReport* report) {
  LS_ASSIGN_OR_RETURN(auto model, load_artifacts(model_dir));
  LS_ASSIGN_OR_RETURN(auto schema, core::parse_schema(model.schema_json));
  const auto specs = feature_specs(*schema);
  if (specs.size() != model.features.size()) {
    return core::make_error("feature_mismatch", "the manifest's schema and feature list disagree",
                            "features");
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name != model.features[i].name ||
        specs[i].categorical != model.features[i].categorical) {
      return core::make_error("feature_mismatch",
                              "feature " + std::to_string(i) + " differs between the manifest's "
                              "schema and feature list",
                              specs[i].name);
    }
  }
  LS_ASSIGN_OR_RETURN(auto data, load_dataset(csv, *schema, options, report));
  if (data.x.rows == 0) {
    return core::make_error("too_few_rows", csv.string() + " has no usable labelled rows");
  }
  LS_ASSIGN_OR_RETURN(auto probs, predict_calibrated(model, data.x));
  Evaluation e;
  e.version = model.version;
  e.rows_skipped = data.rows_skipped;
  e.metrics = compute_metrics(probs, data.labels, model.grades);
  return e;
}

}  // namespace model
