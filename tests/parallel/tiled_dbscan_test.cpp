// Tiled (out-of-core) DBSCAN == the in-memory CLI route (normalize ->
// standardize -> partition::dbscan), label for label, for every block height,
// thread count, MinPts, DBSCAN*, auto eps and a repair.
#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "spectromine/core/random.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/parallel/tiled_dbscan.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/window_core.hpp"
#include "synthetic.hpp"

using namespace spectromine;
namespace fs = std::filesystem;

namespace {

using parallel_test::temp_dir;

// 3 phases in diagonal stripes (each phase spread over every row band, so
// clusters must be merged across blocks), a scale spread, noise, mixtures of
// two phases (borders / noise), NaN pixels and a mask with holes.
struct dbscan_scene {
  std::vector<double> energy;
  cube<float> data;
  pixel_mask mask;
};

// layout 0: diagonal stripes (every block holds every phase); 1: phase 0 in
// the top half, then stripes of phases 1 and 2 (the top blocks' cores end up
// in one set: the block-pair skips and the "rest of i" comparisons run).
dbscan_scene make_dbscan_scene(image_shape s, std::uint64_t seed, int layout = 0) {
  dbscan_scene sc;
  for (int i = 0; i < 30; ++i) sc.energy.push_back(7000.0 + 10.0 * i);
  const double shifts[3] = {0, 8, 16}, whites[3] = {0.2, 0.6, 0.05};
  std::vector<std::vector<double>> phases;
  for (int k = 0; k < 3; ++k) phases.push_back(parallel_test::phase_spectrum(sc.energy, shifts[k], whites[k]));
  const auto E = static_cast<index_t>(sc.energy.size());
  sc.data = cube<float>(s, E);
  sc.mask = pixel_mask(s, 1);
  auto eng = make_engine(seed, 0);
  boost::random::normal_distribution<double> noise(0.0, 0.01);
  boost::random::uniform_real_distribution<double> u(0, 1);
  for (index_t r = 0; r < s.rows; ++r)
    for (index_t c = 0; c < s.cols; ++c) {
      const int ph = layout == 1 && r < s.rows / 2 ? 0 : static_cast<int>((r + 2 * c) / 9 % 3);
      const double scale = 0.8 + 0.4 * u(eng);
      const double roll = u(eng);
      // 6%: a random mixture of two phases (between clusters: borders or noise)
      const double w = roll < 0.06 ? u(eng) : 1.0;
      const int other = (ph + 1) % 3;
      for (index_t b = 0; b < E; ++b) {
        const double v = w * phases[static_cast<std::size_t>(ph)][static_cast<std::size_t>(b)] +
                         (1 - w) * phases[static_cast<std::size_t>(other)][static_cast<std::size_t>(b)];
        sc.data(r, c, b) = static_cast<float>(scale * v + noise(eng));
      }
      if (u(eng) < 0.02) sc.data(r, c, 4) = std::numeric_limits<float>::quiet_NaN();
      if (u(eng) < 0.04) sc.mask(r, c) = 0;
    }
  return sc;
}

struct memory_result {
  label_image labels;
  pixel_mask valid;
  partition::partition_report report;
};

// The CLI's in-memory route (examples/spectromine/commands/cluster.hpp).
memory_result in_memory(const dbscan_scene& sc, bool use_mask, const partition::dbscan_options& d) {
  cube<float> data = sc.data;
  const image_shape s = data.shape();
  normalize_cube_options n;
  n.edge = parallel_test::scene_edge();
  n.threads = 1;
  n.keep_edge_step = false;
  const pixel_mask all(s, 1);
  auto nrep = normalize_cube(cube_view<const float>(data.view()), sc.energy, n, data.view(),
                             mask_view(use_mask ? sc.mask.view() : all.view()));
  cube<float> z(s, data.bands());
  auto srep = standardize_cube(cube_view<const float>(data.view()), z.view(), mask_view(nrep.valid.view()), 1);
  partition::dbscan_options o = d;
  o.noise_source = cube_view<const float>(data.view());
  o.threads = 1;
  memory_result out{label_image(s, 0), std::move(srep.valid), {}};
  out.report = partition::dbscan<index::brute_force_policy>(o).partition(
      cube_view<const float>(z.view()), mask_view(out.valid.view()), out.labels.view());
  return out;
}

parallel::tiled_dbscan_report tiled(const dbscan_scene& sc, const fs::path& dir, bool use_mask,
                                    const partition::dbscan_options& d, index_t band_rows, int threads,
                                    std::size_t budget = 256u << 20,
                                    std::optional<parallel::tiled_repair_options> repair = std::nullopt) {
  parallel::npy_tile_source src(dir / "cube.npy");
  parallel::tiled_dbscan_options o;
  o.normalize = parallel_test::scene_edge();
  if (use_mask) o.sample_mask = dir / "mask.npy";
  o.dbscan = d;
  o.repair = repair;
  o.tiling.band_rows = band_rows;
  o.tiling.memory_budget = budget;
  o.tiling.threads = threads;
  return parallel::tiled_dbscan(src, sc.energy, o, dir / "labels.npy", dir / "valid.npy");
}

void check_equal(const label_image& want, const fs::path& file) {
  const label_image got = io::read_npy_labels(file);
  REQUIRE(got.shape() == want.shape());
  index_t differ = 0;
  for (index_t p = 0; p < want.pixel_count(); ++p) differ += got[p] != want[p];
  CHECK(differ == 0);
}

}  // namespace

