// spectromine/align/energy_shift.hpp: energy-scale offsets between
// measurements (fields of view, beamtimes, monochromator recalibrations),
// measured and corrected.
//
// Ito 2024 corrected the energy of every field before normalization with a
// published correction; an offset of a fraction of an eV moves the edge more
// than the chemical shifts that tell phases apart (Fe2+/Fe3+: ~1-2 eV).
//
// Estimate: the edge is where mu rises, so the DERIVATIVE spectra of a
// measurement and a reference are cross-correlated (the derivative ignores
// offsets and slopes of the background, and peaks at the edge and white
// line). Both derivatives are resampled onto one uniform grid (the finest
// step of the reference divided by `oversample`, so non-uniform XANES grids
// work), the Pearson correlation is computed for every lag within
// +-max_shift, and the best lag is refined below the grid by the vertex of
// the parabola through it and its two neighbours.
//
// Convention: shift = s means the measurement's features lie s eV ABOVE the
// reference's; its corrected energies are E - s, i.e. corrected mu(E) =
// mu(E + s), which shift_spectrum / shift_cube_energy compute on any target
// grid by linear interpolation.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::align {

struct energy_shift_options {
  double max_shift = 5.0;         // eV; lags searched in [-max_shift, +max_shift]
  double step = 0;                // eV of the correlation grid; 0 = finest reference step / oversample
  int oversample = 4;
  std::optional<double> e_min;    // eV; restrict the comparison to [e_min, e_max]
  std::optional<double> e_max;    //     (e.g. the XANES region around the edge)
  double smoothing = 0;           // eV; Gaussian sigma applied to both derivatives (noisy data)
};

struct energy_shift_result {
  double shift = 0;        // eV; measurement features lie `shift` above the reference's
  double correlation = 0;  // Pearson correlation of the derivatives at the best lag
  double grid_step = 0;    // eV; the correlation grid step (sub-grid refinement below it)
};

namespace detail {

// Linear-interpolation taps from a strictly increasing grid to points:
// value(x) = (1 - w) * y[j] + w * y[j + 1]. Points outside the grid clamp
// to the end value (w = 0 at j = 0 or j = n - 2 with w = 1), or are flagged.
struct linear_tap {
  index_t j = 0;
  double w = 0;
  bool outside = false;
};

inline std::vector<linear_tap> linear_taps(std::span<const double> grid,
                                           std::span<const double> points) {
  const index_t n = static_cast<index_t>(grid.size());
  std::vector<linear_tap> taps(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    const double x = points[i];
    auto& t = taps[i];
    if (n == 1) {
      t = {0, 0.0, x != grid[0]};
      continue;
    }
    if (x <= grid[0]) {
      t = {0, 0.0, x < grid[0]};
    } else if (x >= grid[static_cast<std::size_t>(n - 1)]) {
      t = {n - 2, 1.0, x > grid[static_cast<std::size_t>(n - 1)]};
    } else {
      const auto it = std::upper_bound(grid.begin(), grid.end(), x);
      const index_t j = static_cast<index_t>(it - grid.begin()) - 1;
      const double x0 = grid[static_cast<std::size_t>(j)], x1 = grid[static_cast<std::size_t>(j + 1)];
      t = {j, (x - x0) / (x1 - x0), false};
    }
  }
  return taps;
}

// d mu / d E on the native grid: central differences (one-sided at the ends).
inline std::vector<double> derivative(std::span<const double> e, std::span<const double> mu) {
  const std::size_t n = e.size();
  std::vector<double> d(n, 0.0);
  if (n < 2) return d;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t a = i == 0 ? 0 : i - 1, b = i + 1 == n ? n - 1 : i + 1;
    d[i] = (mu[b] - mu[a]) / (e[b] - e[a]);
  }
  return d;
}

inline void validate_spectrum(std::span<const double> e, std::span<const double> mu,
                              std::string_view component, std::string_view which) {
  validate_energy_grid(e, component);
  require(mu.size() == e.size(), component, std::string(which) + " mu size",
          "must equal its energy count " + std::to_string(e.size()), mu.size());
  for (std::size_t i = 0; i < mu.size(); ++i)
    require(std::isfinite(mu[i]), component, std::string(which) + " mu[" + std::to_string(i) + "]",
            "must be finite", mu[i]);
}

}  // namespace detail

