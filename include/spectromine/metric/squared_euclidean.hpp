// spectromine/metric/squared_euclidean.hpp: sum_i (a_i - b_i)^2.
// On standardized spectra it equals 2 (1 - Pearson r) (docs/METHODS.md
// section 1), the similarity both papers rely on.
#pragma once

#include <span>

#include "spectromine/metric/concept.hpp"

namespace spectromine {

struct squared_euclidean_distance {
  static constexpr bool is_squared = true;
  static constexpr bool triangle_inequality = false;
  static constexpr bool decomposes_per_band = true;
  static constexpr bool needs_standardized = false;
  static constexpr std::string_view name = "squared_euclidean";

  // Accumulated in double whatever T is: float spectra of 1000 bands keep
  // ~1e-7 relative accuracy instead of losing three digits.
  template <class T>
  double operator()(std::span<const T> a, std::span<const T> b) const noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      sum += d * d;
    }
    return sum;
  }
  template <class T>
  double band_term(T x, T y, index_t) const noexcept {
    const double d = static_cast<double>(x) - static_cast<double>(y);
    return d * d;
  }
  double from_sum(double sum) const noexcept { return sum; }
  double to_sum(double distance) const noexcept { return distance; }
};

static_assert(check_decomposable_metric<squared_euclidean_distance, float>());
static_assert(check_decomposable_metric<squared_euclidean_distance, double>());

}  // namespace spectromine
