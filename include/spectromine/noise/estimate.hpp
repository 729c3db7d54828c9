// spectromine/noise/estimate.hpp: the noise level measured from the data
// themselves, for users without a calibrated camera (no A, B).
//
// Spectra are smooth on the scale of the energy step, noise is not: the
// second difference
//   d_i = (h2 y_{i-1} - (h1 + h2) y_i + h1 y_{i+1}) / sqrt(h1^2 + (h1 + h2)^2 + h2^2)
// (h1, h2 the steps to the neighbours; (1, -2, 1) / sqrt(6) on a uniform grid)
// annihilates straight lines and has unit gain for white noise, so
// var(d_i) = sigma^2 (a 1:4:1 weighted mean of sigma^2 over bands i-1, i, i+1).
// What curvature the signal has (the edge, the white line) is removed
// robustly:
//  - one spectrum: 1.4826 x median |d_i| - the few curved bands near the
//    edge are outliers of a median;
//  - a cube, per band: 1.4826 x MAD over pixels of d_i - the common curvature
//    of the dominant phase is the median and drops out; a band-resolved noise
//    (sCMOS noise grows with mu*t) is recovered.
// The estimates are of the noise of whatever the input is (mu*t or
// normalized); the tests recover simulated sCMOS noise within the stated
// tolerances. equivalent_c_ref() turns an estimate into the c_ref that the
// noise model would need to produce it, so the percent-point machinery can
// run on uncalibrated data.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/propagation.hpp"

