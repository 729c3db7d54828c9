// spectromine/error.hpp: the exception types and the one validation style
// every component uses.
//
// Messages name the component, the parameter and the offending value, in the
// form "dbscan: eps must be > 0 (got -0.5)", so that the CLI can print them as
// "error: <message>" and a user knows what to change without reading code.
#pragma once

#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace spectromine {

// Base of everything spectromine throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A parameter or an input value is outside what the component accepts.
class invalid_argument : public error {
 public:
  invalid_argument(std::string component, std::string parameter, const std::string& message)
      : error(message), component_(std::move(component)), parameter_(std::move(parameter)) {}
  const std::string& component() const noexcept { return component_; }
  const std::string& parameter() const noexcept { return parameter_; }

 private:
  std::string component_;
  std::string parameter_;
};

// A file could not be opened, read or written.
class io_error : public error {
 public:
  io_error(const std::filesystem::path& path, std::string_view problem)
      : error(path.string() + ": " + std::string(problem)), path_(path) {}
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// A file was read but its content is malformed (bad header, truncated, wrong dtype...).
class format_error : public io_error {
 public:
  using io_error::io_error;
};

namespace detail {

template <class V>
std::string describe_value(const V& value) {
  std::ostringstream out;
  if constexpr (std::is_floating_point_v<V>) {
    out.precision(10);
    if (std::isnan(value)) return "NaN";
  }
  if constexpr (std::is_same_v<V, bool>) {
    out << (value ? "true" : "false");
  } else if constexpr (std::is_same_v<V, std::string> || std::is_same_v<V, std::string_view> ||
                       std::is_same_v<std::decay_t<V>, const char*> ||
                       std::is_same_v<std::decay_t<V>, char*>) {
    out << '"' << value << '"';
  } else if constexpr (std::is_same_v<V, std::filesystem::path>) {
    out << value.string();
  } else {
    out << value;
  }
  return out.str();
}

}  // namespace detail

// Throws invalid_argument with "component: parameter requirement (got value)".
template <class V>
[[noreturn]] void throw_invalid(std::string_view component, std::string_view parameter,
                                std::string_view requirement, const V& value) {
  std::string message = std::string(component) + ": " + std::string(parameter) + " " +
                        std::string(requirement) + " (got " + detail::describe_value(value) + ")";
  throw invalid_argument(std::string(component), std::string(parameter), message);
}

// Validation in one line: require(eps > 0, "dbscan", "eps", "must be > 0", eps).
template <class V>
void require(bool condition, std::string_view component, std::string_view parameter,
             std::string_view requirement, const V& value) {
  if (!condition) throw_invalid(component, parameter, requirement, value);
}

}  // namespace spectromine