// The energy offset of (energy, mu) relative to (ref_energy, ref_mu).
inline energy_shift_result estimate_energy_shift(std::span<const double> ref_energy,
                                                 std::span<const double> ref_mu,
                                                 std::span<const double> energy,
                                                 std::span<const double> mu,
                                                 const energy_shift_options& options = {}) {
  constexpr std::string_view component = "energy_shift";
  detail::validate_spectrum(ref_energy, ref_mu, component, "reference");
  detail::validate_spectrum(energy, mu, component, "measurement");
  require(ref_energy.size() >= 3 && energy.size() >= 3, component, "spectrum length",
          "must be >= 3 points", std::min(ref_energy.size(), energy.size()));
  require(std::isfinite(options.max_shift) && options.max_shift > 0, component, "max_shift",
          "must be > 0", options.max_shift);
  require(std::isfinite(options.step) && options.step >= 0, component, "step",
          "must be >= 0 (0 = automatic)", options.step);
  require(options.oversample >= 1 && options.oversample <= 64, component, "oversample",
          "must be in [1, 64]", options.oversample);
  require(std::isfinite(options.smoothing) && options.smoothing >= 0, component, "smoothing",
          "must be >= 0", options.smoothing);

  double lo = std::max(ref_energy.front(), energy.front());
  double hi = std::min(ref_energy.back(), energy.back());
  if (options.e_min) lo = std::max(lo, *options.e_min);
  if (options.e_max) hi = std::min(hi, *options.e_max);
  require(hi > lo, component, "energy range",
          "must overlap between reference, measurement and [e_min, e_max]", hi - lo);

  double step = options.step;
  if (step == 0) {
    double finest = std::numeric_limits<double>::infinity();
    for (std::size_t i = 1; i < ref_energy.size(); ++i)
      if (ref_energy[i] >= lo && ref_energy[i - 1] <= hi)
        finest = std::min(finest, ref_energy[i] - ref_energy[i - 1]);
    if (!std::isfinite(finest))
      for (std::size_t i = 1; i < ref_energy.size(); ++i)
        finest = std::min(finest, ref_energy[i] - ref_energy[i - 1]);
    step = finest / options.oversample;
  }
  const index_t lags = static_cast<index_t>(std::ceil(options.max_shift / step));
  const index_t n = static_cast<index_t>(std::floor((hi - lo) / step)) + 1;
  require(n >= 2 * lags + 8, component, "energy range",
          "must be longer than 2 * max_shift (overlap " + std::to_string(hi - lo) + " eV)",
          options.max_shift);
  require(n <= 50'000'000, component, "step", "gives too many grid points", step);

  std::vector<double> grid(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) grid[static_cast<std::size_t>(i)] = lo + static_cast<double>(i) * step;
  auto resampled_derivative = [&](std::span<const double> e, std::span<const double> y) {
    const auto d = detail::derivative(e, y);
    const auto taps = detail::linear_taps(e, grid);
    std::vector<double> out(grid.size());
    for (std::size_t i = 0; i < grid.size(); ++i) {
      const auto& t = taps[i];
      out[i] = (1 - t.w) * d[static_cast<std::size_t>(t.j)] +
               (t.w > 0 ? t.w * d[static_cast<std::size_t>(t.j + 1)] : 0.0);
    }
    if (options.smoothing > 0) {
      const double s = options.smoothing / step;
      const index_t radius = static_cast<index_t>(std::ceil(3 * s));
      std::vector<double> k(static_cast<std::size_t>(2 * radius + 1));
      for (index_t i = -radius; i <= radius; ++i)
        k[static_cast<std::size_t>(i + radius)] = std::exp(-0.5 * static_cast<double>(i * i) / (s * s));
      std::vector<double> sm(out.size());
      for (index_t i = 0; i < n; ++i) {
        double acc = 0, ws = 0;
        for (index_t j = std::max<index_t>(0, i - radius); j <= std::min(n - 1, i + radius); ++j) {
          acc += k[static_cast<std::size_t>(j - i + radius)] * out[static_cast<std::size_t>(j)];
          ws += k[static_cast<std::size_t>(j - i + radius)];
        }
        sm[static_cast<std::size_t>(i)] = acc / ws;
      }
      out.swap(sm);
    }
    return out;
  };
  const auto a = resampled_derivative(ref_energy, ref_mu);
  const auto b = resampled_derivative(energy, mu);

  // Pearson correlation of a[i] and b[i + lag] over their overlap.
  auto pearson = [&](index_t lag) {
    const index_t i0 = std::max<index_t>(0, -lag), i1 = std::min(n, n - lag);
    double sa = 0, sb = 0;
    for (index_t i = i0; i < i1; ++i) {
      sa += a[static_cast<std::size_t>(i)];
      sb += b[static_cast<std::size_t>(i + lag)];
    }
    const double m = static_cast<double>(i1 - i0);
    const double ma = sa / m, mb = sb / m;
    double sab = 0, saa = 0, sbb = 0;
    for (index_t i = i0; i < i1; ++i) {
      const double x = a[static_cast<std::size_t>(i)] - ma, y = b[static_cast<std::size_t>(i + lag)] - mb;
      sab += x * y;
      saa += x * x;
      sbb += y * y;
    }
    return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
  };
  std::vector<double> c(static_cast<std::size_t>(2 * lags + 1));
  parallel_for(2 * lags + 1, 0, 16, [&](index_t l0, index_t l1, int) {
    for (index_t l = l0; l < l1; ++l) c[static_cast<std::size_t>(l)] = pearson(l - lags);
  });
  const index_t best = static_cast<index_t>(std::max_element(c.begin(), c.end()) - c.begin());
  require(c[static_cast<std::size_t>(best)] > 0, component, "spectra",
          "must share an edge (derivatives do not correlate)", c[static_cast<std::size_t>(best)]);
  require(best > 0 && best < 2 * lags, component, "max_shift",
          "must exceed the offset (the correlation peaks at the search limit)",
          options.max_shift);
  const double cm = c[static_cast<std::size_t>(best - 1)], c0 = c[static_cast<std::size_t>(best)],
               cp = c[static_cast<std::size_t>(best + 1)];
  const double curvature = cm - 2 * c0 + cp;
  const double delta = curvature < 0 ? 0.5 * (cm - cp) / curvature : 0.0;
  return {(static_cast<double>(best - lags) + delta) * step, c0, step};
}

