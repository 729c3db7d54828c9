// spectromine/synth/phase.hpp: the chemical phases of a synthetic scene.
//
// A phase is a normalized absorption spectrum (0 before the edge, ~1 after)
// on the scene's energy grid, with a name. Phases come from real reference
// spectra, prepared exactly as `spectromine sites` prepares its library
// (larch pre_edge on the reference's own grid, then linear interpolation onto
// the grid: partition::make_library), so a synthetic cube and the Voronoi
// sites made from the same references agree; or they are mixtures of other
// phases (a rim of 50:50 mixture around a grain, Ito 2024 section on mixed
// boundaries), named like site_generation names its mixtures.
#pragma once

#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "spectromine/core/energy.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/partition/site_generation.hpp"

namespace spectromine::synth {

struct phase {
  std::string name;
  std::vector<double> spectrum;  // normalized, on the scene's grid
};

// Normalized phases from raw reference spectra, on `grid`.
inline std::vector<phase> phases_from_references(const std::vector<io::reference_spectrum>& refs,
                                                 std::span<const double> grid,
                                                 const partition::library_options& options = {}) {
  auto lib = partition::make_library(refs, grid, options);
  std::vector<phase> out;
  out.reserve(lib.names.size());
  for (std::size_t k = 0; k < lib.names.size(); ++k)
    out.push_back({std::move(lib.names[k]), std::move(lib.spectra[k])});
  return out;
}

// The phase called `name` (the reference's file stem); invalid_argument
// listing the available names otherwise.
inline const phase& find_phase(const std::vector<phase>& phases, std::string_view name) {
  for (const auto& p : phases)
    if (p.name == name) return p;
  std::string names;
  for (const auto& p : phases) names += (names.empty() ? "" : ", ") + p.name;
  throw_invalid("synth", "phase", "must name one of the references (" + names + ")",
                std::string(name));
}

// The linear mixture sum_k w_k phase_k (weights need not sum to 1: a thinner
// phase is a smaller weight). Name: "a:0.50+b:0.50".
inline phase mixture(const std::vector<std::pair<const phase*, double>>& parts) {
  require(!parts.empty(), "synth::mixture", "parts", "must not be empty", 0);
  phase out;
  const std::size_t bands = parts.front().first->spectrum.size();
  out.spectrum.assign(bands, 0.0);
  for (const auto& [p, w] : parts) {
    require(p != nullptr, "synth::mixture", "phase", "must not be null", 0);
    require(p->spectrum.size() == bands, "synth::mixture", "phase \"" + p->name + "\" length",
            "must equal the first phase's length " + std::to_string(bands), p->spectrum.size());
    require(std::isfinite(w) && w >= 0, "synth::mixture", "weight", "must be finite and >= 0", w);
    for (std::size_t i = 0; i < bands; ++i) out.spectrum[i] += w * p->spectrum[i];
    char buf[32];
    std::snprintf(buf, sizeof buf, ":%.2f", w);
    out.name += (out.name.empty() ? "" : "+") + p->name + buf;
  }
  return out;
}

// Convenience: w a + (1 - w) b.
inline phase mixture(const phase& a, const phase& b, double w = 0.5) {
  require(std::isfinite(w) && w >= 0 && w <= 1, "synth::mixture", "w", "must lie in [0, 1]", w);
  return mixture({{&a, w}, {&b, 1.0 - w}});
}

}  // namespace spectromine::synth
