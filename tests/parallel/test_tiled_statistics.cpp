// The streaming global statistics (parallel/tiled_statistics.hpp) equal their
// in-memory twins bit for bit; TIFF and HDF5 tile sources equal the npy one.
#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "spectromine/analysis/summaries.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/io/npy.hpp"
#if defined(SPECTROMINE_HAS_TIFF)
#include "spectromine/io/tiff.hpp"
#endif
#if defined(SPECTROMINE_HAS_HDF5)
#include "spectromine/io/hdf5.hpp"
#endif
#include "spectromine/parallel/tiled.hpp"
#include "spectromine/parallel/tiled_statistics.hpp"
#include "spectromine/preprocess/mask.hpp"
#include "synthetic.hpp"

using namespace spectromine;
namespace fs = std::filesystem;

namespace {

using parallel_test::temp_dir;

// The phase scene with a no-sample region (a flat faint background plus
// noise, no edge) over the left third: two populations for Otsu.
parallel_test::scene scene_with_background(image_shape s, std::uint64_t seed) {
  auto sc = parallel_test::make_scene(s, seed);
  auto eng = make_engine(seed, 1);
  boost::random::normal_distribution<double> noise(0.0, 0.01);
  for (index_t r = 0; r < s.rows; ++r)
    for (index_t c = 0; c < s.cols; ++c) {
      const auto& mu = sc.sites.spectra[static_cast<std::size_t>((r + c) / 9 % 3)];
      const bool sample = c >= s.cols / 3;  // sample: a clear edge (z ~ 50); background: z ~ |N(0, 1)|
      for (index_t b = 0; b < sc.data.bands(); ++b)
        sc.data(r, c, b) = static_cast<float>((sample ? mu[static_cast<std::size_t>(b)] : 0.05) + noise(eng));
      if (r == 3 && c % 7 == 0) sc.data(r, c, 2) = std::numeric_limits<float>::quiet_NaN();
    }
  return sc;
}

pixel_mask random_mask(image_shape s, std::uint64_t seed, int percent_off) {
  auto eng = make_engine(seed, 2);
  boost::random::uniform_int_distribution<int> pct(0, 99);
  pixel_mask m(s, 1);
  for (index_t i = 0; i < s.pixels(); ++i) m[i] = pct(eng) < percent_off ? 0 : 1;
  return m;
}

}  // namespace

TEST_CASE("tiled_mean_finite_spectrum equals the in-memory mean bit for bit") {
  temp_dir dir("mean");
  // 9 blocks of 4096 pixels, so block partials straddle band borders, and
  // pixels scaled over 12 decades so that their fold order changes the bits
  // (sums of floats of similar size are exact in double in any order).
  const image_shape s{83, 443};
  auto sc = parallel_test::make_scene(s, 3);
  for (index_t p = 0; p < s.pixels(); ++p)
    for (auto& v : sc.data.view().spectrum(p)) v *= static_cast<float>(std::pow(10.0, static_cast<double>((p * 7) % 13 - 6)));
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  const pixel_mask m = random_mask(s, 3, 20);
  io::write_npy_mask(dir.path / "mask.npy", m.view());
  const auto file_mask = parallel::npy_image_file<std::uint8_t>::open(dir.path / "mask.npy");
  for (bool use_mask : {false, true}) {
    const auto expected = spectromine::detail::mean_finite_spectrum(
        cube_view<const float>(sc.data.view()), use_mask ? mask_view(m.view()) : mask_view(), 2);
    for (index_t band : {1, 7, 50, 83}) {
     for (bool prefetch : {true, false}) {
      CAPTURE(use_mask); CAPTURE(band); CAPTURE(prefetch);
      parallel::npy_tile_source src(dir.path / "cube.npy");
      parallel::tiling_options t;
      t.band_rows = band;
      t.prefetch = prefetch;
      const auto got = parallel::tiled_mean_finite_spectrum(src, use_mask ? &file_mask : nullptr, t);
      REQUIRE(got.size() == expected.size());
      index_t diff = 0;
      for (std::size_t j = 0; j < got.size(); ++j) diff += got[j] != expected[j];  // bitwise equal
      CHECK(diff == 0);
     }
    }
  }
}

