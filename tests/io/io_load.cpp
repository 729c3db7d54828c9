#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "spectromine/io/hdf5.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/io/tiff.hpp"

using namespace spectromine;
using namespace io_test;

namespace {

// Naive reference: statistics straight from the definition, in long double.
struct naive_stats {
  long double sum = 0, sum2 = 0, lo = INFINITY, hi = -INFINITY;
  index_t n = 0, bad = 0;
};
naive_stats naive(const cube<float>& c) {
  naive_stats s;
  for (float v : c.storage()) {
    if (!std::isfinite(v)) {
      ++s.bad;
      continue;
    }
    ++s.n;
    s.sum += v;
    s.sum2 += static_cast<long double>(v) * v;
    s.lo = std::min<long double>(s.lo, v);
    s.hi = std::max<long double>(s.hi, v);
  }
  return s;
}

}  // namespace

TEST_CASE("load: the same cube as npy, TIFF and HDF5 (hwe, ehw) gives the same shape, values and statistics") {
  auto c = test_cube(17, 12, 23);
  const auto dir = scratch() / "formats";
  fs::create_directories(dir);
  io::write_npy_cube(dir / "c.npy", c.view());
  io::write_tiff_cube(dir / "c.tif", c.view());
  io::write_hdf5_cube(dir / "c.h5", "/data", c.view());
  io::hdf5_write_options ehw;
  ehw.axes = io::axis_order::ehw;
  io::write_hdf5_cube(dir / "c_ehw.hdf5", "/exchange/data", c.view(), ehw);

  const auto ref = naive(c);
  const double mean = static_cast<double>(ref.sum / ref.n);
  const double var = static_cast<double>(ref.sum2 / ref.n) - mean * mean;

  struct source {
    fs::path path;
    io::cube_source_options options;
    const char* format;
  };
  std::vector<source> sources{{dir / "c.npy", {}, "npy"},
                              {dir / "c.tif", {}, "tiff"},
                              {dir / "c.h5", {}, "hdf5"},
                              {dir / "c_ehw.hdf5", {"/exchange/data", io::axis_order::ehw}, "hdf5"}};
  std::vector<io::cube_statistics> all;
  for (const auto& s : sources) {
    INFO(s.path.string());
    const auto info = io::probe_cube(s.path, s.options);
    CHECK(info.format == s.format);
    CHECK(info.shape == c.shape());
    CHECK(info.bands == c.bands());
    CHECK(info.dtype == io::element_type::float32);
    const auto loaded = io::load_cube<float>(s.path, s.options);
    REQUIRE(loaded.storage().size() == c.storage().size());
    CHECK(std::memcmp(loaded.data(), c.data(), c.storage().size() * sizeof(float)) == 0);

    const auto whole = io::compute_statistics(loaded);
    CHECK(whole.finite == ref.n);
    CHECK(whole.non_finite == ref.bad);
    CHECK(whole.min == static_cast<double>(ref.lo));
    CHECK(whole.max == static_cast<double>(ref.hi));
    CHECK(whole.mean == doctest::Approx(mean).epsilon(1e-12));
    CHECK(whole.stddev() * whole.stddev() == doctest::Approx(var).epsilon(1e-9));

    // Streaming in bands of rows (tiny budget: one row per band) merges to the same numbers.
    io::cube_statistics streamed;
    index_t rows_seen = 0, calls = 0;
    io::for_each_row_band<float>(s.path, s.options, 1, [&](const cube<float>& band, index_t row0) {
      CHECK(row0 == rows_seen);
      rows_seen += band.rows();
      ++calls;
      io::accumulate_statistics(streamed, band.view());
    });
    CHECK(rows_seen == 17);
    CHECK(calls == 17);
    CHECK(streamed.finite == whole.finite);
    CHECK(streamed.non_finite == whole.non_finite);
    CHECK(streamed.min == whole.min);
    CHECK(streamed.max == whole.max);
    CHECK(streamed.mean == whole.mean);  // bit-identical whatever the band size
    CHECK(streamed.m2 == whole.m2);
    all.push_back(whole);
    // A row band equals the same rows of the whole.
    const auto band = io::load_cube_rows<double>(s.path, 9, 4, s.options);
    CHECK(band(3, 11, 22) == static_cast<double>(c(12, 11, 22)));
  }
  for (const auto& s : all) {
    CHECK(s.mean == all[0].mean);
    CHECK(s.m2 == all[0].m2);
  }
}

TEST_CASE("load: statistics merge is exact bookkeeping, empty parts and all-NaN parts are handled") {
  io::cube_statistics a, b;
  cube<float> empty(image_shape{0, 0}, 0);
  CHECK(io::compute_statistics(empty).finite == 0);
  CHECK(std::isnan(io::compute_statistics(empty).stddev()));
  cube<float> nan_cube(image_shape{1, 2}, 2, std::nanf(""));
  a.merge(io::compute_statistics(nan_cube));
  CHECK(a.non_finite == 4);
  CHECK(a.finite == 0);
  cube<float> ones(image_shape{1, 1}, 3, 1.0f);
  a.merge(io::compute_statistics(ones));
  b.merge(io::compute_statistics(ones));
  b.merge(io::compute_statistics(nan_cube));
  CHECK(a.finite == 3);
  CHECK(b.finite == 3);
  CHECK(a.non_finite == 4);
  CHECK(b.non_finite == 4);
  CHECK(a.mean == 1.0);
  CHECK(b.stddev() == 0.0);
}

