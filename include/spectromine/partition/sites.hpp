// spectromine/partition/sites.hpp: a set of Voronoi sites (Ito 2024) and its
// file form.
//
// A site is a normalized spectrum (0 before the edge, ~1 after) on an energy
// grid, with a name that says which references and weights made it, e.g.
// `fe2o3_rt1_xmu:0.50+feo_rt1_xmu:0.50` (see site_generation.hpp), so that a
// label of the phase map reads chemically.
//
// File form (docs/CLI.md, SITES.csv): io/csv.hpp's spectra table: header
// `energy,<site name>,...`, first column energy (eV), one column per site.
// Names are unique within a file (a repeated name is a format error).
//
// Grids: a site set is used on a cube's grid. sites_on_grid() returns the set
// unchanged when the grids agree (to 1e-9 of the span), interpolates it
// linearly when the sites' grid covers the cube's, and otherwise throws
// invalid_argument naming the first energy the sites do not cover: the
// sites were made for another edge or range, and extrapolating a spectrum
// would be a silent wrong answer.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "spectromine/core/energy.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/csv.hpp"
#include "spectromine/preprocess/interpolate.hpp"

namespace spectromine::partition {

struct site_set {
  energy_grid energy;                        // eV, strictly increasing
  std::vector<std::string> names;            // one per site, unique
  std::vector<std::vector<double>> spectra;  // spectra[s][i]: site s at energy[i]

  index_t size() const noexcept { return static_cast<index_t>(spectra.size()); }
  index_t bands() const noexcept { return static_cast<index_t>(energy.size()); }
  std::span<const double> spectrum(index_t s) const noexcept {
    return spectra[static_cast<std::size_t>(s)];
  }

  // Throws invalid_argument naming `component` when the set is empty, the
  // grid is invalid, a spectrum has the wrong length, a non-finite value or
  // is constant (a constant spectrum cannot be standardized: it has no
  // direction in the Pearson feature space), or names are missing/repeated.
  void validate(std::string_view component = "sites") const {
    require(!spectra.empty(), component, "site count", "must be > 0", 0);
    validate_energy_grid(energy, component);
    require(names.size() == spectra.size(), component, "names",
            "must name every site (" + std::to_string(spectra.size()) + " sites)", names.size());
    std::set<std::string> seen;
    for (std::size_t s = 0; s < spectra.size(); ++s) {
      require(spectra[s].size() == energy.size(), component,
              "site " + std::to_string(s) + " length",
              "must equal the energy count " + std::to_string(energy.size()), spectra[s].size());
      double lo = spectra[s].front(), hi = lo;
      for (std::size_t i = 0; i < spectra[s].size(); ++i) {
        require(std::isfinite(spectra[s][i]), component,
                "site \"" + names[s] + "\" value[" + std::to_string(i) + "]", "must be finite",
                spectra[s][i]);
        lo = std::min(lo, spectra[s][i]);
        hi = std::max(hi, spectra[s][i]);
      }
      require(hi > lo, component, "site \"" + names[s] + "\"",
              "must not be constant (it cannot be standardized)", lo);
      require(!names[s].empty(), component, "site " + std::to_string(s) + " name",
              "must not be empty", names[s]);
      require(seen.insert(names[s]).second, component, "site name", "must be unique",
              names[s]);
    }
  }
};

// Writes SITES.csv atomically.
inline void write_sites_csv(const std::filesystem::path& path, const site_set& sites) {
  sites.validate("write_sites_csv");
  io::write_spectra_csv(path, sites.energy, sites.names, sites.spectra);
}

// Reads SITES.csv; format_error (naming the file) when it is not a valid set.
inline site_set read_sites_csv(const std::filesystem::path& path) {
  auto table = io::read_spectra_csv(path);
  site_set sites{std::move(table.energy), std::move(table.names), std::move(table.columns)};
  try {
    sites.validate("sites");
  } catch (const invalid_argument& e) {
    throw format_error(path, e.what());
  }
  return sites;
}

// The sites on the target grid (see the header comment for the policy).
inline site_set sites_on_grid(const site_set& sites, std::span<const double> target) {
  validate_energy_grid(target, "sites_on_grid");
  const auto& e = sites.energy;
  const double span = e.back() - e.front();
  const double tol = 1e-9 * std::max(span, 1.0);
  if (e.size() == target.size()) {
    bool same = true;
    for (std::size_t i = 0; i < e.size() && same; ++i) same = std::abs(e[i] - target[i]) <= tol;
    if (same) {
      site_set out = sites;
      out.energy.assign(target.begin(), target.end());
      return out;
    }
  }
  for (std::size_t i = 0; i < target.size(); ++i)
    require(target[i] >= e.front() - tol && target[i] <= e.back() + tol, "sites", "energy",
            "of the cube must lie inside the sites' grid [" + std::to_string(e.front()) + ", " +
                std::to_string(e.back()) +
                "] eV (the sites were made for another energy range; regenerate them with "
                "`spectromine sites --energy` on the cube's grid)",
            target[i]);
  site_set out;
  out.energy.assign(target.begin(), target.end());
  out.names = sites.names;
  out.spectra.reserve(sites.spectra.size());
  for (const auto& s : sites.spectra)
    out.spectra.push_back(interpolate_linear(e, s, target, extrapolation::hold));
  return out;
}

}  // namespace spectromine::partition