TEST_CASE("select_kth (radix select over a file) equals nth_element") {
  temp_dir dir("select");
  const image_shape s{97, 101};
  auto eng = make_engine(17, 0);
  boost::random::uniform_real_distribution<double> u(0, 1);
  boost::random::uniform_int_distribution<int> pct(0, 99);
  std::vector<double> z(static_cast<std::size_t>(s.pixels()));
  for (auto& v : z) {
    const int p = pct(eng);
    v = p < 5 ? 0.0 : p < 10 ? 2.5 : p < 12 ? parallel::z_nonfinite : std::pow(10.0, 3 * u(eng) - 1);
  }
  const auto zf = parallel::npy_image_file<double>::create(dir.path / "z.npy", s);
  zf.write_rows(0, s.rows, z.data());
  for (double th : {0.0, 1.0, 2.5, 100.0}) {
    auto keep = [&](double v) { return v >= 0 && v <= th; };
    std::vector<double> ref;
    for (double v : z)
      if (keep(v)) ref.push_back(v);
    REQUIRE(!ref.empty());
    for (index_t k : {index_t{0}, static_cast<index_t>(ref.size() / 2), static_cast<index_t>(ref.size() - 1)}) {
      auto sorted = ref;
      std::nth_element(sorted.begin(), sorted.begin() + k, sorted.end());
      for (std::size_t budget : {std::size_t{64} * 1024, std::size_t{1} << 30}) {  // radix passes / in memory
        CAPTURE(th); CAPTURE(k); CAPTURE(budget);
        parallel::tiling_options t;
        t.memory_budget = budget;
        std::vector<double> buf;
        CHECK(parallel::detail::select_kth(zf, keep, k, static_cast<index_t>(ref.size()), t, buf) == sorted[k]);
      }
    }
  }
}

TEST_CASE("tiled_sample_mask equals sample_mask (Otsu cut, lower-class median, counts)") {
  temp_dir dir("mask");
  const image_shape s{96, 90};  // > 4096 lower-class pixels: the radix select runs at 64K
  const auto sc = scene_with_background(s, 5);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  const pixel_mask in = random_mask(s, 5, 10);
  io::write_npy_mask(dir.path / "in.npy", in.view());
  const auto in_file = parallel::npy_image_file<std::uint8_t>::open(dir.path / "in.npy");
  // Wide windows and a linear post-edge: a precise edge step, so the
  // sample's z (~100) and the background's (~|N(0, 1)|) form two classes.
  pre_edge_options edge;
  edge.e0 = 7120.0;
  edge.pre1 = -120, edge.pre2 = -20, edge.norm1 = 20, edge.norm2 = 170, edge.nnorm = 1;
  const pre_edge_plan plan = make_pre_edge_plan(sc.energy, *edge.e0, edge);
  // Otsu's cut sits just above the background's largest z; a floor of half
  // of it makes the cut apply (lower-class median ~0.67 < floor < cut).
  const auto first = sample_mask(cube_view<const float>(sc.data.view()), sc.energy, plan, sample_mask_options{});
  REQUIRE(first.report.otsu_threshold.has_value());
  const double half = *first.report.otsu_threshold / 2;
  for (bool use_in : {false, true}) {
    for (double floor : {5.0, half, 1e6}) {  // 1e6: Otsu's cut is below the floor, not applied
      sample_mask_options mo;
      mo.floor = floor;
      mo.threads = 2;
      const auto ref = sample_mask(cube_view<const float>(sc.data.view()), sc.energy, plan, mo,
                                   use_in ? mask_view(in.view()) : mask_view());
      CHECK(ref.report.masked_low_snr > 0);
      if (floor == half) CHECK(ref.report.otsu_applied);  // the scene really has two populations
      if (floor == 1e6) CHECK_FALSE(ref.report.otsu_applied);
      for (std::size_t budget : {std::size_t{64} * 1024, std::size_t{256} << 20}) {
        CAPTURE(use_in); CAPTURE(floor); CAPTURE(budget);
        parallel::npy_tile_source src(dir.path / "cube.npy");
        parallel::tiling_options t;
        t.memory_budget = budget;
        t.threads = 2;
        const auto out = parallel::npy_image_file<std::uint8_t>::create(dir.path / "mask.npy", s);
        const auto rep = parallel::tiled_sample_mask(src, sc.energy, plan, mo, use_in ? &in_file : nullptr, out,
                                                     dir.path / "z.npy", t);
        CHECK(rep.threshold == ref.report.threshold);
        CHECK(rep.otsu_applied == ref.report.otsu_applied);
        CHECK(rep.otsu_threshold.has_value() == ref.report.otsu_threshold.has_value());
        if (rep.otsu_threshold && ref.report.otsu_threshold) CHECK(*rep.otsu_threshold == *ref.report.otsu_threshold);
        CHECK(rep.sample == ref.report.sample);
        CHECK(rep.masked_input == ref.report.masked_input);
        CHECK(rep.masked_nonfinite == ref.report.masked_nonfinite);
        CHECK(rep.masked_low_snr == ref.report.masked_low_snr);
        CHECK(io::read_npy_mask(dir.path / "mask.npy").storage() == ref.mask.storage());
        CHECK_FALSE(fs::exists(dir.path / "z.npy"));
      }
    }
  }
}

