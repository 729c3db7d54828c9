// spectromine/preprocess/interpolate.hpp: reference spectra onto a cube's
// energy grid.
//
// Two interpolants: piecewise linear, and monotone piecewise cubic Hermite
// (PCHIP, Fritsch & Carlson 1980, with the weighted-harmonic-mean slopes and
// the three-point end slopes of Fritsch & Butland 1984 -- the same rules as
// SciPy's PchipInterpolator, so results match it inside the data). PCHIP
// never overshoots: a monotone reference stays monotone, and no spurious
// wiggles are created at the edge jump, which a natural cubic spline would.
//
// Coverage: by default every target energy must lie inside the source grid
// (up to 1e-9 of its span, to absorb decimal round-off of tabulated grids);
// otherwise invalid_argument names the first uncovered energy and the source
// range. extrapolation::hold repeats the end values; extrapolation::linear
// continues the end segment's slope (linear) or the end derivative (pchip).
// No policy produces NaN.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "spectromine/core/energy.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

enum class extrapolation {
  error,   // target outside the source grid: invalid_argument
  hold,    // constant: the first / last source value
  linear,  // straight line with the end slope
};

namespace detail {

inline void validate_interpolation(std::span<const double> src_e, std::span<const double> src_y,
                                   std::span<const double> dst_e, std::size_t dst_size,
                                   extrapolation policy, const char* component) {
  validate_energy_grid(src_e, component);
  require(src_e.size() >= 2, component, "source energy count", "must be >= 2", src_e.size());
  require(src_y.size() == src_e.size(), component, "source value count",
          "must equal the source energy count " + std::to_string(src_e.size()), src_y.size());
  require(dst_size == dst_e.size(), component, "output size",
          "must equal the target energy count " + std::to_string(dst_e.size()), dst_size);
  for (std::size_t i = 0; i < src_y.size(); ++i)
    require(std::isfinite(src_y[i]), component, "source value[" + std::to_string(i) + "]",
            "must be finite", src_y[i]);
  const double lo = src_e.front(), hi = src_e.back();
  const double tol = 1e-9 * (hi - lo);
  for (std::size_t i = 0; i < dst_e.size(); ++i) {
    require(std::isfinite(dst_e[i]), component, "target energy[" + std::to_string(i) + "]",
            "must be finite", dst_e[i]);
    if (policy == extrapolation::error)
      require(dst_e[i] >= lo - tol && dst_e[i] <= hi + tol, component,
              "target energy[" + std::to_string(i) + "]",
              "must lie inside the source grid [" + std::to_string(lo) + ", " +
                  std::to_string(hi) +
                  "] eV (the reference does not cover the cube's grid; choose "
                  "extrapolation::hold or ::linear to extend it explicitly)",
              dst_e[i]);
  }
}

// Interval k with src_e[k] <= x < src_e[k+1], clamped to [0, n-2].
inline std::size_t interval_of(std::span<const double> src_e, double x) {
  const auto it = std::upper_bound(src_e.begin(), src_e.end(), x);
  const auto k = static_cast<std::ptrdiff_t>(it - src_e.begin()) - 1;
  return static_cast<std::size_t>(
      std::clamp<std::ptrdiff_t>(k, 0, static_cast<std::ptrdiff_t>(src_e.size()) - 2));
}

}  // namespace detail

// Linear interpolation of (src_e, src_y) at dst_e into out.
inline void interpolate_linear(std::span<const double> src_e, std::span<const double> src_y,
                               std::span<const double> dst_e, std::span<double> out,
                               extrapolation policy = extrapolation::error) {
  detail::validate_interpolation(src_e, src_y, dst_e, out.size(), policy, "interpolate_linear");
  const std::size_t n = src_e.size();
  for (std::size_t i = 0; i < dst_e.size(); ++i) {
    const double x = dst_e[i];
    if (policy == extrapolation::hold && (x <= src_e[0] || x >= src_e[n - 1])) {
      out[i] = x <= src_e[0] ? src_y[0] : src_y[n - 1];
      continue;
    }
    const std::size_t k = detail::interval_of(src_e, x);
    const double t = (x - src_e[k]) / (src_e[k + 1] - src_e[k]);
    out[i] = src_y[k] + t * (src_y[k + 1] - src_y[k]);
  }
}

