// The shared steps of the reproduce programs: the paper's energy grid, the Fe
// K library, a synthetic scene through the noise model, and the cluster
// pipeline of `spectromine cluster` (normalize -> standardize -> partition ->
// repair), scored against the truth.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "spectromine/analysis/compare.hpp"
#include "spectromine/analysis/summaries.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/partition/kmeans.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "spectromine/partition/site_generation.hpp"
#include "spectromine/partition/sites.hpp"
#include "spectromine/preprocess/normalize.hpp"
#include "spectromine/preprocess/standardize.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/structure_core.hpp"
#include "spectromine/repair/window_core.hpp"
#include "spectromine/synth/phase.hpp"
#include "spectromine/synth/presets.hpp"
#include "spectromine/synth/render.hpp"

namespace repro {

using namespace spectromine;

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Ito 2024: 178 energies over 7009.2 - 7321.2 eV (uniform here).
inline energy_grid paper_grid() {
  energy_grid e(178);
  for (std::size_t i = 0; i < e.size(); ++i) e[i] = 7009.2 + (7321.2 - 7009.2) * i / 177.0;
  return e;
}

// The noise levels: f = 0 is the paper's site-reduction setting
// (2.7e4, 0.36, 1.56), f = 1 its high-noise test (2.0e4, 0.5, 2.5); f > 1
// continues the same line (fewer counts, thicker sample).
inline measurement_conditions noise_level(double f) {
  return {2.7e4 + f * (2.0e4 - 2.7e4), 0.36 + f * (0.5 - 0.36), 1.56 + f * (2.5 - 1.56)};
}

// Every Fe K reference of data/ that covers the grid within 100 eV.
struct fe_library {
  partition::site_library library;
  std::vector<std::string> skipped;
};
inline fe_library load_fe_library(const std::filesystem::path& data, const energy_grid& grid) {
  fe_library out;
  std::vector<io::reference_spectrum> ok;
  for (auto& r : io::read_reference_folder(data / "references" / "Fe_K")) {
    try {
      (void)partition::make_library({r}, grid);
      ok.push_back(std::move(r));
    } catch (const invalid_argument&) {
      out.skipped.push_back(r.name);
    }
  }
  out.library = partition::make_library(ok, grid);
  return out;
}

inline synth::phase library_phase(const partition::site_library& lib, const std::string& name) {
  for (std::size_t k = 0; k < lib.names.size(); ++k)
    if (lib.names[k] == name) return {name, lib.spectra[k]};
  throw_invalid("reproduce", "phase", "is not in the library", name);
}

// Normalized + standardized copies of a mu*t cube, and the mask of pixels
// that hold sample (given) and survived both steps.
struct prepared {
  cube<float> normalized, standardized;
  pixel_mask mask;
};
inline prepared prepare(const cube<float>& mut, const energy_grid& energy, const pixel_mask& sample,
                        int threads) {
  prepared p;
  p.normalized = cube<float>(mut.shape(), mut.bands());
  normalize_cube_options n;
  n.threads = threads;
  n.keep_edge_step = false;
  auto rep = normalize_cube(mut.view(), energy, n, p.normalized.view(), mask_view(sample.view()));
  p.standardized = cube<float>(mut.shape(), mut.bands());
  auto s = standardize_cube(cube_view<const float>(p.normalized.view()), p.standardized.view(),
                            mask_view(rep.valid.view()), threads);
  p.mask = std::move(s.valid);
  return p;
}

inline pixel_mask sample_of(const label_image& truth) {
  pixel_mask m(truth.shape(), 0);
  for (index_t i = 0; i < truth.shape().pixels(); ++i) m.data()[i] = truth.data()[i] != 0;
  return m;
}

// Scores of a label map against the truth.
struct score {
  int classes = 0;         // distinct labels > 0 (outliers count as a class)
  double error = 0;        // 1 - accuracy of the best one-to-one class <-> phase matching
  std::int64_t recovered = 0;  // pixels of `phase` labelled with its matched class
  std::int64_t phase_pixels = 0;
  std::int64_t class_pixels = 0;  // pixels of the class matched to `phase`
};
inline score score_against(const label_image& truth, const label_image& labels, label_t phase = 2) {
  label_image l = labels;
  // Sentinels (DBSCAN outliers) are a class of their own, as the CLI reports them.
  for (index_t i = 0; i < l.shape().pixels(); ++i)
    if (l.data()[i] < 0) l.data()[i] = std::numeric_limits<label_t>::max() + l.data()[i];
  score s;
  std::set<label_t> seen;
  for (index_t i = 0; i < l.shape().pixels(); ++i)
    if (l.data()[i] > 0) seen.insert(l.data()[i]);
  s.classes = static_cast<int>(seen.size());
  const auto m = analysis::contingency(truth.view(), l.view());
  const auto match = analysis::best_matching(m);
  s.error = 1.0 - match.accuracy;
  for (std::size_t i = 0; i < m.labels_a.size(); ++i)
    if (m.labels_a[i] == phase)
      for (std::size_t j = 0; j < m.labels_b.size(); ++j) s.phase_pixels += m(i, j);
  for (auto [a, b] : match.pairs)
    if (a == phase) {
      for (std::size_t i = 0; i < m.labels_a.size(); ++i)
        for (std::size_t j = 0; j < m.labels_b.size(); ++j)
          if (m.labels_b[j] == b) {
            s.class_pixels += m(i, j);
            if (m.labels_a[i] == phase) s.recovered += m(i, j);
          }
    }
  return s;
}

inline void window_repair(label_image& labels, const pixel_mask& mask, int k, int p, int threads) {
  repair::compose(repair::window_core{k, p, threads},
                  repair::fill{repair::fill_rule::majority, false, threads})
      .apply(labels.view(), mask.view());
}
inline void structure_repair(label_image& labels, const pixel_mask& mask, int threads) {
  repair::structure_core sc;
  sc.threads = threads;
  repair::compose(sc, repair::fill{repair::fill_rule::majority, false, threads})
      .apply(labels.view(), mask.view());
}

template <class P>
label_image run_partition(const P& partitioner, const cube<float>& input, const pixel_mask& mask) {
  label_image labels(input.shape(), 0);
  partitioner.partition(cube_view<const float>(input.view()), mask_view(mask.view()), labels.view());
  return labels;
}

inline partition::dbscan<index::kd_tree_policy> make_dbscan(const prepared& p,
                                                            const measurement_conditions& c,
                                                            int threads) {
  partition::dbscan_options d;
  d.threads = threads;
  d.auto_eps.conditions = c;
  d.noise_source = cube_view<const float>(p.normalized.view());
  return partition::dbscan<index::kd_tree_policy>(d);
}

}  // namespace repro
