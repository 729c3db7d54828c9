// A phase-map scene built from REAL reference spectra (data/references/Fe_K)
// with the physical noise model, shared by the dbscan tests and
// benchmarks/dbscan: the Voronoi paper's layout (Ito 2024 Fig. 3), reduced
// or full size:
//   phase 1 (majority): Fe2O3 (fe_xafs_fe2o3_006),
//   phase 2 (blobs):    FeO   (fe_xafs_feo_006), three discs,
//   phase 3 (needle):   a needle x needle square at the centre holding
//                       chromite (FeCr2O4), a spinel like the paper's Fe3O4
//                       (which the bundled data lacks). Its standardized
//                       distance to Fe2O3 on this grid is 0.145, only ~1.3x
//                       the median distance between two noisy copies of one
//                       spectrum at the paper's noise (0.108): the hard case;
//   no sample (truth 0): outside a centred disc of radius 0.45 size (the
//                       mask), spectra flat.
// Each reference is normalized on its own grid (preprocess/normalize.hpp,
// larch-compatible pre_edge), interpolated onto `bands` energies evenly
// spaced over 7020..7400 eV, and every pixel gets independent sCMOS noise
// (noise/realization.hpp, seeded).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/realization.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/preprocess/interpolate.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace dbscan_scene {

struct scene {
  spectromine::cube<float> normalized;  // noisy normalized spectra
  spectromine::label_image truth;       // 0 = no sample, 1..3 phases
  spectromine::pixel_mask mask;         // 1 = sample
  std::vector<double> energy;
  std::vector<std::vector<double>> phases;  // clean normalized spectra of phases 1..3
};

inline std::vector<double> reference_on_grid(const std::string& data_dir, const std::string& name,
                                             const std::vector<double>& grid) {
  const auto ref = spectromine::io::read_reference_spectrum(data_dir + "/references/Fe_K/" + name + ".dat");
  const auto pe = spectromine::pre_edge(ref.energy, ref.mu, {});
  return spectromine::interpolate_linear(ref.energy, pe.norm, grid);
}

inline scene make_scene(const std::string& data_dir, spectromine::index_t size, spectromine::index_t bands,
                        spectromine::index_t needle, std::uint64_t seed,
                        const spectromine::measurement_conditions& conditions = {}, int threads = 0) {
  using spectromine::index_t;
  scene s;
  for (index_t b = 0; b < bands; ++b)
    s.energy.push_back(7020.0 + 380.0 * static_cast<double>(b) / static_cast<double>(bands - 1));
  const auto fe2o3 = reference_on_grid(data_dir, "fe_xafs_fe2o3_006", s.energy);
  const auto feo = reference_on_grid(data_dir, "fe_xafs_feo_006", s.energy);
  const auto chromite = reference_on_grid(data_dir, "Chromite", s.energy);
  s.phases = {fe2o3, feo, chromite};
  const spectromine::image_shape shape{size, size};
  s.truth = spectromine::label_image(shape, 0);
  s.mask = spectromine::pixel_mask(shape, 0);
  spectromine::cube<float> clean(shape, bands, 0.0f);
  const double c = (static_cast<double>(size) - 1) / 2.0;
  const double blobs[3][2] = {{0.30, 0.30}, {0.70, 0.35}, {0.40, 0.72}};
  for (index_t r = 0; r < size; ++r)
    for (index_t col = 0; col < size; ++col) {
      const double dr = static_cast<double>(r) - c, dc = static_cast<double>(col) - c;
      if (dr * dr + dc * dc > (0.45 * static_cast<double>(size)) * (0.45 * static_cast<double>(size))) continue;
      int phase = 1;
      for (const auto& b : blobs) {
        const double br = static_cast<double>(r) - b[0] * static_cast<double>(size);
        const double bc = static_cast<double>(col) - b[1] * static_cast<double>(size);
        if (br * br + bc * bc <= (0.08 * static_cast<double>(size)) * (0.08 * static_cast<double>(size))) phase = 2;
      }
      const index_t h0 = size / 2 - needle / 2;
      if (r >= h0 && r < h0 + needle && col >= h0 && col < h0 + needle) phase = 3;
      s.truth(r, col) = phase;
      s.mask(r, col) = 1;
      const auto& spec = s.phases[static_cast<std::size_t>(phase - 1)];
      for (index_t b = 0; b < bands; ++b) clean(r, col, b) = static_cast<float>(spec[static_cast<std::size_t>(b)]);
    }
  s.normalized = spectromine::cube<float>(shape, bands);
  spectromine::realization_options ro;
  ro.seed = seed;
  ro.threads = threads;
  spectromine::noisy_cube(spectromine::scmos_noise{}, conditions, spectromine::cube_view<const float>(clean.view()),
                          s.normalized.view(), spectromine::realization_output::normalized, ro);
  return s;
}

}  // namespace dbscan_scene
