// spectromine/metric/spectral_angle.hpp: the spectral angle
// acos(a.b / (|a| |b|)) in radians (the "SAM" of remote sensing). It is the
// geodesic distance on the unit sphere, so it obeys the triangle inequality.
// Unlike Pearson it does not remove the mean: a constant offset (e.g. a
// pre-edge background) changes it. A zero spectrum is at pi/2 from everything.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <span>

#include "spectromine/metric/concept.hpp"

namespace spectromine {

struct spectral_angle_distance {
  static constexpr bool is_squared = false;
  static constexpr bool triangle_inequality = true;
  static constexpr bool decomposes_per_band = false;
  static constexpr bool needs_standardized = false;
  static constexpr std::string_view name = "spectral_angle";

  template <class T>
  double operator()(std::span<const T> a, std::span<const T> b) const noexcept {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double x = static_cast<double>(a[i]), y = static_cast<double>(b[i]);
      ab += x * y, aa += x * x, bb += y * y;
    }
    if (!(aa > 0) || !(bb > 0)) return std::numbers::pi / 2;
    // For nearly parallel spectra acos(cos) loses half the digits; the
    // chord |a/|a| - b/|b|| = 2 sin(theta/2) does not.
    const double c = ab / std::sqrt(aa * bb);
    if (c > 0.9) {
      const double ia = 1 / std::sqrt(aa), ib = 1 / std::sqrt(bb);
      double chord2 = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) * ia - static_cast<double>(b[i]) * ib;
        chord2 += d * d;
      }
      return 2 * std::asin(std::min(1.0, std::sqrt(chord2) / 2));
    }
    return std::acos(std::clamp(c, -1.0, 1.0));
  }
};

static_assert(check_distance_metric<spectral_angle_distance, float>());
static_assert(check_distance_metric<spectral_angle_distance, double>());

}  // namespace spectromine
