// spectromine/metric/euclidean.hpp: sqrt(sum_i (a_i - b_i)^2), a true metric.
#pragma once

#include <cmath>
#include <span>

#include "spectromine/metric/squared_euclidean.hpp"

namespace spectromine {

struct euclidean_distance {
  static constexpr bool is_squared = false;
  static constexpr bool triangle_inequality = true;
  static constexpr bool decomposes_per_band = true;  // sqrt of a per-band sum
  static constexpr bool needs_standardized = false;
  static constexpr std::string_view name = "euclidean";

  template <class T>
  double operator()(std::span<const T> a, std::span<const T> b) const noexcept {
    return std::sqrt(squared_euclidean_distance{}(a, b));
  }
  template <class T>
  double band_term(T x, T y, index_t band) const noexcept {
    return squared_euclidean_distance{}.band_term(x, y, band);
  }
  double from_sum(double sum) const noexcept { return std::sqrt(sum); }
  double to_sum(double distance) const noexcept { return distance * distance; }
};

static_assert(check_decomposable_metric<euclidean_distance, float>());
static_assert(check_decomposable_metric<euclidean_distance, double>());

}  // namespace spectromine
