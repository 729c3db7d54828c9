// spectromine/synth/render.hpp: a scene measured through the physical noise
// model of Ito 2024 (Methods, "Adding noise to the synthetic data";
// docs/METHODS.md section 2), giving an absorbance cube mu*t and its truth.
//
// For a sample pixel of normalized spectrum s and thickness t:
//   mut   = t (mut_low + s (mut_high - mut_low))
//   c_ref ~ counts(c_ref),  c_trans ~ counts(c_ref exp(-mut))  (noise model, e.g. sCMOS)
//   mu_t  = ln(c_ref_noisy / c_trans_noisy)
// For a no-sample pixel mut = empty_mut (flat; default 0: the beam passes
// unattenuated, only detector noise remains) -- what a field of view without
// sample looks like, so the mask step has something real to reject.
// The draws are noise/realization.hpp's noisy_mut; randomness comes from one
// seed, one stream per block of `pixels_per_stream` pixels (core/random.hpp),
// so the same seed gives the same cube on every platform and for every
// thread count, and different seeds give independent noise.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/realization.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/synth/scene.hpp"

namespace spectromine::synth {

struct render_options {
  measurement_conditions conditions{};  // paper: (2.7e4, 0.36, 1.56)
  std::uint64_t seed = 0;
  bool noise = true;                    // false: the clean mu*t
  double empty_mut = 0.0;               // mu*t of no-sample pixels
  double min_counts = 1.0;              // see realization_options::min_counts
  index_t pixels_per_stream = 64;
  int threads = 0;                      // 0 = all cores; never changes the result

  void validate() const {
    conditions.validate("synth::render");
    require(std::isfinite(empty_mut), "synth::render", "empty_mut", "must be finite", empty_mut);
    require(min_counts > 0, "synth::render", "min_counts", "must be > 0", min_counts);
    require(pixels_per_stream > 0, "synth::render", "pixels_per_stream", "must be > 0",
            pixels_per_stream);
  }
  nlohmann::json to_json() const {
    return {{"conditions", conditions.to_json()}, {"seed", seed},       {"noise", noise},
            {"empty_mut", empty_mut},            {"min_counts", min_counts},
            {"pixels_per_stream", pixels_per_stream}};
  }
};

struct synthetic_cube {
  cube<float> mut;         // H x W x E absorbance mu*t
  label_image truth;       // phase labels, 0 = no sample
  image<float> thickness;  // the thickness field used
  energy_grid energy;
};

// Renders the scene into `out` (H x W x E, float or double) given its truth.
template <noise_model N, class U>
void render_into(const scene& s, const_label_view truth, cube_view<U> out,
                 const render_options& options = {}, const N& model = {}) {
  constexpr std::string_view c = "synth::render";
  s.validate();
  options.validate();
  if (options.noise) spectromine::detail::validate_noise_model(model);
  require(truth.rows() == s.shape.rows && truth.cols() == s.shape.cols, c, "truth shape",
          "must equal the scene's shape", truth.rows() * truth.cols());
  require(out.shape() == s.shape, c, "output shape", "must equal the scene's shape",
          out.pixel_count());
  require(out.bands() == s.bands(), c, "output bands",
          "must equal the energy count " + std::to_string(s.bands()), out.bands());
  const auto& cond = options.conditions;
  const index_t pixels = s.shape.pixels(), bands = s.bands(), cols = s.shape.cols;
  const auto n_phases = static_cast<label_t>(s.phases.size());
  // Labels are checked before the parallel loop: workers must not throw.
  for (index_t r = 0; r < truth.rows(); ++r)
    for (index_t col = 0; col < truth.cols(); ++col)
      require(truth(r, col) >= 0 && truth(r, col) <= n_phases, c, "truth label",
              "must be 0 or a phase label 1.." + std::to_string(n_phases), truth(r, col));
  const index_t per = options.pixels_per_stream;
  parallel_for((pixels + per - 1) / per, options.threads, 1, [&](index_t b0, index_t b1, int) {
    std::vector<double> clean(static_cast<std::size_t>(bands));
    for (index_t block = b0; block < b1; ++block) {
      auto engine = make_engine(options.seed, static_cast<std::uint64_t>(block));
      for (index_t p = block * per; p < std::min(pixels, (block + 1) * per); ++p) {
        const index_t r = p / cols, col = p % cols;
        const label_t l = truth(r, col);
        if (l == 0) {
          std::fill(clean.begin(), clean.end(), options.empty_mut);
        } else {
          const auto& spec = s.phases[static_cast<std::size_t>(l - 1)].spectrum;
          const double t = s.thickness.at(r, col, cols);
          for (index_t i = 0; i < bands; ++i)
            clean[static_cast<std::size_t>(i)] = t * cond.mut(spec[static_cast<std::size_t>(i)]);
        }
        auto o = out.spectrum(p);
        if (options.noise) {
          noisy_mut(model, cond.c_ref, std::span<const double>(clean), o, engine,
                    options.min_counts);
        } else {
          for (index_t i = 0; i < bands; ++i)
            o[static_cast<std::size_t>(i)] = static_cast<U>(clean[static_cast<std::size_t>(i)]);
        }
      }
    }
  });
}

// The scene's truth, thickness and noisy mu*t cube (float32).
template <noise_model N = scmos_noise>
synthetic_cube render(const scene& s, const render_options& options = {}, const N& model = {}) {
  synthetic_cube out;
  out.truth = rasterize(s);
  out.thickness = thickness_map(s);
  out.energy = s.energy;
  out.mut = cube<float>(s.shape, s.bands());
  render_into(s, out.truth.view(), out.mut.view(), options, model);
  return out;
}

}  // namespace spectromine::synth
