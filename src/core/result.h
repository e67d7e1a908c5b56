#pragma once
// Errors as values across module boundaries (STYLE.md): Result<T> and Status.

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace core {

// A user- or system-caused failure. `code` is a stable machine code used by the API
// (e.g. "field_out_of_range"); `message` is for humans; `field` names the offending
// input field when there is one (empty otherwise).
struct Error {
  std::string code;
  std::string message;
  std::string field;
};

inline tl::unexpected<Error> make_error(std::string code, std::string message,
                                        std::string field = {}) {
  return tl::unexpected<Error>(Error{std::move(code), std::move(message), std::move(field)});
}

// Result<T> holds a T or an Error. [[nodiscard]]: dropping one fails the build under -Werror.
template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  Result(Base b) : Base(std::move(b)) {}  // NOLINT(google-explicit-constructor)

  const Error& error() const& { return Base::error(); }
  Error&& error() && { return std::move(Base::error()); }
};

using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace core

#define LS_CONCAT_INNER(a, b) a##b
#define LS_CONCAT(a, b) LS_CONCAT_INNER(a, b)

// LS_TRY(expr): evaluate a Status/Result; on error return the error from this function.
#define LS_TRY(expr)                                                  \
  do {                                                                \
    auto&& ls_try_tmp_ = (expr);                                      \
    if (!ls_try_tmp_) return tl::unexpected<::core::Error>(std::move(ls_try_tmp_).error()); \
  } while (0)

// LS_ASSIGN_OR_RETURN(auto x, expr): bind the value of a Result or return its error.
#define LS_ASSIGN_OR_RETURN(lhs, expr) \
  LS_ASSIGN_OR_RETURN_IMPL(LS_CONCAT(ls_result_tmp_, __LINE__), lhs, expr)
#define LS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                          \
  auto tmp = (expr);                                                      \
  if (!tmp) return tl::unexpected<::core::Error>(std::move(tmp).error()); \
  lhs = *std::move(tmp)