enum class energy_extrapolation {
  nearest,  // hold the end value of the measured range
  nan,      // NaN outside the measured range
};

// mu corrected by `shift` (corrected mu(E) = mu(E + shift)) on `target` energies.
inline std::vector<double> shift_spectrum(std::span<const double> energy,
                                          std::span<const double> mu, double shift,
                                          std::span<const double> target,
                                          energy_extrapolation extrapolate =
                                              energy_extrapolation::nearest) {
  detail::validate_spectrum(energy, mu, "shift_spectrum", "input");
  require(std::isfinite(shift), "shift_spectrum", "shift", "must be finite", shift);
  validate_energy_grid(target, "shift_spectrum");
  std::vector<double> points(target.begin(), target.end());
  for (auto& p : points) p += shift;
  const auto taps = detail::linear_taps(energy, points);
  std::vector<double> out(target.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& t = taps[i];
    if (t.outside && extrapolate == energy_extrapolation::nan) {
      out[i] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const double y0 = mu[static_cast<std::size_t>(t.j)];
    out[i] = t.w > 0 ? (1 - t.w) * y0 + t.w * mu[static_cast<std::size_t>(t.j + 1)] : y0;
  }
  return out;
}

struct energy_resample_options {
  energy_extrapolation extrapolate = energy_extrapolation::nearest;
  int threads = 0;
};

// Every pixel's spectrum corrected by `shift` and resampled onto `target`
// (out: same image shape, target.size() bands). The taps are the same for
// every pixel, computed once.
template <spectral_cube C>
void shift_cube_energy(const C& source, std::span<const double> energy, double shift,
                       std::span<const double> target, cube_view<float> out,
                       const energy_resample_options& options = {}) {
  static_assert(check_spectral_cube<C>());
  const auto in = view_of(source);
  validate_energy_grid(energy, "shift_cube_energy", in.bands());
  validate_energy_grid(target, "shift_cube_energy");
  require(std::isfinite(shift), "shift_cube_energy", "shift", "must be finite", shift);
  require(out.shape() == in.shape(), "shift_cube_energy", "out shape",
          "must equal the input shape", out.pixel_count());
  require(out.bands() == static_cast<index_t>(target.size()), "shift_cube_energy", "out bands",
          "must equal the target energy count " + std::to_string(target.size()), out.bands());
  std::vector<double> points(target.begin(), target.end());
  for (auto& p : points) p += shift;
  const auto taps = detail::linear_taps(energy, points);
  const bool nan = options.extrapolate == energy_extrapolation::nan;
  const index_t cols = in.cols(), nt = out.bands();
  parallel_for(in.rows(), options.threads, 8, [&](index_t r0, index_t r1, int) {
    for (index_t r = r0; r < r1; ++r)
      for (index_t c = 0; c < cols; ++c) {
        const auto* s = in.pixel_pointer(r, c);
        float* d = out.pixel_pointer(r, c);
        for (index_t t = 0; t < nt; ++t) {
          const auto& tp = taps[static_cast<std::size_t>(t)];
          if (tp.outside && nan) {
            d[t] = std::numeric_limits<float>::quiet_NaN();
            continue;
          }
          const double y0 = static_cast<double>(s[tp.j]);
          d[t] = static_cast<float>(tp.w > 0 ? (1 - tp.w) * y0 + tp.w * static_cast<double>(s[tp.j + 1]) : y0);
        }
      }
  });
}

}  // namespace spectromine::align