TEST_CASE("load: dispatch errors name the extension; energies are validated against the bands") {
  auto c = test_cube(3, 4, 5);
  auto p = scratch() / "small.npy";
  io::write_npy_cube(p, c.view());
  std::string msg;
  try {
    io::load_cube<float>(scratch() / "cube.fits");
  } catch (const io_error& e) {
    msg = e.what();
  }
  CHECK(contains(msg, "'.fits'"));
  CHECK_THROWS_AS(io::probe_cube(scratch() / "noext"), io_error);
  CHECK(io::cube_format_of("A.TIFF") == io::cube_format::tiff);
  CHECK(io::cube_format_of("a.HDF5") == io::cube_format::hdf5);
  CHECK(io::parse_axis_order("EHW") == io::axis_order::ehw);
  CHECK_THROWS_AS(io::parse_axis_order("whe"), invalid_argument);

  io::write_energy_list(scratch() / "e5.txt", std::vector<double>{1, 2, 3, 4, 5});
  io::write_energy_list(scratch() / "e4.txt", std::vector<double>{1, 2, 3, 4});
  CHECK(io::load_energy((scratch() / "e5.txt").string(), p, 5).size() == 5);
  msg.clear();
  try {
    io::load_energy((scratch() / "e4.txt").string(), p, 5, "info");
  } catch (const invalid_argument& e) {
    msg = e.what();
  }
  CHECK(contains(msg, "lists 4 energies"));
  CHECK(contains(msg, "5 bands"));
  CHECK_THROWS_AS(io::load_energy((scratch() / "e5.txt").string(), p, 4), invalid_argument);
  CHECK_THROWS_AS(io::load_energy(write_bytes("edec.txt", "3\n2\n1\n").string(), p, 3), format_error);
  CHECK_THROWS_AS(io::load_energy(write_bytes("enan.txt", "1\nnan\n3\n").string(), p, 3), format_error);
  CHECK_THROWS_AS(io::load_energy((scratch() / "missing.txt").string(), p, 3), io_error);

  // HDF5 energies from a dataset of the cube's own file.
  io::hdf5_write_options opt;
  opt.energy = {7000, 7001, 7002, 7003, 7004};
  io::write_hdf5_cube(scratch() / "withe.h5", "/data", c.view(), opt);
  CHECK(io::load_energy("/energy", scratch() / "withe.h5", 5) == opt.energy);
  CHECK_THROWS_AS(io::load_energy("/nope", scratch() / "withe.h5", 5), format_error);
}

TEST_CASE("load: the bundled demo cube matches its energy list and truth") {
  const fs::path demo = fs::path(SPECTROMINE_TEST_DATA_DIR) / "demo";
  const auto info = io::probe_cube(demo / "cube.npy");
  const auto energy = io::load_energy((demo / "energy.txt").string(), demo / "cube.npy", info.bands);
  CHECK(energy.front() >= 7000.0);
  CHECK(energy.back() <= 7400.0);
  const auto truth = io::read_npy_labels(demo / "truth.npy");
  CHECK(truth.shape() == info.shape);
  CHECK(max_label(truth.view()) >= 3);
  const auto c = io::load_cube<float>(demo / "cube.npy");
  const auto s = io::compute_statistics(c);
  CHECK(s.non_finite == 0);
  CHECK(s.finite == c.pixel_count() * c.bands());
}

// Not a check: writes the demo cube as TIFF and HDF5 (hwe and ehw) for the
// CLI test (tests/io/run_info_cli.cmake), which runs
// `test_io --no-skip -tc="export*"` with SPECTROMINE_IO_EXPORT_DIR set.
TEST_CASE("export: demo cube in every format for the CLI test" * doctest::skip()) {
  const char* out = std::getenv("SPECTROMINE_IO_EXPORT_DIR");
  if (!out) return;
  const fs::path dir(out);
  fs::create_directories(dir);
  const auto c = io::load_cube<float>(fs::path(SPECTROMINE_TEST_DATA_DIR) / "demo" / "cube.npy");
  io::write_tiff_cube(dir / "cube.tif", c.view());
  io::write_hdf5_cube(dir / "cube.h5", "/data", c.view());
  io::hdf5_write_options ehw;
  ehw.axes = io::axis_order::ehw;
  ehw.energy = io::read_energy_list(fs::path(SPECTROMINE_TEST_DATA_DIR) / "demo" / "energy.txt");
  io::write_hdf5_cube(dir / "cube_ehw.h5", "/exchange/data", c.view(), ehw);
  CHECK(fs::exists(dir / "cube_ehw.h5"));
}
