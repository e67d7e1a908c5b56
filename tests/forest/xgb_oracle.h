#pragma once
// Test/bench helper: trains and predicts with XGBoost's C API (the oracle for forest).
// Throws std::runtime_error on any XGBoost failure (test code only).

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xgboost/c_api.h>

namespace xgb_oracle {

inline void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + XGBGetLastError());
}

class DMatrix {
 public:
  // Row-major float32 matrix; NaN = missing. feature_types: "q" numeric, "c" categorical.
  DMatrix(const std::vector<float>& x, std::size_t rows, std::size_t cols,
          const std::vector<float>* labels = nullptr,
          const std::vector<std::string>* feature_types = nullptr) {
    check(XGDMatrixCreateFromMat(x.data(), rows, cols, std::nanf(""), &h_), "XGDMatrixCreateFromMat");
    if (labels) {
      check(XGDMatrixSetFloatInfo(h_, "label", labels->data(), labels->size()), "label");
    }
    if (feature_types) {
      std::vector<const char*> ptrs;
      for (const auto& t : *feature_types) ptrs.push_back(t.c_str());
      check(XGDMatrixSetStrFeatureInfo(h_, "feature_type", ptrs.data(), ptrs.size()),
            "feature_type");
    }
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  ~DMatrix() { XGDMatrixFree(h_); }
  DMatrixHandle handle() const { return h_; }

 private:
  DMatrixHandle h_ = nullptr;
};

class Booster {
 public:
  using Params = std::vector<std::pair<std::string, std::string>>;

  Booster(const DMatrix& train, const Params& params, int rounds) {
    DMatrixHandle d = train.handle();
    check(XGBoosterCreate(&d, 1, &h_), "XGBoosterCreate");
    for (const auto& [k, v] : params) {
      check(XGBoosterSetParam(h_, k.c_str(), v.c_str()), k.c_str());
    }
    for (int i = 0; i < rounds; ++i) check(XGBoosterUpdateOneIter(h_, i, d), "UpdateOneIter");
  }
  // Loads a saved model (JSON or UBJSON) for prediction.
  explicit Booster(const std::string& model_path) {
    check(XGBoosterCreate(nullptr, 0, &h_), "XGBoosterCreate");
    check(XGBoosterLoadModel(h_, model_path.c_str()), "XGBoosterLoadModel");
  }
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  ~Booster() { XGBoosterFree(h_); }
  BoosterHandle handle() const { return h_; }

  void save(const std::string& path) const {
    check(XGBoosterSaveModel(h_, path.c_str()), "XGBoosterSaveModel");
  }

  // type: 0 = transformed prediction, 1 = margin, 2 = SHAP contributions.
  std::vector<float> predict(const DMatrix& d, int type) const {
    const std::string config = "{\"type\": " + std::to_string(type) +
                               ", \"training\": false, \"iteration_begin\": 0, "
                               "\"iteration_end\": 0, \"strict_shape\": false}";
    bst_ulong const* shape = nullptr;
    bst_ulong dim = 0;
    float const* result = nullptr;
    check(XGBoosterPredictFromDMatrix(h_, d.handle(), config.c_str(), &shape, &dim, &result),
          "XGBoosterPredictFromDMatrix");
    std::size_t n = 1;
    for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
    return {result, result + n};
  }

  // Inplace prediction (XGBoosterPredictFromDense), type 0 or 1; `nthread` 0 = all.
  const float* predict_dense(const float* x, std::size_t rows, std::size_t cols, int type,
                             std::size_t* n_out = nullptr) const {
    const std::string values =
        "{\"data\": [" + std::to_string(reinterpret_cast<uintptr_t>(x)) +
        ", true], \"shape\": [" + std::to_string(rows) + ", " + std::to_string(cols) +
        "], \"typestr\": \"<f4\", \"version\": 3}";
    const std::string config = "{\"type\": " + std::to_string(type) +
                               ", \"training\": false, \"iteration_begin\": 0, "
                               "\"iteration_end\": 0, \"strict_shape\": false, "
                               "\"missing\": NaN, \"cache_id\": 0}";
    bst_ulong const* shape = nullptr;
    bst_ulong dim = 0;
    float const* result = nullptr;
    check(XGBoosterPredictFromDense(h_, values.c_str(), config.c_str(), nullptr, &shape, &dim,
                                    &result),
          "XGBoosterPredictFromDense");
    if (n_out) {
      std::size_t n = 1;
      for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
      *n_out = n;
    }
    return result;
  }

 private:
  BoosterHandle h_ = nullptr;
};

// Random training data with signal: numeric features of different shapes (normal, skewed,
// integer counts) and categorical codes 0..n_categories-1 in the last n_cat columns.
struct Dataset {
  std::vector<float> x;
  std::vector<float> y;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t n_cat = 0;
  int n_categories = 0;
  std::vector<std::string> types;
};

inline float numeric_value(std::mt19937_64& rng, std::size_t col) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  switch (col % 4) {
    case 0: return normal(rng);
    case 1: return std::exp(normal(rng)) * 10.0f;                                   // skewed
    case 2: return static_cast<float>(std::uniform_int_distribution<int>(0, 12)(rng));  // counts
    default: return std::uniform_real_distribution<float>(-100.0f, 100.0f)(rng);
  }
}

inline Dataset make_dataset(std::size_t rows, std::size_t cols, std::size_t n_cat,
                            int n_categories, double missing_rate, bool regression,
                            uint64_t seed) {
  Dataset d;
  d.rows = rows;
  d.cols = cols;
  d.n_cat = n_cat;
  d.n_categories = n_categories;
  d.x.resize(rows * cols);
  d.y.resize(rows);
  for (std::size_t c = 0; c < cols; ++c) d.types.push_back(c >= cols - n_cat ? "c" : "q");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> cat_effect(static_cast<std::size_t>(n_categories) * (n_cat + 1));
  for (auto& e : cat_effect) e = noise(rng);
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = &d.x[r * cols];
    for (std::size_t c = 0; c < cols; ++c) {
      if (c >= cols - n_cat) {
        row[c] = static_cast<float>(std::uniform_int_distribution<int>(0, n_categories - 1)(rng));
      } else {
        row[c] = numeric_value(rng, c);
      }
    }
    // Latent score from clean values, then missingness.
    float s = 0.0f;
    for (std::size_t c = 0; c < cols - n_cat; ++c) {
      const float v = row[c];
      switch (c % 4) {
        case 0: s += (c % 8 == 0 ? 1.0f : -0.5f) * v; break;
        case 1: s += std::log1p(v) * 0.3f; break;
        case 2: s += v > 5.0f ? 0.7f : -0.2f; break;
        default: s += std::sin(v / 20.0f); break;
      }
    }
    if (cols - n_cat >= 2) s += row[0] * row[1] * 0.5f;
    for (std::size_t c = cols - n_cat; c < cols; ++c) {
      s += cat_effect[(c - (cols - n_cat)) * static_cast<std::size_t>(n_categories) +
                      static_cast<std::size_t>(row[c])];
    }
    s += noise(rng) * 0.5f;
    d.y[r] = regression ? s : (u(rng) < 1.0 / (1.0 + std::exp(-s)) ? 1.0f : 0.0f);
    for (std::size_t c = 0; c < cols; ++c) {
      if (u(rng) < missing_rate) row[c] = std::nanf("");
    }
  }
  return d;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace xgb_oracle