TEST_CASE("tiled_dbscan equals in-memory dbscan for every block height, threads, MinPts and DBSCAN*") {
  temp_dir dir("equal");
  const image_shape s{40, 37};
  for (const int layout : {0, 1}) {
  CAPTURE(layout);
  const dbscan_scene sc = make_dbscan_scene(s, 11, layout);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  io::write_npy_mask(dir.path / "mask.npy", sc.mask.view());

  for (const bool star : {false, true})
    for (const index_t min_pts : {index_t{3}, index_t{8}, index_t{23}}) {
      partition::dbscan_options d;
      d.eps = 0.03;
      d.min_pts = min_pts;
      d.star = star;
      const memory_result ref = in_memory(sc, true, d);
      const auto& rp = ref.report.parameters;
      // The scene must exercise every rule: several clusters, borders, noise.
      REQUIRE(ref.report.clusters >= 3);
      REQUIRE(rp["noise_points"].get<index_t>() > 0);
      if (!star) REQUIRE(rp["border_points"].get<index_t>() > 0);
      for (const index_t rows : {index_t{1}, index_t{2}, index_t{3}, index_t{7}, s.rows})
        for (const int threads : {1, 2}) {
          CAPTURE(star);
          CAPTURE(min_pts);
          CAPTURE(rows);
          CAPTURE(threads);
          const auto rep = tiled(sc, dir.path, true, d, rows, threads);
          check_equal(ref.labels, dir.path / "labels.npy");
          CHECK(rep.clusters == ref.report.clusters);
          CHECK(rep.cores == rp["core_points"].get<index_t>());
          CHECK(rep.borders == rp["border_points"].get<index_t>());
          CHECK(rep.noise == rp["noise_points"].get<index_t>());
          CHECK(rep.rejected == rp["rejected_pixels"].get<index_t>());
          CHECK(rep.pixels - rep.valid == rp["masked_pixels"].get<index_t>());
          // the validity mask is the CLI's mask
          const pixel_mask valid = io::read_npy_mask(dir.path / "valid.npy");
          CHECK(valid.storage() == ref.valid.storage());
          if (layout == 1 && rows == 1) CHECK(rep.pairs_skipped > 0);  // one-set blocks are skipped
        }
    }
  }
}

TEST_CASE("tiled_dbscan: budget-derived blocks, no mask, auto eps, repair") {
  temp_dir dir("auto");
  const image_shape s{40, 37};
  const dbscan_scene sc = make_dbscan_scene(s, 5);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  io::write_npy_mask(dir.path / "mask.npy", sc.mask.view());

  SUBCASE("auto eps from the noise model, small budget (several blocks)") {
    partition::dbscan_options d;  // eps unset: auto
    d.min_pts = 5;
    d.auto_eps.conditions = {2.7e4, 0.36, 1.56};
    for (const bool use_mask : {true, false}) {
      CAPTURE(use_mask);
      const memory_result ref = in_memory(sc, use_mask, d);
      REQUIRE(ref.report.clusters >= 1);
      for (const std::size_t budget : {std::size_t{160} << 10, std::size_t{64} << 20}) {
        CAPTURE(budget);
        const auto rep = tiled(sc, dir.path, use_mask, d, 0, 2, budget);
        CHECK(rep.eps == ref.report.parameters["eps"].get<double>());  // bit for bit
        CHECK(rep.parameters["auto_eps"]["median_noise_distance"] ==
              ref.report.parameters["auto_eps"]["median_noise_distance"]);
        check_equal(ref.labels, dir.path / "labels.npy");
        if (budget < (1u << 20)) CHECK(rep.blocks > 2);
      }
    }
  }
  SUBCASE("window-core + fill repair equals the in-memory repair") {
    partition::dbscan_options d;
    d.eps = 0.03;
    d.min_pts = 8;
    memory_result ref = in_memory(sc, true, d);
    repair::compose(repair::window_core{3, 5, 1}, repair::fill{repair::fill_rule::majority, false, 1})
        .apply(ref.labels.view(), mask_view(ref.valid.view()));
    parallel::tiled_repair_options ro;
    ro.k_size = 3;
    ro.p_num = 5;
    for (const index_t rows : {index_t{2}, index_t{7}}) {
      CAPTURE(rows);
      const auto rep = tiled(sc, dir.path, true, d, rows, 2, 256u << 20, ro);
      check_equal(ref.labels, dir.path / "labels.npy");
      CHECK(rep.repair.removed + rep.repair.filled > 0);
    }
  }
}

TEST_CASE("tiled_dbscan refuses what it cannot do exactly, naming the parameter") {
  temp_dir dir("refuse");
  const image_shape s{12, 10};
  const dbscan_scene sc = make_dbscan_scene(s, 3);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  partition::dbscan_options d;
  d.eps = 0.03;
  d.min_pts = 4;
  d.components = 3;
  try {
    tiled(sc, dir.path, false, d, 3, 1);
    FAIL("components > 0 should be refused");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()).find("--components") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir.path / "labels.npy"));
  d.components = 0;
  // 120 points x 8 B fit in 64K, but not a single row of blocks plus state under 65K? Use an explicit
  // budget below the per-point state instead: a larger image.
  const image_shape big{300, 40};  // 12000 points x 8 B = 96000 B > 64K
  const dbscan_scene sb = make_dbscan_scene(big, 4);
  io::write_npy_cube(dir.path / "cube.npy", sb.data.view());
  try {
    tiled(sb, dir.path, false, d, 0, 1, 64u << 10);
    FAIL("a budget below the per-point state should be refused");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()).find("--memory-budget") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir.path / "labels.npy"));
  for (const auto& f : fs::directory_iterator(dir.path))
    CHECK(f.path().filename().string().find("labels") == std::string::npos);  // no scratch left
}
