// Tiled (out-of-core) pipeline == in-memory pipeline, label for label.
#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "spectromine/core/memory_size.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/parallel/tiled.hpp"
#include "spectromine/preprocess/standardize.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/window_core.hpp"
#include "synthetic.hpp"

using namespace spectromine;
namespace fs = std::filesystem;

namespace {

using parallel_test::temp_dir;

// Random label image with blobs spanning many rows (components that cross
// band borders), scattered noise pixels, sentinels, mask holes and a wide
// unlabeled gap that the fill must cross far beyond a band.
void random_labels(std::uint64_t seed, image_shape s, label_image& labels, pixel_mask& mask) {
  auto eng = make_engine(seed, 0);
  boost::random::uniform_int_distribution<int> lab(1, 4), pct(0, 99);
  labels = label_image(s, 0);
  mask = pixel_mask(s, 1);
  for (index_t r = 0; r < s.rows; ++r)
    for (index_t c = 0; c < s.cols; ++c) {
      // diagonal stripes of width ~6 -> long components crossing bands
      label_t l = static_cast<label_t>(1 + ((r + c) / 6) % 3);
      if (c > s.cols / 2 && r > s.rows / 3) l = 4;
      const int p = pct(eng);
      if (p < 12) l = static_cast<label_t>(lab(eng));  // noise pixels
      if (p == 12) l = labels::outlier;
      if (p >= 13 && p < 16) l = 0;
      labels(r, c) = l;
      if (pct(eng) < 4) mask(r, c) = 0;
    }
  // an unlabeled gap of many rows (fill must travel far)
  for (index_t r = s.rows / 4; r < s.rows / 4 + 20 && r < s.rows; ++r)
    for (index_t c = 0; c < s.cols; ++c) labels(r, c) = 0;
  // an isolated unreachable hole (never filled): ring of no-sample around zeros
  if (s.rows > 10 && s.cols > 10) {
    for (index_t r = 1; r <= 5; ++r)
      for (index_t c = 1; c <= 5; ++c) {
        const bool ring = r == 1 || r == 5 || c == 1 || c == 5;
        mask(r, c) = ring ? 0 : 1;
        if (!ring) labels(r, c) = 0;
      }
  }
}

label_image reference_repair(label_image labels, const pixel_mask& mask, int k, int p, bool use_mask,
                             int threads) {
  repair::compose(repair::window_core{k, p, threads},
                  repair::fill{repair::fill_rule::majority, false, threads})
      .apply(labels.view(), use_mask ? mask_view(mask.view()) : mask_view());
  return labels;
}

}  // namespace

