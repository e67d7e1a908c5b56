#pragma once
// Private: RAII handles over XGBoost's C API and the conversion of its errors into core::Error.

#include <xgboost/c_api.h>

#include <span>
#include <string>
#include <string_view>

#include "model/model.h"

namespace model::xgb {

// Turns a non-zero XGBoost return code into `xgboost_error` with XGBGetLastError's text.
core::Status check(int rc, std::string_view what);

class DMatrix {
 public:
  DMatrix() = default;
  ~DMatrix();
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  DMatrix(DMatrix&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }

  // Dense matrix with NaN as missing, feature names and types ("q"/"c") set.
  static core::Result<DMatrix> create(const Matrix& x, std::span<const FeatureSpec> features,
                                      std::span<const float> labels = {});
  DMatrixHandle get() const { return h_; }

 private:
  DMatrixHandle h_ = nullptr;
};

class Booster {
 public:
  Booster() = default;
  ~Booster();
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  Booster(Booster&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  Booster& operator=(Booster&& o) noexcept;

  static core::Result<Booster> create(std::span<const DMatrixHandle> cache);
  static core::Result<Booster> from_json(std::string_view json);
  explicit Booster(BoosterHandle h) : h_(h) {}
  BoosterHandle get() const { return h_; }

  // Records feature names and types ("q"/"c") in the booster, so that save_json's model.json
  // carries them (XGBoost does not copy them from the training DMatrix).
  core::Status set_features(std::span<const FeatureSpec> features);
  core::Result<std::string> save_json() const;

 private:
  BoosterHandle h_ = nullptr;
};

// Routes XGBoost's log lines to stderr (once per process).
void install_log_callback();

}  // namespace model::xgb