TEST_CASE("tiled_relabel_by_size and tiled_cluster_means equal relabel_by_size and summarize") {
  temp_dir dir("relabel");
  const image_shape s{41, 29};
  const auto sc = parallel_test::make_scene(s, 9);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  const auto ref = parallel_test::reference_pipeline(sc);
  label_image labels = ref.repaired;
  // sentinels and a label with a tie in count, to exercise the ordering
  labels(0, 0) = labels::outlier;
  labels(0, 1) = labels::unexplained;
  labels(0, 2) = labels::outlier;
  io::write_npy_labels(dir.path / "labels.npy", labels.view());
  label_image expected = labels;
  const auto rr = analysis::relabel_by_size(expected.view(), 1);
  CHECK(rr.outlier_label > 0);
  parallel::tiling_options t;
  t.band_rows = 4;
  const auto file = parallel::npy_image_file<label_t>::open(dir.path / "labels.npy", true);
  const auto got = parallel::tiled_relabel_by_size(file, t);
  CHECK(got.clusters == rr.clusters);
  CHECK(got.old_label == rr.old_label);
  CHECK(got.counts == rr.counts);
  CHECK(got.outlier_label == rr.outlier_label);
  CHECK(got.unexplained_label == rr.unexplained_label);
  CHECK(got.unlabeled == rr.unlabeled);
  CHECK(io::read_npy_labels(dir.path / "labels.npy").storage() == expected.storage());

  // Means of the normalized cube (the pipeline's view), e0 fixed.
  cube<float> norm = sc.data;
  normalize_cube_options n;
  n.edge = parallel_test::scene_edge();
  n.threads = 1;
  n.keep_edge_step = false;
  normalize_cube(cube_view<const float>(norm.view()), sc.energy, n, norm.view());
  analysis::summary_options so;
  so.pc1 = false;
  const auto sums = analysis::summarize(cube_view<const float>(norm.view()), expected.view(), so);
  for (index_t band : {1, 5, 41}) {
    CAPTURE(band);
    parallel::npy_tile_source src(dir.path / "cube.npy");
    t.band_rows = band;
    t.threads = 2;
    const auto ms = parallel::tiled_cluster_means(src, sc.energy, parallel_test::scene_edge(), file, got.clusters, t);
    REQUIRE(ms.clusters.size() == sums.clusters.size());
    CHECK(ms.labelled_pixels == sums.labelled_pixels);
    for (std::size_t c = 0; c < ms.clusters.size(); ++c) {
      CHECK(ms.clusters[c].pixels == sums.clusters[c].pixels);
      CHECK(ms.clusters[c].spectrum_pixels == sums.clusters[c].spectrum_pixels);
      CHECK(ms.clusters[c].fraction == sums.clusters[c].fraction);
      index_t diff = 0;
      for (std::size_t b = 0; b < ms.clusters[c].mean.size(); ++b)
        diff += !(ms.clusters[c].mean[b] == sums.clusters[c].mean[b] ||
                  (std::isnan(ms.clusters[c].mean[b]) && std::isnan(sums.clusters[c].mean[b])));
      CHECK(diff == 0);
    }
  }
}

