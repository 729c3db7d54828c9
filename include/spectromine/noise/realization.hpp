// spectromine/noise/realization.hpp: seeded, reproducible noisy copies of
// spectra, simulated the way they are measured (Ito 2024, Methods, "Adding
// noise to the synthetic data"): the reference and the transmitted counts of
// every band get their own detector noise, then
//   mu_t = ln(c_ref_noisy / c_trans_noisy),  s = (mu_t - mut_low) / (mut_high - mut_low).
//
// Counts are drawn as Normal(N, variance(N)) (what the published code does),
// or by the model's own sampler when it has one (poisson_noise: exact Poisson).
// Randomness: one user seed; every block of `pixels_per_stream` pixels gets
// its own stream (core/random.hpp), so a cube's noise is the same whatever
// the thread count, and a tile of a scene can be regenerated alone.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/random/normal_distribution.hpp>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/propagation.hpp"

namespace spectromine {

struct realization_options {
  std::uint64_t seed = 0;
  // A drawn count below this is clamped to it (a detector never reports
  // <= 0 counts after dark subtraction; ln() needs a positive value). At the
  // paper's conditions (c_trans ~ 5,000) this never happens; it guards
  // simulations of opaque pixels.
  double min_counts = 1.0;
  index_t pixels_per_stream = 64;  // cube functions: pixels sharing one random stream
  int threads = 0;                 // cube functions: 0 = all cores
};

// One draw of a count with expectation `expected`.
template <noise_model N>
double draw_counts(const N& model, double expected, random_engine& engine) {
  if constexpr (sampling_noise_model<N>) {
    return model.sample(expected, engine);
  } else {
    boost::random::normal_distribution<double> normal(0.0, 1.0);
    return expected + std::sqrt(model.variance(expected)) * normal(engine);
  }
}

namespace detail {
// One band: noisy mu*t for expected mu*t (NaN stays NaN, with no draw).
template <noise_model N>
double noisy_band_mut(const N& model, double c_ref, double mut, random_engine& engine,
                      double min_counts) {
  if (!std::isfinite(mut)) return std::nan("");
  const double ref = std::max(draw_counts(model, c_ref, engine), min_counts);
  const double trans = std::max(draw_counts(model, c_ref * std::exp(-mut), engine), min_counts);
  return std::log(ref / trans);
}
}  // namespace detail

// A noisy mu*t spectrum for a clean mu*t spectrum and reference counts c_ref.
template <noise_model N, class T, class U>
void noisy_mut(const N& model, double c_ref, std::span<const T> clean_mut, std::span<U> out,
               random_engine& engine, double min_counts = 1.0) {
  require(out.size() == clean_mut.size(), "noisy_mut", "output length",
          "must equal the spectrum length " + std::to_string(clean_mut.size()), out.size());
  for (std::size_t i = 0; i < clean_mut.size(); ++i)
    out[i] = static_cast<U>(
        detail::noisy_band_mut(model, c_ref, static_cast<double>(clean_mut[i]), engine, min_counts));
}

// A noisy normalized spectrum (or, with as_mut, its noisy mu*t) for a clean
// normalized spectrum at `conditions`.
template <noise_model N, class T, class U>
void noisy_normalized(const N& model, const measurement_conditions& conditions,
                      std::span<const T> clean, std::span<U> out, random_engine& engine,
                      double min_counts = 1.0, bool as_mut = false) {
  require(out.size() == clean.size(), "noisy_normalized", "output length",
          "must equal the spectrum length " + std::to_string(clean.size()), out.size());
  const double step = conditions.step();
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const double mut = detail::noisy_band_mut(
        model, conditions.c_ref, conditions.mut(static_cast<double>(clean[i])), engine, min_counts);
    out[i] = static_cast<U>(as_mut ? mut : (mut - conditions.mut_low) / step);
  }
}

// `count` noisy copies of one clean normalized spectrum, row-major
// (count x bands); copy k uses stream k of the seed.
template <noise_model N, class T>
std::vector<double> noisy_copies(const N& model, const measurement_conditions& conditions,
                                 std::span<const T> clean, index_t count,
                                 const realization_options& options = {}) {
  detail::validate_noise_model(model);
  conditions.validate("noisy_copies");
  require(count >= 0, "noisy_copies", "count", "must be >= 0", count);
  const std::size_t bands = clean.size();
  std::vector<double> out(static_cast<std::size_t>(count) * bands);
  const index_t per = std::max<index_t>(options.pixels_per_stream, 1);
  parallel_for((count + per - 1) / per, options.threads, 1, [&](index_t b0, index_t b1, int) {
    for (index_t block = b0; block < b1; ++block) {
      auto engine = make_engine(options.seed, static_cast<std::uint64_t>(block));
      for (index_t k = block * per; k < std::min(count, (block + 1) * per); ++k)
        noisy_normalized(model, conditions, clean,
                         std::span<double>(out.data() + static_cast<std::size_t>(k) * bands, bands),
                         engine, options.min_counts);
    }
  });
  return out;
}

enum class realization_output {
  normalized,  // (mu_t - mut_low) / step, what clustering reads
  mut,         // mu_t itself (a raw absorbance cube, e.g. a synthetic scene)
};

// Noisy realization of a clean normalized cube. `conditions`: one entry for
// all pixels or one per pixel (row-major). NaN clean values stay NaN.
template <noise_model N, class T, class U>
void noisy_cube(const N& model, std::span<const measurement_conditions> conditions,
                cube_view<T> clean, cube_view<U> out, realization_output what,
                const realization_options& options = {}) {
  constexpr std::string_view component = "noisy_cube";
  detail::validate_noise_model(model);
  require(out.shape() == clean.shape(), component, "output shape", "must equal the cube's shape",
          out.pixel_count());
  require(out.bands() == clean.bands(), component, "output bands",
          "must equal the cube's band count " + std::to_string(clean.bands()), out.bands());
  const index_t pixels = clean.pixel_count();
  require(conditions.size() == 1 || static_cast<index_t>(conditions.size()) == pixels, component,
          "conditions count", "must be 1 or the pixel count " + std::to_string(pixels),
          conditions.size());
  require(options.min_counts > 0, component, "min_counts", "must be > 0", options.min_counts);
  for (const auto& c : conditions) c.validate(component);
  const index_t per = std::max<index_t>(options.pixels_per_stream, 1);
  parallel_for((pixels + per - 1) / per, options.threads, 1, [&](index_t b0, index_t b1, int) {
    for (index_t block = b0; block < b1; ++block) {
      auto engine = make_engine(options.seed, static_cast<std::uint64_t>(block));
      for (index_t p = block * per; p < std::min(pixels, (block + 1) * per); ++p) {
        const auto& c =
            conditions.size() == 1 ? conditions[0] : conditions[static_cast<std::size_t>(p)];
        const std::span<const std::remove_const_t<T>> in = clean.spectrum(p);
        auto o = out.spectrum(p);
        noisy_normalized(model, c, in, o, engine, options.min_counts,
                         what == realization_output::mut);
      }
    }
  });
}

// Convenience: one set of conditions for every pixel.
template <noise_model N, class T, class U>
void noisy_cube(const N& model, const measurement_conditions& conditions, cube_view<T> clean,
                cube_view<U> out, realization_output what, const realization_options& options = {}) {
  noisy_cube(model, std::span<const measurement_conditions>(&conditions, 1), clean, out, what,
             options);
}

}  // namespace spectromine
