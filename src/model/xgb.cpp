#include "model/xgb.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

namespace model {

void prefer_passive_openmp() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<char*> argv;
  for (size_t at = 0; at < cmdline.size();) {
    argv.push_back(const_cast<char*>(cmdline.c_str() + at));
    at = cmdline.find('\0', at);
    if (at == std::string::npos) break;
    ++at;
  }
  if (argv.empty()) return;
  argv.push_back(nullptr);
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv.data());
}

}  // namespace model

namespace model::xgb {

namespace {

// Feature names and XGBoost type strings as the C API's arrays of C strings (pointing into
// `features`, which must outlive this).
struct FeatureInfo {
  explicit FeatureInfo(std::span<const FeatureSpec> features) {
    for (const auto& f : features) {
      names.push_back(f.name.c_str());
      types.push_back(f.categorical ? "c" : "q");
    }
  }
  std::vector<const char*> names, types;
};

}  // namespace

core::Status check(int rc, std::string_view what) {
  if (rc == 0) return core::ok();
  return core::make_error("xgboost_error", std::string(what) + ": " + XGBGetLastError());
}

void install_log_callback() {
  static std::once_flag once;
  std::call_once(once, [] {
    // XGBoost logs to stdout by default; keep stdout for our own output (JSON of evaluate).
    XGBRegisterLogCallback([](const char* msg) { std::fprintf(stderr, "xgboost: %s\n", msg); });
    XGBSetGlobalConfig(R"({"verbosity":1})");
  });
}

DMatrix::~DMatrix() {
  if (h_) XGDMatrixFree(h_);
}

core::Result<DMatrix> DMatrix::create(const Matrix& x, std::span<const FeatureSpec> features,
                                      std::span<const float> labels) {
  install_log_callback();
  if (features.size() != x.cols) {
    return core::make_error("invalid_params", "feature list does not match matrix columns");
  }
  DMatrix m;
  // XGDMatrixCreateFromMat with missing = NaN keeps NaN as "missing" (default branch).
  LS_TRY(check(XGDMatrixCreateFromMat(x.values.data(), x.rows, x.cols, std::nanf(""), &m.h_),
               "XGDMatrixCreateFromMat"));
  if (!features.empty()) {
    FeatureInfo info(features);
    LS_TRY(check(XGDMatrixSetStrFeatureInfo(m.h_, "feature_name", info.names.data(),
                                            info.names.size()),
                 "feature_name"));
    LS_TRY(check(XGDMatrixSetStrFeatureInfo(m.h_, "feature_type", info.types.data(),
                                            info.types.size()),
                 "feature_type"));
  }
  if (!labels.empty()) {
    LS_TRY(check(XGDMatrixSetFloatInfo(m.h_, "label", labels.data(), labels.size()), "label"));
  }
  return m;
}

Booster::~Booster() {
  if (h_) XGBoosterFree(h_);
}

Booster& Booster::operator=(Booster&& o) noexcept {
  if (this != &o) {
    if (h_) XGBoosterFree(h_);
    h_ = o.h_;
    o.h_ = nullptr;
  }
  return *this;
}

core::Result<Booster> Booster::create(std::span<const DMatrixHandle> cache) {
  install_log_callback();
  Booster b;
  LS_TRY(check(XGBoosterCreate(cache.data(), cache.size(), &b.h_), "XGBoosterCreate"));
  return b;
}

core::Result<Booster> Booster::from_json(std::string_view json) {
  LS_ASSIGN_OR_RETURN(Booster b, create({}));
  LS_TRY(check(XGBoosterLoadModelFromBuffer(b.h_, json.data(), json.size()),
               "XGBoosterLoadModelFromBuffer"));
  return b;
}

core::Status Booster::set_features(std::span<const FeatureSpec> features) {
  FeatureInfo info(features);  // not const: the C API takes const char**
  LS_TRY(check(XGBoosterSetStrFeatureInfo(h_, "feature_name", info.names.data(), info.names.size()),
               "XGBoosterSetStrFeatureInfo feature_name"));
  LS_TRY(check(XGBoosterSetStrFeatureInfo(h_, "feature_type", info.types.data(), info.types.size()),
               "XGBoosterSetStrFeatureInfo feature_type"));
  return core::ok();
}

core::Result<std::string> Booster::save_json() const {
  bst_ulong len = 0;
  const char* data = nullptr;
  LS_TRY(check(XGBoosterSaveModelToBuffer(h_, R"({"format":"json"})", &len, &data),
               "XGBoosterSaveModelToBuffer"));
  return std::string(data, len);
}

}  // namespace model::xgb