TEST_CASE("tiled_voronoi with e0 from the mean spectrum and a sample mask equals the in-memory pipeline") {
  temp_dir dir("e0mask");
  const image_shape s{37, 23};
  const auto sc = parallel_test::make_scene(s, 21);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  const pixel_mask m = random_mask(s, 21, 15);
  io::write_npy_mask(dir.path / "mask.npy", m.view());
  // In memory: normalize with e0 unset (mean of the masked pixels), standardize, label, repair.
  cube<float> data = sc.data;
  normalize_cube_options n;
  n.threads = 1;
  n.keep_edge_step = false;
  auto nrep = normalize_cube(cube_view<const float>(data.view()), sc.energy, n, data.view(), mask_view(m.view()));
  CHECK(nrep.e0_from_mean);
  cube<float> z(s, data.bands());
  auto srep = standardize_cube(cube_view<const float>(data.view()), z.view(), mask_view(nrep.valid.view()), 1);
  partition::nearest_site_index index(sc.sites, {});
  label_image expected(s, 0);
  index.assign(cube_view<const float>(data.view()), mask_view(srep.valid.view()), expected.view());
  repair::compose(repair::window_core{5, 23, 1}, repair::fill{repair::fill_rule::majority, false, 1})
      .apply(expected.view(), mask_view(srep.valid.view()));
  for (index_t band : {2, 37}) {
    CAPTURE(band);
    parallel::npy_tile_source src(dir.path / "cube.npy");
    parallel::tiled_voronoi_options o;
    o.normalize = pre_edge_options{};  // e0 from the mean
    o.sample_mask = dir.path / "mask.npy";
    o.tiling.band_rows = band;
    const auto rep = parallel::tiled_voronoi(src, sc.energy, sc.sites, o, dir.path / "labels.npy");
    CHECK(rep.e0_from_mean);
    REQUIRE(rep.e0.has_value());
    CHECK(*rep.e0 == nrep.windows.e0);
    CHECK(io::read_npy_labels(dir.path / "labels.npy").storage() == expected.storage());
  }
}

#if defined(SPECTROMINE_HAS_TIFF) || defined(SPECTROMINE_HAS_HDF5)
TEST_CASE("TIFF and HDF5 tile sources read the same bands as the npy source") {
  temp_dir dir("sources");
  const image_shape s{19, 13};
  const auto sc = parallel_test::make_scene(s, 4);
  io::write_npy_cube(dir.path / "cube.npy", sc.data.view());
  std::vector<fs::path> files;
#if defined(SPECTROMINE_HAS_TIFF)
  io::write_tiff_cube(dir.path / "cube.tif", cube_view<const float>(sc.data.view()));
  files.push_back(dir.path / "cube.tif");
#endif
#if defined(SPECTROMINE_HAS_HDF5)
  io::hdf5_write_options h;
  io::write_hdf5_cube(dir.path / "cube_hwe.h5", "/data", cube_view<const float>(sc.data.view()), h);
  files.push_back(dir.path / "cube_hwe.h5");
  h.axes = io::axis_order::ehw;
  h.chunk_rows = 3;
  io::write_hdf5_cube(dir.path / "cube_ehw.h5", "/data", cube_view<const float>(sc.data.view()), h);
  files.push_back(dir.path / "cube_ehw.h5");
#endif
  parallel::npy_tile_source npy(dir.path / "cube.npy");
  for (const auto& f : files) {
    CAPTURE(f.string());
    io::cube_source_options so;
    if (f.filename() == "cube_ehw.h5") so.axes = io::axis_order::ehw;
    parallel::cube_file_tile_source src(f, so);
    REQUIRE(src.rows() == s.rows);
    REQUIRE(src.cols() == s.cols);
    REQUIRE(src.bands() == sc.data.bands());
    for (auto [row0, n] : {std::pair<index_t, index_t>{0, 1}, {4, 7}, {18, 1}, {0, 19}}) {
      cube<float> a(image_shape{n, s.cols}, src.bands()), b(image_shape{n, s.cols}, src.bands());
      src.read_rows(row0, n, a.view());
      npy.read_rows(row0, n, b.view());
      index_t diff = 0;  // bitwise (NaN pixels included)
      for (index_t i = 0; i < n * s.cols * src.bands(); ++i)
        diff += std::memcmp(a.data() + i, b.data() + i, sizeof(float)) != 0;
      CHECK(diff == 0);
    }
    CHECK_THROWS_AS(src.read_rows(18, 2, cube<float>(image_shape{2, s.cols}, src.bands()).view()), invalid_argument);
    // The whole pipeline from this source equals the in-memory one.
    parallel::tiled_voronoi_options o;
    o.normalize = parallel_test::scene_edge();
    o.tiling.band_rows = 4;
    parallel::tiled_voronoi(src, sc.energy, sc.sites, o, dir.path / "labels.npy");
    CHECK(io::read_npy_labels(dir.path / "labels.npy").storage() == parallel_test::reference_pipeline(sc).repaired.storage());
  }
}
#endif
