// Real Fe K references (data/references/Fe_K) on the paper's grid
// (7009.2..7321.2 eV, 178 points): normalized on their own grid with larch's
// pre_edge defaults, then PCHIP-interpolated. Most files start at ~7012 eV,
// so up to 5 eV of flat pre-edge are extrapolated linearly; spectra missing
// more than that (or ending before 7321.2 eV) are left out.
#pragma once

#include <string>
#include <vector>

#include "helpers.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/preprocess/interpolate.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace nm_test {

struct named_spectrum {
  std::string name;
  std::vector<double> norm;
};

inline std::vector<named_spectrum> fe_references_on_paper_grid() {
  const auto grid = paper_grid();
  std::vector<named_spectrum> out;
  for (const auto& ref : spectromine::io::read_reference_folder(SPECTROMINE_TEST_DATA_DIR "/references/Fe_K")) {
    if (ref.energy.front() > grid.front() + 5.0 || ref.energy.back() < grid.back()) continue;
    const auto pe = spectromine::pre_edge(ref.energy, ref.mu);
    out.push_back({ref.name, spectromine::interpolate_pchip(ref.energy, pe.norm, grid,
                                                            spectromine::extrapolation::linear)});
  }
  return out;
}

}  // namespace nm_test
