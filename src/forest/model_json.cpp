#include "forest/model_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include <simdjson.h>

namespace forest::detail {
namespace {

namespace od = simdjson::ondemand;
using core::Status;

// Categories at or above 2^24 can never match: XGBoost's InvalidCat sends them left.
constexpr int64_t kMaxCategory = 16777215;

tl::unexpected<core::Error> invalid(std::string message, std::string field = {}) {
  return core::make_error("model_invalid", std::move(message), std::move(field));
}

tl::unexpected<core::Error> json_error(const std::string& where, simdjson::error_code e) {
  return invalid(where + ": " + simdjson::error_message(e), where);
}

// A JSON number as float, decimal -> float directly with correct rounding like XGBoost's
// own JSON reader (from_chars, strtof fallback for out-of-range): going through double
// could round twice.
Status read_float(od::value& v, float& out, const std::string& where) {
  od::json_type type;
  if (auto e = v.type().get(type)) return json_error(where, e);
  if (type == od::json_type::string) {  // a non-finite number, quoted by quote_non_finite()
    std::string_view s;
    if (auto e = v.get_string().get(s)) return json_error(where, e);
    if (s == "NaN") {
      out = std::numeric_limits<float>::quiet_NaN();
    } else if (s == "Infinity" || s == "+Infinity") {
      out = std::numeric_limits<float>::infinity();
    } else if (s == "-Infinity") {
      out = -std::numeric_limits<float>::infinity();
    } else {
      return invalid(where + " must be a number", where);
    }
    return core::ok();
  }
  if (type != od::json_type::number) return invalid(where + " must be a number", where);
  const std::string_view token = v.raw_json_token();
  std::size_t end = 0;
  while (end < token.size() && (std::isdigit(static_cast<unsigned char>(token[end])) ||
                                token[end] == '-' || token[end] == '+' || token[end] == '.' ||
                                token[end] == 'e' || token[end] == 'E')) {
    ++end;
  }
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + end, out);
  if (ec == std::errc::result_out_of_range) {
    out = std::strtof(std::string(token.substr(0, end)).c_str(), nullptr);
  } else if (ec != std::errc() || ptr != token.data() + end) {
    return invalid(where + " is not a valid number", where);
  }
  return core::ok();
}

Status read_int(od::value& v, int64_t& out, const std::string& where) {
  od::json_type type;
  if (auto e = v.type().get(type)) return json_error(where, e);
  if (type == od::json_type::boolean) {  // default_left may be written as booleans
    bool b = false;
    if (auto e = v.get_bool().get(b)) return json_error(where, e);
    out = b ? 1 : 0;
    return core::ok();
  }
  if (type != od::json_type::number) return invalid(where + " must be an integer", where);
  if (v.get_int64().get(out)) return invalid(where + " must be an integer", where);
  return core::ok();
}

// XGBoost writes scalar parameters as strings ("num_feature": "30").
Status read_string(od::value& v, std::string_view& out, const std::string& where) {
  if (auto e = v.get_string().get(out)) {
    return invalid(where + " must be a string (" + simdjson::error_message(e) + ")", where);
  }
  return core::ok();
}

// A scalar parameter, written by XGBoost as a string ("30", "5E-1") or as a number.
template <typename T>
Status read_number_or_string(od::value& v, T& out, const std::string& where) {
  od::json_type type;
  if (auto e = v.type().get(type)) return json_error(where, e);
  if (type == od::json_type::number) {
    if constexpr (std::is_same_v<T, float>) {
      return read_float(v, out, where);
    } else {
      return read_int(v, out, where);
    }
  }
  std::string_view s;
  LS_TRY(read_string(v, s, where));
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if constexpr (std::is_same_v<T, float>) {
    if (ec == std::errc::result_out_of_range) {
      out = std::strtof(std::string(s).c_str(), nullptr);
      return core::ok();
    }
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return invalid(where + " must be a number, got \"" + std::string(s) + "\"", where);
  }
  return core::ok();
}

template <typename Fn>
Status for_each_field(od::value& v, const std::string& where, Fn&& fn) {
  od::object obj;
  if (auto e = v.get_object().get(obj)) return invalid(where + " must be an object", where);
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return json_error(where, e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return json_error(where, e);
    od::value value = field.value();
    LS_TRY(fn(key, value));
  }
  return core::ok();
}

template <typename Fn>
Status for_each_element(od::value& v, const std::string& where, Fn&& fn) {
  od::array arr;
  if (auto e = v.get_array().get(arr)) return invalid(where + " must be an array", where);
  std::size_t i = 0;
  for (auto element_result : arr) {
    od::value element;
    if (auto e = std::move(element_result).get(element)) return json_error(where, e);
    LS_TRY(fn(i, element));
    ++i;
  }
  return core::ok();
}

Status read_float_array(od::value& v, std::vector<float>& out, const std::string& where) {
  out.clear();
  return for_each_element(v, where, [&](std::size_t i, od::value& e) -> Status {
    float f = 0;
    LS_TRY(read_float(e, f, where + "[" + std::to_string(i) + "]"));
    out.push_back(f);
    return core::ok();
  });
}

Status read_int_array(od::value& v, std::vector<int64_t>& out, const std::string& where) {
  out.clear();
  return for_each_element(v, where, [&](std::size_t i, od::value& e) -> Status {
    int64_t x = 0;
    LS_TRY(read_int(e, x, where + "[" + std::to_string(i) + "]"));
    out.push_back(x);
    return core::ok();
  });
}

Status read_string_array(od::value& v, std::vector<std::string>& out, const std::string& where) {
  out.clear();
  return for_each_element(v, where, [&](std::size_t i, od::value& e) -> Status {
    std::string_view s;
    LS_TRY(read_string(e, s, where + "[" + std::to_string(i) + "]"));
    out.emplace_back(s);
    return core::ok();
  });
}

// A tree as read, before validation.
struct JsonTree {
  int64_t id = -1;
  int64_t num_nodes = -1;
  std::optional<std::vector<int64_t>> left, right, split_indices, default_left, split_type;
  std::optional<std::vector<float>> split_conditions, sum_hessian;
  std::vector<int64_t> cat_segments, cat_sizes, cat_nodes, categories;
};

Status read_tree(od::value& v, JsonTree& t, const std::string& where) {
  return for_each_field(v, where, [&](std::string_view key, od::value& value) -> Status {
    const std::string at = where + "." + std::string(key);
    auto ints = [&](std::optional<std::vector<int64_t>>& dst) -> Status {
      dst.emplace();
      return read_int_array(value, *dst, at);
    };
    auto floats = [&](std::optional<std::vector<float>>& dst) -> Status {
      dst.emplace();
      return read_float_array(value, *dst, at);
    };
    if (key == "id") return read_int(value, t.id, at);
    if (key == "tree_param") {
      return for_each_field(value, at, [&](std::string_view k, od::value& pv) -> Status {
        if (k == "num_nodes") return read_number_or_string(pv, t.num_nodes, at + ".num_nodes");
        if (k == "size_leaf_vector") {
          int64_t n = 0;
          LS_TRY(read_number_or_string(pv, n, at + ".size_leaf_vector"));
          if (n > 1) {
            return core::make_error("unsupported_model", "vector leaves are not supported",
                                    at + ".size_leaf_vector");
          }
        }
        return core::ok();
      });
    }
    if (key == "left_children") return ints(t.left);
    if (key == "right_children") return ints(t.right);
    if (key == "split_indices") return ints(t.split_indices);
    if (key == "default_left") return ints(t.default_left);
    if (key == "split_type") return ints(t.split_type);
    if (key == "split_conditions") return floats(t.split_conditions);
    if (key == "sum_hessian") return floats(t.sum_hessian);
    if (key == "categories_segments") return read_int_array(value, t.cat_segments, at);
    if (key == "categories_sizes") return read_int_array(value, t.cat_sizes, at);
    if (key == "categories_nodes") return read_int_array(value, t.cat_nodes, at);
    if (key == "categories") return read_int_array(value, t.categories, at);
    return core::ok();  // loss_changes, parents, base_weights: not needed for inference
  });
}

// Checks a tree read from JSON and converts it to a RawTree. Every node reachable from the
// root is visited exactly once (no cycles, no shared children), depth is bounded, feature
// indices are in range.
core::Result<RawTree> validate_tree(const JsonTree& t, std::size_t num_features,
                                    const std::string& where) {
  if (t.num_nodes < 1) return invalid(where + ".tree_param.num_nodes missing or < 1", where);
  const auto n = static_cast<std::size_t>(t.num_nodes);
  if (n > (std::size_t{1} << 26)) return invalid(where + " has too many nodes", where);
  auto check_size = [&](const auto& arr, const char* name) -> Status {
    if (!arr) return invalid(where + "." + name + " is missing", where + "." + name);
    if (arr->size() != n) {
      return invalid(where + "." + name + " has " + std::to_string(arr->size()) +
                         " entries, expected num_nodes=" + std::to_string(n),
                     where + "." + name);
    }
    return core::ok();
  };
  LS_TRY(check_size(t.left, "left_children"));
  LS_TRY(check_size(t.right, "right_children"));
  LS_TRY(check_size(t.split_indices, "split_indices"));
  LS_TRY(check_size(t.split_conditions, "split_conditions"));
  LS_TRY(check_size(t.default_left, "default_left"));
  LS_TRY(check_size(t.sum_hessian, "sum_hessian"));
  if (t.split_type) LS_TRY(check_size(t.split_type, "split_type"));

  RawTree r;
  r.left.assign(n, -1);
  r.right.assign(n, -1);
  r.feature.assign(n, 0);
  r.value = *t.split_conditions;
  r.cover = *t.sum_hessian;
  r.default_left.assign(n, 0);
  r.is_cat.assign(n, 0);
  r.cat_begin.assign(n, 0);
  r.cat_end.assign(n, 0);

  // Categorical bitsets, as XGBoost's RegTree::LoadCategoricalSplit reads them.
  const std::size_t n_cat_nodes = t.cat_nodes.size();
  if (t.cat_segments.size() != n_cat_nodes || t.cat_sizes.size() != n_cat_nodes) {
    return invalid(where + ": categories_nodes, categories_segments and categories_sizes "
                           "differ in length",
                   where + ".categories_nodes");
  }
  int64_t prev_node = -1;
  for (std::size_t i = 0; i < n_cat_nodes; ++i) {
    const int64_t node = t.cat_nodes[i];
    const int64_t beg = t.cat_segments[i];
    const int64_t size = t.cat_sizes[i];
    const std::string at = where + ".categories_nodes[" + std::to_string(i) + "]";
    if (node <= prev_node || node >= t.num_nodes) {
      return invalid(at + " is out of range or not increasing", at);
    }
    prev_node = node;
    if (beg < 0 || size <= 0 || beg > static_cast<int64_t>(t.categories.size()) ||
        size > static_cast<int64_t>(t.categories.size()) - beg) {
      return invalid(at + ": category segment is empty or outside `categories`", at);
    }
    r.cat_begin[node] = static_cast<uint32_t>(r.categories.size());
    for (int64_t j = beg; j < beg + size; ++j) {
      const int64_t c = t.categories[static_cast<std::size_t>(j)];
      if (c < 0 || c > kMaxCategory) {
        return invalid(where + ".categories[" + std::to_string(j) + "] = " + std::to_string(c) +
                           " is outside [0, 2^24)",
                       where + ".categories");
      }
      r.categories.push_back(static_cast<uint32_t>(c));
    }
    r.cat_end[node] = static_cast<uint32_t>(r.categories.size());
  }

  // Walk from the root; unreachable (deleted) nodes are ignored like XGBoost does.
  std::vector<uint8_t> seen(n, 0);
  std::vector<std::pair<int32_t, int>> stack{{0, 0}};
  seen[0] = 1;
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    r.depth = std::max(r.depth, depth);
    const int64_t l = (*t.left)[node];
    const int64_t rt = (*t.right)[node];
    const std::string at = where + " node " + std::to_string(node);
    if (l == -1) continue;  // leaf (XGBoost: IsLeaf() is left child == -1)
    if (depth >= Forest::kMaxDepth) {
      return core::make_error("unsupported_model",
                              where + " is deeper than " + std::to_string(Forest::kMaxDepth),
                              where);
    }
    if (l < 1 || l >= t.num_nodes || rt < 1 || rt >= t.num_nodes || l == rt) {
      return invalid(at + " has invalid children " + std::to_string(l) + ", " +
                         std::to_string(rt),
                     where + ".left_children");
    }
    if (seen[l] || seen[rt]) return invalid(at + ": nodes form a cycle or share a child", where);
    const int64_t f = (*t.split_indices)[node];
    if (f < 0 || static_cast<uint64_t>(f) >= num_features) {
      return invalid(at + " splits on feature " + std::to_string(f) + " but num_feature is " +
                         std::to_string(num_features),
                     where + ".split_indices");
    }
    const int64_t dl = (*t.default_left)[node];
    if (dl != 0 && dl != 1) return invalid(at + ": default_left must be 0 or 1", where);
    const int64_t st = t.split_type ? (*t.split_type)[node] : 0;
    if (st != 0 && st != 1) return invalid(at + ": split_type must be 0 or 1", where);
    seen[l] = seen[rt] = 1;
    r.left[node] = static_cast<int32_t>(l);
    r.right[node] = static_cast<int32_t>(rt);
    r.feature[node] = static_cast<uint32_t>(f);
    r.default_left[node] = static_cast<uint8_t>(dl);
    r.is_cat[node] = static_cast<uint8_t>(st);
    stack.emplace_back(static_cast<int32_t>(l), depth + 1);
    stack.emplace_back(static_cast<int32_t>(rt), depth + 1);
  }
  return r;
}