TEST_CASE("tiled_repair equals the in-memory window_core + fill for every band height") {
  temp_dir dir("repair");
  const image_shape s{41, 23};
  for (std::uint64_t seed : {1u, 2u}) {
    label_image labels;
    pixel_mask mask;
    random_labels(seed, s, labels, mask);
    io::write_npy_labels(dir.path / "in.npy", labels.view());
    io::write_npy_mask(dir.path / "mask.npy", mask.view());
    for (bool use_mask : {true, false}) {
      for (auto [k, p] : {std::pair{5, 23}, std::pair{3, 7}, std::pair{7, 30}}) {
        const label_image expected = reference_repair(labels, mask, k, p, use_mask, 1);
        // the reference really changed something (removed and filled)
        index_t changed = 0;
        for (index_t i = 0; i < s.pixels(); ++i) changed += expected.data()[i] != labels.data()[i];
        CHECK(changed > 0);
        auto in = parallel::npy_image_file<label_t>::open(dir.path / "in.npy");
        auto m = parallel::npy_image_file<std::uint8_t>::open(dir.path / "mask.npy");
        for (index_t band : {1, 2, 3, 4, 6, 10, 41}) {
          for (int threads : {1, 2}) {
            CAPTURE(seed); CAPTURE(use_mask); CAPTURE(k); CAPTURE(band); CAPTURE(threads);
            {
              auto out = parallel::npy_image_file<label_t>::create(dir.path / "out.npy", s);
              parallel::tiled_repair_options o;
              o.k_size = k;
              o.p_num = p;
              parallel::tiling_options t;
              t.band_rows = band;
              t.threads = threads;
              auto rep = parallel::tiled_repair(in, use_mask ? &m : nullptr, out, dir.path / "cored.npy", o, t);
              CHECK(rep.removed > 0);
              if (band <= 4) CHECK(rep.fill_retries > 0);  // the 20-row gap forces wider halos
              CHECK_FALSE(fs::exists(dir.path / "cored.npy"));
            }
            const label_image got = io::read_npy_labels(dir.path / "out.npy");
            REQUIRE(got.shape() == s);
            index_t diff = 0;
            for (index_t i = 0; i < s.pixels(); ++i) diff += got.data()[i] != expected.data()[i];
            CHECK(diff == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("tiled_voronoi equals the in-memory normalize -> standardize -> label -> repair") {
  temp_dir dir("voronoi");
  const image_shape s{37, 19};
  const auto sc = parallel_test::make_scene(s, 7);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  const auto ref = parallel_test::reference_pipeline(sc);
  const label_image& expected = ref.repaired;
  index_t changed = 0, invalid = 0;
  for (index_t i = 0; i < s.pixels(); ++i) {
    changed += expected.data()[i] != ref.raw.data()[i];
    invalid += ref.valid.data()[i] == 0;
  }
  CHECK(changed > 0);  // the noise gave the repair work to do
  CHECK(invalid > 0);

  for (index_t band : {1, 2, 3, 5, 16, 37}) {
    for (auto [threads, prefetch] : {std::pair{1, true}, std::pair{2, true}, std::pair{2, false}}) {
      CAPTURE(band); CAPTURE(threads); CAPTURE(prefetch);
      parallel::npy_tile_source src(dir.path / "cube.npy");
      parallel::tiled_voronoi_options o;
      o.normalize = parallel_test::scene_edge();
      o.tiling.band_rows = band;
      o.tiling.threads = threads;
      o.tiling.prefetch = prefetch;
      auto rep = parallel::tiled_voronoi(src, sc.energy, sc.sites, o, dir.path / "labels.npy", dir.path / "valid.npy");
      CHECK(rep.pixels == s.pixels());
      CHECK(rep.valid == s.pixels() - invalid);
      const label_image got = io::read_npy_labels(dir.path / "labels.npy");
      REQUIRE(got.shape() == s);
      index_t diff = 0;
      for (index_t i = 0; i < s.pixels(); ++i) diff += got.data()[i] != expected.data()[i];
      CHECK(diff == 0);
      const pixel_mask valid = io::read_npy_mask(dir.path / "valid.npy");
      CHECK(valid.storage() == ref.valid.storage());
      index_t counted = 0;
      for (std::size_t l = 1; l < rep.label_counts.size(); ++l) counted += rep.label_counts[l];
      index_t labelled = 0;
      for (auto v : expected.storage()) labelled += v > 0;
      CHECK(counted == labelled);
      // no scratch file left behind
      for (const auto& f : fs::directory_iterator(dir.path)) {
        const auto name = f.path().filename().string();
        CHECK((name == "cube.npy" || name == "labels.npy" || name == "valid.npy"));
      }
    }
  }
  // The memory budget picks the band height (here: a few rows per band).
  parallel::npy_tile_source src(dir.path / "cube.npy");
  parallel::tiled_voronoi_options o;
  o.normalize = parallel_test::scene_edge();
  o.tiling.memory_budget = 64 * 1024;
  auto rep = parallel::tiled_voronoi(src, sc.energy, sc.sites, o, dir.path / "labels.npy");
  CHECK(rep.band_rows < s.rows);
  CHECK(rep.bands > 1);
  CHECK(io::read_npy_labels(dir.path / "labels.npy").storage() == expected.storage());
}

TEST_CASE("tiled inputs are validated") {
  CHECK_THROWS_AS(parse_memory_size("12X", "tiled", "memory budget"), invalid_argument);
  CHECK(parse_memory_size("256M", "tiled", "memory budget") == 256u * 1024u * 1024u);
  CHECK(parse_memory_size("2G", "tiled", "memory budget") == 2ull * 1024u * 1024u * 1024u);
  CHECK_THROWS_AS(parallel::plan_row_bands(10, 0), invalid_argument);
  const auto b = parallel::plan_row_bands(10, 4, 2);
  REQUIRE(b.size() == 3);
  CHECK(b[1].halo0 == 2);
  CHECK(b[1].halo1 == 10);
  CHECK(b[2].rows == 2);
  temp_dir dir("validate");
  std::vector<double> energy{1, 2, 3};
  partition::site_set sites;
  io::write_npy_cube(dir.path / "cube.npy", cube<float>(image_shape{2, 2}, 3, 1.f).view());
  parallel::npy_tile_source src(dir.path / "cube.npy");
  parallel::tiled_voronoi_options o;
  o.normalize = pre_edge_options{};
  CHECK_THROWS_AS(parallel::tiled_voronoi(src, energy, sites, o, dir.path / "l.npy"), invalid_argument);  // no site
  CHECK_FALSE(fs::exists(dir.path / "l.npy"));
  sites.energy = energy;
  sites.names = {"flat"};
  sites.spectra = {{1.0, 2.0, 3.0}};
  o.sample_mask = dir.path / "missing_mask.npy";
  CHECK_THROWS_AS(parallel::tiled_voronoi(src, energy, sites, o, dir.path / "l.npy"), io_error);
  io::write_npy_mask(dir.path / "small_mask.npy", pixel_mask(image_shape{1, 2}, 1).view());
  o.sample_mask = dir.path / "small_mask.npy";  // wrong shape
  CHECK_THROWS_AS(parallel::tiled_voronoi(src, energy, sites, o, dir.path / "l.npy"), invalid_argument);
  o.sample_mask.clear();
  io::write_npy_mask(dir.path / "none.npy", pixel_mask(image_shape{2, 2}, 0).view());
  o.sample_mask = dir.path / "none.npy";  // e0 from the mean of no pixel
  CHECK_THROWS_AS(parallel::tiled_voronoi(src, energy, sites, o, dir.path / "l.npy"), invalid_argument);
  CHECK_FALSE(fs::exists(dir.path / "l.npy"));
}