inline std::vector<double> interpolate_linear(std::span<const double> src_e,
                                              std::span<const double> src_y,
                                              std::span<const double> dst_e,
                                              extrapolation policy = extrapolation::error) {
  std::vector<double> out(dst_e.size());
  interpolate_linear(src_e, src_y, dst_e, out, policy);
  return out;
}

// The PCHIP node derivatives (SciPy PchipInterpolator's rules).
inline std::vector<double> pchip_slopes(std::span<const double> x, std::span<const double> y) {
  const std::size_t n = x.size();
  std::vector<double> d(n, 0.0);
  if (n < 2) return d;
  std::vector<double> h(n - 1), m(n - 1);
  for (std::size_t k = 0; k + 1 < n; ++k) {
    h[k] = x[k + 1] - x[k];
    m[k] = (y[k + 1] - y[k]) / h[k];
  }
  if (n == 2) {
    d[0] = d[1] = m[0];
    return d;
  }
  auto sign = [](double v) { return (v > 0) - (v < 0); };
  for (std::size_t k = 1; k + 1 < n; ++k) {
    if (sign(m[k - 1]) != sign(m[k]) || m[k - 1] == 0 || m[k] == 0) {
      d[k] = 0;  // local extremum or flat: zero slope keeps monotonicity
    } else {
      const double w1 = 2 * h[k] + h[k - 1], w2 = h[k] + 2 * h[k - 1];
      d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k]);
    }
  }
  auto edge = [&](double h0, double h1, double m0, double m1) {
    double v = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if (sign(v) != sign(m0)) {
      v = 0;
    } else if (sign(m0) != sign(m1) && std::abs(v) > 3 * std::abs(m0)) {
      v = 3 * m0;
    }
    return v;
  };
  d[0] = edge(h[0], h[1], m[0], m[1]);
  d[n - 1] = edge(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
  return d;
}

// Monotone cubic (PCHIP) interpolation of (src_e, src_y) at dst_e into out.
inline void interpolate_pchip(std::span<const double> src_e, std::span<const double> src_y,
                              std::span<const double> dst_e, std::span<double> out,
                              extrapolation policy = extrapolation::error) {
  detail::validate_interpolation(src_e, src_y, dst_e, out.size(), policy, "interpolate_pchip");
  const std::size_t n = src_e.size();
  const std::vector<double> d = pchip_slopes(src_e, src_y);
  for (std::size_t i = 0; i < dst_e.size(); ++i) {
    const double x = dst_e[i];
    if (x < src_e[0] || x > src_e[n - 1]) {
      const bool low = x < src_e[0];
      const std::size_t k = low ? 0 : n - 1;
      out[i] = policy == extrapolation::linear ? src_y[k] + d[k] * (x - src_e[k]) : src_y[k];
      continue;
    }
    const std::size_t k = detail::interval_of(src_e, x);
    const double h = src_e[k + 1] - src_e[k];
    const double t = (x - src_e[k]) / h;
    const double t2 = t * t, t3 = t2 * t;
    out[i] = (2 * t3 - 3 * t2 + 1) * src_y[k] + (t3 - 2 * t2 + t) * h * d[k] +
             (-2 * t3 + 3 * t2) * src_y[k + 1] + (t3 - t2) * h * d[k + 1];
  }
}

inline std::vector<double> interpolate_pchip(std::span<const double> src_e,
                                             std::span<const double> src_y,
                                             std::span<const double> dst_e,
                                             extrapolation policy = extrapolation::error) {
  std::vector<double> out(dst_e.size());
  interpolate_pchip(src_e, src_y, dst_e, out, policy);
  return out;
}

}  // namespace spectromine