// XGBoost's JSON writer emits NaN, Infinity and -Infinity as bare tokens (e.g. the unused
// split_conditions of categorical nodes). Standard JSON has no such tokens, so they are
// quoted (outside strings only) before parsing; read_float turns them back into floats.
std::string quote_non_finite(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 64);
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < json.size()) {
        out.push_back(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      continue;
    }
    bool replaced = false;
    for (std::string_view token : {"NaN", "Infinity", "-Infinity", "+Infinity"}) {
      if (json.substr(i, token.size()) == token) {
        out.push_back('"');
        out.append(token);
        out.push_back('"');
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(c);
  }
  return out;
}

}  // namespace

core::Result<RawModel> parse_model_json(std::string_view json) {
  simdjson::padded_string padded(quote_non_finite(json));
  {
    // Full validation first: the on-demand pass below then only ever sees well-formed JSON.
    simdjson::dom::parser dom;
    simdjson::dom::element root;
    if (auto e = dom.parse(padded).get(root)) {
      return invalid(std::string("model is not valid JSON: ") + simdjson::error_message(e));
    }
  }
  od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return json_error("model", e);
  od::value root;
  if (auto e = doc.get_value().get(root)) return json_error("model", e);

  RawModel m;
  std::optional<std::string> objective, booster;
  std::optional<int64_t> num_feature, num_trees;
  std::optional<float> base_score;
  int64_t num_class = 0, num_target = 1;
  std::vector<JsonTree> trees;
  std::vector<int64_t> tree_info;
  bool saw_learner = false;

  LS_TRY(for_each_field(root, "model", [&](std::string_view key, od::value& v) -> Status {
    if (key != "learner") return core::ok();
    saw_learner = true;
    return for_each_field(v, "learner", [&](std::string_view lk, od::value& lv) -> Status {
      if (lk == "feature_names") return read_string_array(lv, m.feature_names, "learner.feature_names");
      if (lk == "feature_types") return read_string_array(lv, m.feature_types, "learner.feature_types");
      if (lk == "objective") {
        return for_each_field(lv, "learner.objective", [&](std::string_view k, od::value& ov) -> Status {
          if (k != "name") return core::ok();
          std::string_view s;
          LS_TRY(read_string(ov, s, "learner.objective.name"));
          objective = std::string(s);
          return core::ok();
        });
      }
      if (lk == "learner_model_param") {
        const std::string at = "learner.learner_model_param";
        return for_each_field(lv, at, [&](std::string_view k, od::value& pv) -> Status {
          if (k == "base_score") {
            float f = 0;
            LS_TRY(read_number_or_string(pv, f, at + ".base_score"));
            base_score = f;
          } else if (k == "num_feature") {
            int64_t x = 0;
            LS_TRY(read_number_or_string(pv, x, at + ".num_feature"));
            num_feature = x;
          } else if (k == "num_class") {
            LS_TRY(read_number_or_string(pv, num_class, at + ".num_class"));
          } else if (k == "num_target") {
            LS_TRY(read_number_or_string(pv, num_target, at + ".num_target"));
          }
          return core::ok();
        });
      }
      if (lk == "gradient_booster") {
        const std::string at = "learner.gradient_booster";
        return for_each_field(lv, at, [&](std::string_view k, od::value& gv) -> Status {
          if (k == "name") {
            std::string_view s;
            LS_TRY(read_string(gv, s, at + ".name"));
            booster = std::string(s);
            return core::ok();
          }
          if (k != "model") return core::ok();
          const std::string mat = at + ".model";
          return for_each_field(gv, mat, [&](std::string_view mk, od::value& mv) -> Status {
            if (mk == "gbtree_model_param") {
              return for_each_field(mv, mat + ".gbtree_model_param",
                                    [&](std::string_view pk, od::value& pv) -> Status {
                                      if (pk != "num_trees") return core::ok();
                                      int64_t x = 0;
                                      LS_TRY(read_number_or_string(pv, x, mat + ".gbtree_model_param.num_trees"));
                                      num_trees = x;
                                      return core::ok();
                                    });
            }
            if (mk == "tree_info") return read_int_array(mv, tree_info, mat + ".tree_info");
            if (mk == "trees") {
              return for_each_element(mv, mat + ".trees", [&](std::size_t i, od::value& tv) -> Status {
                trees.emplace_back();
                return read_tree(tv, trees.back(), mat + ".trees[" + std::to_string(i) + "]");
              });
            }
            return core::ok();
          });
        });
      }
      return core::ok();
    });
  }));

  if (!saw_learner) return invalid("model has no \"learner\" object", "learner");
  if (!booster) return invalid("learner.gradient_booster.name is missing", "learner.gradient_booster");
  if (*booster != "gbtree") {
    return core::make_error("unsupported_model",
                            "booster \"" + *booster + "\" is not supported (only gbtree)",
                            "learner.gradient_booster.name");
  }
  if (!objective) return invalid("learner.objective.name is missing", "learner.objective");
  if (*objective == "binary:logistic") {
    m.objective = Objective::kBinaryLogistic;
  } else if (*objective == "reg:squarederror") {
    m.objective = Objective::kRegSquaredError;
  } else {
    return core::make_error("unsupported_model",
                            "objective \"" + *objective +
                                "\" is not supported (binary:logistic, reg:squarederror)",
                            "learner.objective.name");
  }
  if (num_class > 1 || num_target != 1) {
    return core::make_error("unsupported_model", "multi-class / multi-target models are not supported",
                            "learner.learner_model_param.num_class");
  }
  if (!num_feature || *num_feature < 0 || *num_feature > (int64_t{1} << 28)) {
    return invalid("learner.learner_model_param.num_feature is missing or out of range",
                   "learner.learner_model_param.num_feature");
  }
  m.num_features = static_cast<std::size_t>(*num_feature);
  if (!base_score) {
    return invalid("learner.learner_model_param.base_score is missing",
                   "learner.learner_model_param.base_score");
  }
  m.base_score = *base_score;
  if (m.objective == Objective::kBinaryLogistic && !(m.base_score > 0.0f && m.base_score < 1.0f)) {
    return invalid("base_score must be in (0,1) for binary:logistic",
                   "learner.learner_model_param.base_score");
  }
  if (!std::isfinite(m.base_score)) {
    return invalid("base_score must be finite", "learner.learner_model_param.base_score");
  }
  if (!m.feature_names.empty() && m.feature_names.size() != m.num_features) {
    return invalid("learner.feature_names has " + std::to_string(m.feature_names.size()) +
                       " names but num_feature is " + std::to_string(m.num_features),
                   "learner.feature_names");
  }
  if (!m.feature_types.empty() && m.feature_types.size() != m.num_features) {
    return invalid("learner.feature_types has " + std::to_string(m.feature_types.size()) +
                       " entries but num_feature is " + std::to_string(m.num_features),
                   "learner.feature_types");
  }
  const std::string trees_at = "learner.gradient_booster.model.trees";
  if (num_trees && *num_trees != static_cast<int64_t>(trees.size())) {
    return invalid("gbtree_model_param.num_trees is " + std::to_string(*num_trees) + " but " +
                       std::to_string(trees.size()) + " trees are stored",
                   trees_at);
  }
  if (tree_info.size() != trees.size()) {
    return invalid("tree_info has " + std::to_string(tree_info.size()) + " entries for " +
                       std::to_string(trees.size()) + " trees",
                   "learner.gradient_booster.model.tree_info");
  }
  for (int64_t g : tree_info) {
    if (g != 0) {
      return core::make_error("unsupported_model", "tree_info assigns a tree to output group " +
                                                       std::to_string(g),
                              "learner.gradient_booster.model.tree_info");
    }
  }
  // XGBoost places tree t at position trees[t].id.
  m.trees.resize(trees.size());
  std::vector<uint8_t> placed(trees.size(), 0);
  for (std::size_t i = 0; i < trees.size(); ++i) {
    const std::string at = trees_at + "[" + std::to_string(i) + "]";
    const int64_t id = trees[i].id;
    if (id < 0 || id >= static_cast<int64_t>(trees.size()) || placed[id]) {
      return invalid(at + ".id is missing, out of range or duplicated", at + ".id");
    }
    placed[id] = 1;
    LS_ASSIGN_OR_RETURN(m.trees[id], validate_tree(trees[i], m.num_features, at));
  }
  return m;
}

}  // namespace forest::detail
