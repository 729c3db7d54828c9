// spectromine/metric/chi_square.hpp: the noise-weighted chi-square distance
//   chi2(a, b) = sum_i (a_i - b_i)^2 / v_i,
// where v_i is the variance of the difference a_i - b_i in band i
// (sigma_a,i^2 + sigma_b,i^2 when both are measured; sigma_i^2 when b is a
// noiseless reference). For two noisy copies of one spectrum chi2 follows a
// chi-square law with `bands` degrees of freedom: a radius can be chosen as
// a quantile instead of being tuned. The metric holds a view of the
// variances (the caller keeps them alive); they are validated once, when the
// metric is made.
#pragma once

#include <cmath>
#include <span>
#include <string>

#include "spectromine/error.hpp"
#include "spectromine/metric/concept.hpp"

namespace spectromine {

class chi_square_distance {
 public:
  static constexpr bool is_squared = true;
  static constexpr bool triangle_inequality = false;
  static constexpr bool decomposes_per_band = true;
  static constexpr bool needs_standardized = false;
  static constexpr std::string_view name = "chi_square";

  chi_square_distance() = default;
  explicit chi_square_distance(std::span<const double> variance) : variance_(variance) {
    for (std::size_t i = 0; i < variance.size(); ++i)
      require(std::isfinite(variance[i]) && variance[i] > 0, "chi_square_distance",
              "variance[" + std::to_string(i) + "]", "must be finite and > 0", variance[i]);
  }

  std::span<const double> variance() const noexcept { return variance_; }

  template <class T>
  double operator()(std::span<const T> a, std::span<const T> b) const noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      sum += d * d / variance_[i];
    }
    return sum;
  }
  template <class T>
  double band_term(T x, T y, index_t band) const noexcept {
    const double d = static_cast<double>(x) - static_cast<double>(y);
    return d * d / variance_[static_cast<std::size_t>(band)];
  }
  double from_sum(double sum) const noexcept { return sum; }
  double to_sum(double distance) const noexcept { return distance; }

 private:
  std::span<const double> variance_;
};

// chi2 with per-spectrum noise: sum (a - b)^2 / (sigma_a^2 + sigma_b^2).
template <class T, class S>
double chi_square(std::span<const T> a, std::span<const T> b, std::span<const S> sigma_a,
                  std::span<const S> sigma_b) {
  require(b.size() == a.size() && sigma_a.size() == a.size() && sigma_b.size() == a.size(),
          "chi_square", "lengths", "must all equal the spectrum length " + std::to_string(a.size()),
          b.size());
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    const double v = static_cast<double>(sigma_a[i]) * static_cast<double>(sigma_a[i]) +
                     static_cast<double>(sigma_b[i]) * static_cast<double>(sigma_b[i]);
    require(v > 0, "chi_square", "sigma", "must not be zero in both spectra at band " + std::to_string(i), v);
    sum += d * d / v;
  }
  return sum;
}

static_assert(check_decomposable_metric<chi_square_distance, float>());
static_assert(check_decomposable_metric<chi_square_distance, double>());

}  // namespace spectromine
