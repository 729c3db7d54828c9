// The paper's synthetic scene (Ito 2024, Fig. 3): a majority phase with a
// central 10 x 10 needle of another phase, physical sCMOS noise at the
// site-reduction conditions and at the high-noise conditions; after labelling
// with generated sites and the spatial repair (compose(window_core{5, 23},
// fill)), the needle is its own cluster. Two sizes: 60 x 60 (needle 1/36)
// and the paper's 400 x 400 (needle 1/1600 of the image).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>

#include "spectromine/core/cube.hpp"
#include "spectromine/noise/realization.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "spectromine/partition/site_generation.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/window_core.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;

TEST_CASE("voronoi scene: the needle is its own cluster after repair") {
  sm::energy_grid grid;
  for (int i = 0; i < 178; ++i) grid.push_back(7009.2 + (7321.2 - 7009.2) * i / 177.0);
  const auto lib = sp::load_library(
      std::filesystem::path(SPECTROMINE_TEST_DATA_DIR) / "references" / "Fe_K", grid);
  sp::site_generation_options go;  // the paper's conditions (2.7e4, 0.36, 1.56)
  go.trials = 3000;
  go.denseness_trials = 0;
  const auto sites = sp::generate_sites(lib, go).sites;
  auto index_of = [&](const std::string& name) {
    for (std::size_t k = 0; k < lib.names.size(); ++k)
      if (lib.names[k] == name) return k;
    FAIL("no reference " << name);
    return std::size_t{0};
  };
  // The phases are the sites that the Fe2O3 and FeO references fall into:
  // sites are spaced so that a site's own noisy copies land elsewhere with
  // probability ~1e-4 (the reduction limit), which is what lets the repair
  // keep a 10 x 10 needle. A reference itself may sit near a cell boundary
  // ("the ground-truth spectra only partially match the site points",
  // Ito 2024), and is then split between neighbouring cells.
  const sp::nearest_site_partitioner voronoi(sites);
  const auto majority_site = voronoi.index().reference_site(
      std::span<const double>(lib.spectra[index_of("fe2o3_rt1_xmu")]));
  const auto needle_site = voronoi.index().reference_site(
      std::span<const double>(lib.spectra[index_of("feo_rt1_xmu")]));
  REQUIRE(majority_site != needle_site);
  const auto& majority = sites.spectra[static_cast<std::size_t>(majority_site)];
  const auto& needle = sites.spectra[static_cast<std::size_t>(needle_site)];
  for (const sm::index_t side : {60, 400})
  for (const auto& conditions : {sm::measurement_conditions{2.7e4, 0.36, 1.56},
                                 sm::measurement_conditions{2.0e4, 0.5, 2.5}}) {
    const sm::image_shape shape{side, side};
    const sm::index_t lo = side / 2 - 5, hi = side / 2 + 5;  // the 10 x 10 needle
    CAPTURE(side);
    CAPTURE(conditions.c_ref);
    sm::cube<float> cube(shape, 178);
    auto v = cube.view();
    auto eng = sm::make_engine(42);
    const sm::scmos_noise noise;
    for (sm::index_t r = 0; r < shape.rows; ++r)
      for (sm::index_t c = 0; c < shape.cols; ++c) {
        const bool in = r >= lo && r < hi && c >= lo && c < hi;
        sm::noisy_normalized(noise, conditions, std::span<const double>(in ? needle : majority),
                             v.spectrum(r, c), eng);
      }
    sm::label_image labels(shape, 0);
    const sm::pixel_mask mask(shape, 1);
    const auto report = voronoi.partition(sm::cube_view<const float>(v), mask.view(), labels.view());
    CHECK(report.method == "voronoi");
    std::set<sm::label_t> before(labels.storage().begin(), labels.storage().end());
    std::int64_t wrong_before = 0;  // pixels not in their phase's site before repair
    for (sm::index_t r = 0; r < shape.rows; ++r)
      for (sm::index_t c = 0; c < shape.cols; ++c) {
        const bool in = r >= lo && r < hi && c >= lo && c < hi;
        wrong_before += labels(r, c) != (in ? needle_site : majority_site) + 1;
      }
    sm::repair::compose(sm::repair::window_core{5, 23, 0}, sm::repair::fill{})
        .apply(labels.view(), mask.view());
    std::map<sm::label_t, int> inside, outside;
    for (sm::index_t r = 0; r < shape.rows; ++r)
      for (sm::index_t c = 0; c < shape.cols; ++c) {
        const bool in = r >= lo && r < hi && c >= lo && c < hi;
        ++(in ? inside : outside)[labels(r, c)];
      }
    // the needle's main label covers most of the needle and little else
    auto main = std::max_element(inside.begin(), inside.end(),
                                 [](auto& a, auto& b) { return a.second < b.second; });
    CHECK(main->second >= 90);
    CHECK(outside[main->first] <= 10);
    CHECK(main->first == needle_site + 1);
    // after repair the map has 2 classes (the paper: 2, from 11 before repair at high noise)
    std::set<sm::label_t> after(labels.storage().begin(), labels.storage().end());
    MESSAGE(side << " x " << side << ": classes before repair: " << before.size() << " ("
                  << 100.0 * static_cast<double>(wrong_before) / static_cast<double>(shape.pixels())
                  << "% misclassified), after: " << after.size() << "; needle pixels in the needle's class: "
                  << main->second << " / 100");
    CHECK(after.size() == 2);
  }
}
