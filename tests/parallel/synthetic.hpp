// A small noisy cube of three phases with known sites, and the in-memory
// pipeline the tiled and MPI versions must reproduce label for label.
#pragma once

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "spectromine/partition/sites.hpp"
#include "spectromine/preprocess/normalize.hpp"
#include "spectromine/preprocess/standardize.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/window_core.hpp"

namespace parallel_test {

using namespace spectromine;

// A scratch folder, removed on scope exit; unique per name and process (the
// MPI tests run this executable as several processes at once).
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("spectromine_parallel_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::vector<double> phase_spectrum(const std::vector<double>& e, double shift, double white) {
  std::vector<double> mu(e.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double x = e[i] - 7120.0 - shift;
    mu[i] = 0.3 + 0.0004 * (e[i] - 7000.0) + 1.0 / (1.0 + std::exp(-x / 2.5)) +
            white * std::exp(-(x - 6) * (x - 6) / 30.0);
  }
  return mu;
}

struct scene {
  std::vector<double> energy;
  partition::site_set sites;
  cube<float> data;
  index_t invalid = 0;  // set by reference_pipeline
};

inline scene make_scene(image_shape s, std::uint64_t seed) {
  scene sc;
  for (int i = 0; i < 60; ++i) sc.energy.push_back(7000.0 + 5.0 * i);
  sc.sites.energy = sc.energy;
  const double shifts[3] = {0, 3, 6}, whites[3] = {0.2, 0.5, 0.1};
  for (int k = 0; k < 3; ++k) {
    sc.sites.names.push_back("p" + std::to_string(k));
    sc.sites.spectra.push_back(phase_spectrum(sc.energy, shifts[k], whites[k]));
  }
  const auto E = static_cast<index_t>(sc.energy.size());
  sc.data = cube<float>(s, E);
  auto eng = make_engine(seed, 0);
  boost::random::normal_distribution<double> noise(0.0, 0.06);
  boost::random::uniform_real_distribution<double> u(0, 1);
  for (index_t r = 0; r < s.rows; ++r)
    for (index_t c = 0; c < s.cols; ++c) {
      const int ph = static_cast<int>((r + 2 * c) / 13 % 3);
      const double scale = 0.8 + 0.4 * u(eng);
      for (index_t b = 0; b < E; ++b)
        sc.data(r, c, b) = static_cast<float>(
            scale * sc.sites.spectra[static_cast<std::size_t>(ph)][static_cast<std::size_t>(b)] + noise(eng));
      if (u(eng) < 0.02) sc.data(r, c, 5) = std::numeric_limits<float>::quiet_NaN();
    }
  return sc;
}

inline pre_edge_options scene_edge() {
  pre_edge_options edge;
  edge.e0 = 7120.0;
  return edge;
}

struct reference_result {
  label_image raw, repaired;
  pixel_mask valid;
};

// The in-memory pipeline, one thread.
inline reference_result reference_pipeline(const scene& sc, int k = 5, int p = 23) {
  cube<float> data = sc.data;
  const image_shape s = data.shape();
  normalize_cube_options n;
  n.edge = scene_edge();
  n.threads = 1;
  n.keep_edge_step = false;
  auto nrep = normalize_cube(cube_view<const float>(data.view()), sc.energy, n, data.view());
  cube<float> z(s, data.bands());
  auto srep = standardize_cube(cube_view<const float>(data.view()), z.view(), mask_view(nrep.valid.view()), 1);
  partition::nearest_site_options lo;
  lo.threads = 1;
  partition::nearest_site_index index(sc.sites, lo);
  reference_result out{label_image(s, 0), label_image(), std::move(srep.valid)};
  // The CLI labels the normalized spectra (nearest_site standardizes in double itself).
  index.assign(cube_view<const float>(data.view()), mask_view(out.valid.view()), out.raw.view());
  out.repaired = out.raw;
  repair::compose(repair::window_core{k, p, 1}, repair::fill{repair::fill_rule::majority, false, 1})
      .apply(out.repaired.view(), mask_view(out.valid.view()));
  return out;
}

}  // namespace parallel_test