namespace spectromine {

// 1 / Phi^-1(3/4): MAD -> standard deviation for Normal data.
inline constexpr double mad_to_sigma = 1.482602218505602;

namespace detail {

// Unit-gain second-difference coefficients at interior band i (1..n-2).
struct second_difference {
  double lo, mid, hi;
};
inline std::vector<second_difference> second_differences(std::span<const double> energy) {
  std::vector<second_difference> c(energy.size());
  for (std::size_t i = 1; i + 1 < energy.size(); ++i) {
    const double h1 = energy[i] - energy[i - 1], h2 = energy[i + 1] - energy[i];
    const double norm = std::sqrt(h1 * h1 + (h1 + h2) * (h1 + h2) + h2 * h2);
    c[i] = {h2 / norm, -(h1 + h2) / norm, h1 / norm};
  }
  return c;
}

inline double median_in_place(std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  const double upper = *mid;
  const double lower = *std::max_element(v.begin(), mid);
  return 0.5 * (lower + upper);
}

}  // namespace detail

// One robust noise sigma for one spectrum (same units as the spectrum).
// Needs at least 8 bands; NaN bands are skipped.
template <class T>
double estimate_spectrum_noise(std::span<const double> energy, std::span<const T> spectrum) {
  constexpr std::string_view component = "estimate_spectrum_noise";
  validate_energy_grid(energy, component, static_cast<index_t>(spectrum.size()));
  require(spectrum.size() >= 8, component, "band count", "must be >= 8", spectrum.size());
  const auto c = detail::second_differences(energy);
  std::vector<double> abs_d;
  abs_d.reserve(spectrum.size());
  for (std::size_t i = 1; i + 1 < spectrum.size(); ++i) {
    const double d = c[i].lo * static_cast<double>(spectrum[i - 1]) +
                     c[i].mid * static_cast<double>(spectrum[i]) +
                     c[i].hi * static_cast<double>(spectrum[i + 1]);
    if (std::isfinite(d)) abs_d.push_back(std::abs(d));
  }
  require(abs_d.size() >= 6, component, "finite bands", "must leave >= 6 second differences",
          abs_d.size());
  return mad_to_sigma * detail::median_in_place(abs_d);
}

struct band_noise_options {
  int threads = 0;
  index_t max_pixels = 200000;  // pixels sampled (evenly strided) per band; enough for ~0.3%
};

// Per-band robust noise sigma over the sample pixels of a cube (mask: empty
// view = all pixels). The first and last bands copy their neighbour's value.
template <class T>
std::vector<double> estimate_band_noise(std::span<const double> energy, cube_view<T> cube,
                                        mask_view mask = {}, const band_noise_options& options = {}) {
  constexpr std::string_view component = "estimate_band_noise";
  validate_energy_grid(energy, component, cube.bands());
  require(cube.bands() >= 3, component, "band count", "must be >= 3", cube.bands());
  const bool masked = mask.pixel_count() > 0;
  if (masked)
    require(mask.shape() == cube.shape(), component, "mask shape", "must equal the cube's shape",
            mask.pixel_count());
  require(options.max_pixels > 0, component, "max_pixels", "must be > 0", options.max_pixels);
  std::vector<index_t> pixels;
  for (index_t p = 0; p < cube.pixel_count(); ++p)
    if (!masked || mask[p] != 0) pixels.push_back(p);
  if (static_cast<index_t>(pixels.size()) > options.max_pixels) {
    std::vector<index_t> sampled;
    const double stride = static_cast<double>(pixels.size()) / static_cast<double>(options.max_pixels);
    for (index_t k = 0; k < options.max_pixels; ++k)
      sampled.push_back(pixels[static_cast<std::size_t>(static_cast<double>(k) * stride)]);
    pixels.swap(sampled);
  }
  require(pixels.size() >= 8, component, "sample pixels", "must be >= 8", pixels.size());
  const auto c = detail::second_differences(energy);
  const index_t bands = cube.bands();
  std::vector<double> sigma(static_cast<std::size_t>(bands), std::nan(""));
  parallel_for(bands - 2, options.threads, 1, [&](index_t begin, index_t end, int) {
    std::vector<double> d;
    d.reserve(pixels.size());
    for (index_t k = begin; k < end; ++k) {
      const auto i = static_cast<std::size_t>(k + 1);
      d.clear();
      for (index_t p : pixels) {
        const T* s = cube.pixel_pointer(p);
        const double v = c[i].lo * static_cast<double>(s[i - 1]) +
                         c[i].mid * static_cast<double>(s[i]) + c[i].hi * static_cast<double>(s[i + 1]);
        if (std::isfinite(v)) d.push_back(v);
      }
      if (d.size() < 8) continue;
      const double med = detail::median_in_place(d);
      for (double& v : d) v = std::abs(v - med);
      sigma[i] = mad_to_sigma * detail::median_in_place(d);
    }
  });
  sigma.front() = sigma[1];
  sigma.back() = sigma[static_cast<std::size_t>(bands - 2)];
  return sigma;
}

// The reference count c_ref at which `model` (with the given mut_low,
// mut_high) predicts the measured noise of a normalized spectrum: the root
// of  rms_b(normalized_sigma(model, {c_ref, low, high}, s_b)) = rms_b(sigma_b),
// found by bisection on log(c_ref) in [lo, hi] (predicted noise falls with
// c_ref for every physical model). Bands with non-finite sigma are skipped.
template <noise_model N, class T>
double equivalent_c_ref(const N& model, const measurement_conditions& levels,
                        std::span<const T> normalized, std::span<const double> sigma,
                        double lo = 10.0, double hi = 1e12) {
  constexpr std::string_view component = "equivalent_c_ref";
  levels.validate(component);
  require(sigma.size() == normalized.size(), component, "sigma length",
          "must equal the spectrum length " + std::to_string(normalized.size()), sigma.size());
  double target = 0;
  std::size_t n = 0;
  for (std::size_t b = 0; b < sigma.size(); ++b)
    if (std::isfinite(sigma[b]) && std::isfinite(static_cast<double>(normalized[b])))
      target += sigma[b] * sigma[b], ++n;
  require(n > 0 && target > 0, component, "sigma", "must have a finite, positive band", target);
  target = std::sqrt(target / static_cast<double>(n));
  auto predicted = [&](double c_ref) {
    measurement_conditions c = levels;
    c.c_ref = c_ref;
    double sum = 0;
    for (std::size_t b = 0; b < sigma.size(); ++b)
      if (std::isfinite(sigma[b]) && std::isfinite(static_cast<double>(normalized[b]))) {
        const double s = normalized_sigma(model, c, static_cast<double>(normalized[b]));
        sum += s * s;
      }
    return std::sqrt(sum / static_cast<double>(n));
  };
  double a = std::log(lo), b = std::log(hi);
  require(predicted(std::exp(b)) <= target, component, "sigma",
          "is below what the model predicts even at c_ref = " + std::to_string(hi), target);
  // Below the model's validity (e.g. sCMOS A N - B <= 0) predicted() throws;
  // raise the lower end until it is valid.
  while (true) {
    try {
      if (predicted(std::exp(a)) >= target) break;
      throw_invalid(component, "sigma",
                    "is above what the model predicts even at c_ref = " + std::to_string(std::exp(a)),
                    target);
    } catch (const invalid_argument& e) {
      if (e.component() == component) throw;
      a += 0.5;
      require(a < b, component, "c_ref range", "has no valid lower end", std::exp(a));
    }
  }
  for (int it = 0; it < 200 && b - a > 1e-12; ++it) {
    const double m = 0.5 * (a + b);
    (predicted(std::exp(m)) > target ? a : b) = m;
  }
  return std::exp(0.5 * (a + b));
}

}  // namespace spectromine
