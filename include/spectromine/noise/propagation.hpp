// spectromine/noise/propagation.hpp: from count noise to the noise of mu*t
// and of the normalized absorbance (Ito 2024, Eq. 3 and Methods;
// docs/METHODS.md section 2):
//
//   mu_t = ln(c_ref / c_trans)
//   sigma_mut^2  = sigma(c_ref)^2 / c_ref^2 + sigma(c_trans)^2 / c_trans^2
//   sigma_norm   = sigma_mut / (mut_high - mut_low)
//
// First-order error propagation: accurate while sigma(c)/c << 1 (at the
// paper's conditions sigma_mut ~ 0.02). Conditions may be one for all pixels
// (site generation uses the mean conditions) or one per pixel (each pixel has
// its own flat field and thickness).
#pragma once

#include <cmath>
#include <span>
#include <string>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"
#include "spectromine/noise/conditions.hpp"

namespace spectromine {

namespace detail {
template <class N>
void validate_noise_model(const N& model) {
  if constexpr (requires { model.validate(); }) model.validate();
}
}  // namespace detail

// Variance of mu*t = ln(c_ref / c_trans) for expected counts c_ref and mu*t.
template <noise_model N>
double mut_variance(const N& model, double c_ref, double mut) {
  const double c_trans = c_ref * std::exp(-mut);
  return model.variance(c_ref) / (c_ref * c_ref) + model.variance(c_trans) / (c_trans * c_trans);
}

// Standard deviation of mu*t.
template <noise_model N>
double mut_sigma(const N& model, double c_ref, double mut) {
  return std::sqrt(mut_variance(model, c_ref, mut));
}

// Standard deviation of one normalized absorbance value s at the conditions.
template <noise_model N>
double normalized_sigma(const N& model, const measurement_conditions& conditions,
                        double normalized) {
  return mut_sigma(model, conditions.c_ref, conditions.mut(normalized)) / conditions.step();
}

// Per-band sigma of a mu*t spectrum (raw absorbance, no normalization).
template <noise_model N, class T, class U>
void mut_sigma(const N& model, double c_ref, std::span<const T> mut, std::span<U> sigma) {
  detail::validate_noise_model(model);
  require(std::isfinite(c_ref) && c_ref > 0, "mut_sigma", "c_ref", "must be finite and > 0",
          c_ref);
  require(sigma.size() == mut.size(), "mut_sigma", "sigma length",
          "must equal the spectrum length " + std::to_string(mut.size()), sigma.size());
  for (std::size_t i = 0; i < mut.size(); ++i)
    sigma[i] = static_cast<U>(mut_sigma(model, c_ref, static_cast<double>(mut[i])));
}

// Per-band sigma of a normalized spectrum at the given conditions (one pixel).
template <noise_model N, class T, class U>
void normalized_sigma(const N& model, const measurement_conditions& conditions,
                      std::span<const T> normalized, std::span<U> sigma) {
  detail::validate_noise_model(model);
  conditions.validate("normalized_sigma");
  require(sigma.size() == normalized.size(), "normalized_sigma", "sigma length",
          "must equal the spectrum length " + std::to_string(normalized.size()), sigma.size());
  for (std::size_t i = 0; i < normalized.size(); ++i)
    sigma[i] = static_cast<U>(normalized_sigma(model, conditions, static_cast<double>(normalized[i])));
}

// Per-pixel, per-band sigma of a normalized cube. `conditions` holds either
// one entry (the same conditions for every pixel) or one per pixel in
// row-major pixel order. T may be const (any view converts). NaN values give NaN sigma (the pixel's policy
// decides what to do with it; nothing here divides by it).
template <noise_model N, class T, class U>
void normalized_sigma_cube(const N& model, std::span<const measurement_conditions> conditions,
                           cube_view<T> normalized, cube_view<U> sigma, int threads = 0) {
  constexpr std::string_view component = "normalized_sigma_cube";
  detail::validate_noise_model(model);
  require(sigma.shape() == normalized.shape(), component, "sigma shape",
          "must equal the cube's shape", sigma.pixel_count());
  require(sigma.bands() == normalized.bands(), component, "sigma bands",
          "must equal the cube's band count " + std::to_string(normalized.bands()), sigma.bands());
  const index_t pixels = normalized.pixel_count();
  require(conditions.size() == 1 || static_cast<index_t>(conditions.size()) == pixels, component,
          "conditions count", "must be 1 or the pixel count " + std::to_string(pixels),
          conditions.size());
  for (const auto& c : conditions) c.validate(component);
  parallel_for(pixels, threads, 1024, [&](index_t begin, index_t end, int) {
    for (index_t p = begin; p < end; ++p) {
      const auto& c = conditions.size() == 1 ? conditions[0] : conditions[static_cast<std::size_t>(p)];
      auto in = normalized.spectrum(p);
      auto out = sigma.spectrum(p);
      for (std::size_t b = 0; b < in.size(); ++b) {
        const double s = static_cast<double>(in[b]);
        out[b] = std::isfinite(s) ? static_cast<U>(normalized_sigma(model, c, s))
                                  : static_cast<U>(std::nan(""));
      }
    }
  });
}

// The percent point of a pair scales with the reference dose: for a model
// sigma^2(N) = a N - b (sCMOS, Poisson with b = 0, ...) relative noise falls
// as 1/sqrt(c_ref) only when b = 0. dose_scaled() returns the conditions with
// c_ref multiplied by `factor` (same sample, longer exposure).
inline measurement_conditions dose_scaled(measurement_conditions c, double factor) {
  require(std::isfinite(factor) && factor > 0, "dose_scaled", "factor", "must be finite and > 0",
          factor);
  c.c_ref *= factor;
  return c;
}

}  // namespace spectromine
