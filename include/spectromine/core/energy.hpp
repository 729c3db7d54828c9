// spectromine/core/energy.hpp: validation of energy grids.
//
// An energy grid is a std::vector<double> of eV values, finite and strictly
// increasing, one per band of the cube it describes.
#pragma once

#include <cmath>
#include <span>
#include <string_view>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

using energy_grid = std::vector<double>;

// Throws invalid_argument naming `component` when the grid is empty, has a
// non-finite value, is not strictly increasing, or (expected_bands >= 0) has
// the wrong length.
inline void validate_energy_grid(std::span<const double> energies, std::string_view component,
                                 index_t expected_bands = -1) {
  require(!energies.empty(), component, "energy", "must not be empty", 0);
  if (expected_bands >= 0 && static_cast<index_t>(energies.size()) != expected_bands)
    throw_invalid(component, "energy count",
                  "must equal the cube's band count " + std::to_string(expected_bands),
                  energies.size());
  // Messages are built only on failure: this check runs once per spectrum in
  // per-spectrum paths, where formatting every energy would dominate the cost.
  for (std::size_t i = 0; i < energies.size(); ++i) {
    if (!std::isfinite(energies[i]))
      throw_invalid(component, "energy[" + std::to_string(i) + "]", "must be finite", energies[i]);
    if (i > 0 && !(energies[i] > energies[i - 1]))
      throw_invalid(component, "energy[" + std::to_string(i) + "]",
                    "must be strictly greater than the previous energy " +
                        std::to_string(energies[i - 1]),
                    energies[i]);
  }
}

}  // namespace spectromine
