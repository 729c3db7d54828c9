// spectromine/metric/pearson.hpp: the Pearson distance 1 - r.
//
// With z = (s - mean(s)) / |s - mean(s)| (standardization), r = z_a . z_b and
//   1 - r = |z_a - z_b|^2 / 2,
// so on standardized spectra the Pearson distance is half the squared
// Euclidean distance (Ito 2024, Methods: nearest site by Euclidean distance
// of standardized spectra <=> largest Pearson similarity). Two forms:
//  - pearson_distance: any spectra; centers and normalizes on the fly (two
//    passes, in double). Not decomposable per band (the mean and norm couple
//    all bands).
//  - standardized_pearson_distance: inputs already standardized (the fast path
//    of every index: standardize once, then it is a decomposable squared
//    distance). squared_euclidean_distance on the same inputs gives 2 (1 - r).
// A constant spectrum has no correlation: r is taken as 0 (distance 1), not
// NaN, so that an index never compares NaN; mask such pixels upstream.
#pragma once

#include <cmath>
#include <span>

#include "spectromine/metric/concept.hpp"

namespace spectromine {

struct pearson_distance {
  static constexpr bool is_squared = true;
  static constexpr bool triangle_inequality = false;
  static constexpr bool decomposes_per_band = false;
  static constexpr bool needs_standardized = false;
  static constexpr std::string_view name = "pearson";

  // Pearson correlation r in [-1, 1].
  template <class T>
  static double correlation(std::span<const T> a, std::span<const T> b) noexcept {
    const std::size_t n = a.size();
    if (n == 0) return 0.0;
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < n; ++i) ma += static_cast<double>(a[i]), mb += static_cast<double>(b[i]);
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double x = static_cast<double>(a[i]) - ma, y = static_cast<double>(b[i]) - mb;
      ab += x * y, aa += x * x, bb += y * y;
    }
    if (!(aa > 0) || !(bb > 0)) return 0.0;
    const double r = ab / std::sqrt(aa * bb);
    return r > 1 ? 1.0 : (r < -1 ? -1.0 : r);
  }

  template <class T>
  double operator()(std::span<const T> a, std::span<const T> b) const noexcept {
    return 1.0 - correlation(a, b);
  }
};

struct standardized_pearson_distance {
  static constexpr bool is_squared = true;
  static constexpr bool triangle_inequality = false;
  static constexpr bool decomposes_per_band = true;
  static constexpr bool needs_standardized = true;
  static constexpr std::string_view name = "standardized_pearson";

  // |z_a - z_b|^2 / 2 rather than 1 - z_a.z_b: no cancellation for close
  // spectra, where the noise-limited decisions are made (1 - r ~ 1e-4).
  template <class T>
  double operator()(std::span<const T> a, std::span<const T> b) const noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      sum += d * d;
    }
    return 0.5 * sum;
  }
  template <class T>
  double band_term(T x, T y, index_t) const noexcept {
    const double d = static_cast<double>(x) - static_cast<double>(y);
    return 0.5 * d * d;
  }
  double from_sum(double sum) const noexcept { return sum; }
  double to_sum(double distance) const noexcept { return distance; }
};

static_assert(check_distance_metric<pearson_distance, float>());
static_assert(check_distance_metric<pearson_distance, double>());
static_assert(check_decomposable_metric<standardized_pearson_distance, float>());
static_assert(check_decomposable_metric<standardized_pearson_distance, double>());

}  // namespace spectromine
