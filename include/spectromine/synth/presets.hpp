// spectromine/synth/presets.hpp: the scenes of the papers' experiments, as
// ready-made scene values (each is an ordinary synth::scene: edit it freely).
//
// - needle_scene: a majority phase with a central n x n square of another
//   phase (Ito 2024, Fig. 2 / Suppl. Fig. 4: 400 x 400 Fe2O3 with a central
//   10 x 10 Fe3O4, 1/1600 of the pixels).
// - blobs_scene: a majority phase with round grains of the other phases.
// - rims_scene: grains of phase b in a matrix of phase a, each wrapped in a
//   rim of the w a + (1 - w) b mixture (a reaction or interdiffusion layer;
//   the case where a window-core repair erases a real, thin phase).
// - demo_scene: all of it plus an empty corner and a thickness undulation.
// Grains sit on a jittered grid (one per cell), so they never overlap and
// the truth is exactly what the description says. Placement randomness comes
// from the scene seed (core/random.hpp + Boost.Random): platform-stable.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/core/random.hpp"
#include "spectromine/error.hpp"
#include "spectromine/synth/phase.hpp"
#include "spectromine/synth/scene.hpp"
#include "spectromine/synth/shape.hpp"

namespace spectromine::synth {

struct needle_options {
  image_shape shape{400, 400};
  index_t needle = 10;  // side of the central square, pixels
};

inline scene needle_scene(std::span<const double> energy, const phase& majority,
                          const phase& minority, const needle_options& o = {}) {
  require(o.needle > 0 && o.needle <= std::min(o.shape.rows, o.shape.cols), "synth::needle_scene",
          "needle", "must be > 0 and fit in the image", o.needle);
  scene s;
  s.shape = o.shape;
  s.energy.assign(energy.begin(), energy.end());
  s.background = s.add_phase(majority);
  const label_t n = s.add_phase(minority);
  s.layers.push_back({centred_square(o.shape.rows, o.shape.cols, o.needle), n});
  s.validate();
  return s;
}

struct grain_options {
  image_shape shape{128, 128};
  index_t grains = 9;          // placed one per cell of a ceil(sqrt) x ceil(sqrt) grid
  double radius = 10;          // pixels
  double radius_jitter = 0.3;  // relative
  double rim_width = 0;        // pixels (rims_scene)
  std::uint64_t seed = 0;
};

namespace detail {
// Disks on a jittered grid: disk k lies inside cell k with a margin of
// `margin` pixels, so disks (and their rims) never touch each other.
inline std::vector<disk> jittered_disks(const grain_options& o, double margin) {
  constexpr std::string_view c = "synth::grains";
  require(o.grains >= 0, c, "grains", "must be >= 0", o.grains);
  require(std::isfinite(o.radius) && o.radius > 0, c, "radius", "must be > 0", o.radius);
  require(o.radius_jitter >= 0 && o.radius_jitter < 1, c, "radius_jitter", "must lie in [0, 1)",
          o.radius_jitter);
  std::vector<disk> out;
  if (o.grains == 0) return out;
  const auto side = static_cast<index_t>(std::ceil(std::sqrt(static_cast<double>(o.grains))));
  const double cell_r = static_cast<double>(o.shape.rows) / static_cast<double>(side);
  const double cell_c = static_cast<double>(o.shape.cols) / static_cast<double>(side);
  const double rmax = o.radius * (1 + o.radius_jitter);
  require(2 * (rmax + margin) < std::min(cell_r, cell_c), c, "radius",
          "is too large: " + std::to_string(o.grains) + " grains (plus rims) do not fit in a " +
              std::to_string(o.shape.rows) + " x " + std::to_string(o.shape.cols) + " field",
          o.radius);
  auto eng = make_engine(o.seed, 0x6772616eULL);  // "gran": its own stream
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  for (index_t k = 0; k < o.grains; ++k) {
    const double rad = o.radius * (1 + o.radius_jitter * (2 * u(eng) - 1));
    const double free_r = cell_r - 2 * (rad + margin), free_c = cell_c - 2 * (rad + margin);
    const double row = static_cast<double>(k / side) * cell_r + rad + margin + free_r * u(eng);
    const double col = static_cast<double>(k % side) * cell_c + rad + margin + free_c * u(eng);
    out.push_back({row, col, rad});
  }
  return out;
}
}  // namespace detail

// Majority `phases[0]` with grains of phases[1], phases[2], ... in turn.
inline scene blobs_scene(std::span<const double> energy, const std::vector<phase>& phases,
                         const grain_options& o = {}) {
  require(phases.size() >= 2, "synth::blobs_scene", "phases", "must hold at least 2 phases",
          phases.size());
  scene s;
  s.shape = o.shape;
  s.energy.assign(energy.begin(), energy.end());
  for (const auto& p : phases) s.add_phase(p);
  s.background = 1;
  const auto disks = detail::jittered_disks(o, 1.0);
  for (std::size_t k = 0; k < disks.size(); ++k)
    s.layers.push_back({disks[k], static_cast<label_t>(2 + k % (phases.size() - 1))});
  s.validate();
  return s;
}

// Matrix a, grains of b, each in a rim of mixture(a, b, mix) of width
// o.rim_width (default 3 pixels when unset). Labels: 1 = a, 2 = b, 3 = rim.
inline scene rims_scene(std::span<const double> energy, const phase& a, const phase& b,
                        grain_options o = {}, double mix = 0.5) {
  if (o.rim_width <= 0) o.rim_width = 3;
  scene s;
  s.shape = o.shape;
  s.energy.assign(energy.begin(), energy.end());
  s.background = s.add_phase(a);
  const label_t lb = s.add_phase(b);
  const label_t lr = s.add_phase(mixture(a, b, mix));
  for (const auto& d : detail::jittered_disks(o, o.rim_width + 1))
    s.layers.push_back({d, lb, o.rim_width, lr});
  s.validate();
  return s;
}

// Everything at once: matrix phases[0]; grains of phases[1] with a 3-pixel
// 50:50 rim; smaller blobs of phases[2] (when given); a central needle of
// phases[1]; an empty (no sample) corner; a gentle thickness undulation.
inline scene demo_scene(std::span<const double> energy, const std::vector<phase>& phases,
                        image_shape shape = {128, 128}, std::uint64_t seed = 0) {
  require(phases.size() >= 2, "synth::demo_scene", "phases", "must hold at least 2 phases",
          phases.size());
  require(shape.rows >= 32 && shape.cols >= 32, "synth::demo_scene", "size",
          "must be at least 32 x 32", std::min(shape.rows, shape.cols));
  grain_options g;
  g.shape = shape;
  g.grains = 4;
  g.radius = static_cast<double>(std::min(shape.rows, shape.cols)) / 12;
  g.rim_width = 3;
  g.seed = seed;
  scene s = rims_scene(energy, phases[0], phases[1], g);
  if (phases.size() >= 3) {
    const label_t l3 = s.add_phase(phases[2]);
    grain_options b = g;
    b.grains = 9;
    b.radius = g.radius / 3;
    b.seed = seed + 1;
    // Small blobs on their own grid; they may cover part of a grain: the
    // truth records whatever was painted last.
    for (const auto& d : detail::jittered_disks(b, 1.0)) s.layers.push_back({d, l3});
  }
  const index_t n = std::max<index_t>(2, std::min(shape.rows, shape.cols) / 40);
  s.layers.push_back({centred_square(shape.rows, shape.cols, n), 2});
  // Empty corner: a quarter disk at the top-left.
  s.layers.push_back({disk{0, 0, static_cast<double>(std::min(shape.rows, shape.cols)) / 6}, 0});
  s.thickness.amplitude = 0.1;
  s.thickness.gradient = 0.2;
  s.thickness.period = static_cast<double>(std::max(shape.rows, shape.cols));
  s.validate();
  return s;
}

}  // namespace spectromine::synth
