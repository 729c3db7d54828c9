#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spectromine/spectromine.hpp"

using namespace spectromine;

TEST_CASE("version.hpp agrees with the CMake project version") {
  CHECK(std::string(version_string) == SPECTROMINE_PROJECT_VERSION);
}

TEST_CASE("cube_view: contiguous layout, spectra and elements") {
  std::vector<float> data(2 * 3 * 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  cube_view<float> v(data.data(), {2, 3}, 4);
  CHECK(v.pixel_count() == 6);
  CHECK(v.is_contiguous());
  CHECK(v.spectrum(4)[0] == 16.0f);
  CHECK(v.spectrum(1, 1)[3] == 19.0f);
  CHECK(v(1, 2, 3) == 23.0f);
  cube_view<const float> cv = v;  // read-only conversion
  CHECK(cv.spectrum(5).back() == 23.0f);
}

TEST_CASE("cube_view: a tile is a strided view into the larger cube") {
  std::vector<double> data(4 * 5 * 3);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<double>(i);
  cube_view<double> v(data.data(), {4, 5}, 3);
  auto tile = v.subview(1, 2, 2, 3);
  CHECK(tile.rows() == 2);
  CHECK(tile.cols() == 3);
  CHECK_FALSE(tile.is_contiguous());
  for (index_t r = 0; r < 2; ++r)
    for (index_t c = 0; c < 3; ++c)
      for (index_t b = 0; b < 3; ++b) CHECK(tile(r, c, b) == v(r + 1, c + 2, b));
  // Pixel numbering inside the tile is row-major over the tile.
  CHECK(tile.spectrum(4).data() == &v(2, 3, 0));
  CHECK_THROWS_AS(v.subview(3, 0, 2, 1), invalid_argument);
}

TEST_CASE("cube_view rejects inconsistent strides with a message naming the parameter") {
  std::vector<float> data(10);
  try {
    cube_view<float> bad(data.data(), {1, 2}, 5, 10, 4);
    FAIL("expected an exception");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()) == "cube_view: pixel_stride must be >= bands (got 4)");
    CHECK(e.component() == "cube_view");
    CHECK(e.parameter() == "pixel_stride");
  }
}

TEST_CASE("cube owns its data and exposes a view") {
  cube<float> c({3, 2}, 5, 1.5f);
  CHECK(c.pixel_count() == 6);
  c(2, 1, 4) = 7.0f;
  CHECK(c.view()(2, 1, 4) == 7.0f);
  CHECK(c.spectrum(5)[4] == 7.0f);
  CHECK_THROWS_AS(cube<float>({-1, 2}, 5), invalid_argument);
}

TEST_CASE("image and label sentinels") {
  label_image labels({3, 4}, labels::unlabeled);
  CHECK(max_label(labels.view()) == 0);
  labels(1, 2) = 7;
  labels(0, 0) = labels::outlier;
  CHECK(max_label(labels.view()) == 7);
  CHECK(labels::is_cluster(7));
  CHECK_FALSE(labels::is_cluster(labels::outlier));
  CHECK_FALSE(labels::is_cluster(labels::unlabeled));
  CHECK_FALSE(labels::is_cluster(labels::unexplained));
  auto tile = labels.view().subview(1, 1, 2, 2);
  CHECK(tile(0, 1) == 7);
  tile(1, 1) = 3;
  CHECK(labels(2, 2) == 3);
  CHECK_THROWS_AS(label_image({2, 2}, std::vector<label_t>(3)), invalid_argument);
}

TEST_CASE("energy grids are validated with the offending index and value") {
  std::vector<double> ok{1.0, 2.0, 3.5};
  CHECK_NOTHROW(validate_energy_grid(ok, "test", 3));
  CHECK_THROWS_WITH_AS(validate_energy_grid(ok, "test", 4),
                       "test: energy count must equal the cube's band count 4 (got 3)",
                       invalid_argument);
  std::vector<double> unsorted{1.0, 3.0, 2.0};
  CHECK_THROWS_AS(validate_energy_grid(unsorted, "test"), invalid_argument);
  std::vector<double> nan{1.0, std::nan(""), 3.0};
  CHECK_THROWS_WITH_AS(validate_energy_grid(nan, "test"), "test: energy[1] must be finite (got NaN)",
                       invalid_argument);
  CHECK_THROWS_AS(validate_energy_grid(std::vector<double>{}, "test"), invalid_argument);
}

TEST_CASE("parallel_for covers every item exactly once for any thread count") {
  for (int threads : {1, 2, 3, 8}) {
    for (index_t n : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      parallel_for(n, threads, 1, [&](index_t b, index_t e, int) {
        for (index_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
      });
      for (auto& h : hits) CHECK(h.load() == 1);
    }
  }
  CHECK_THROWS_AS(parallel_for(100, 2, 1,
                               [](index_t b, index_t, int) {
                                 if (b > 0) throw std::runtime_error("worker failed");
                               }),
                  std::runtime_error);
  CHECK_THROWS_AS(resolve_threads(-1), invalid_argument);
}

TEST_CASE("random streams are reproducible and distinct") {
  auto a = make_engine(42, 0), b = make_engine(42, 0), c = make_engine(42, 1);
  const auto a1 = a(), b1 = b(), c1 = c();
  CHECK(a1 == b1);
  CHECK(a1 != c1);
  CHECK(derive_seed(0, 0) != derive_seed(0, 1));
}

TEST_CASE("atomic_file: nothing appears until commit, the temporary is cleaned up") {
  auto dir = std::filesystem::temp_directory_path() / "spectromine_atomic_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    io::atomic_file f(dir / "out.txt");
    std::ofstream(f.temp_path()) << "partial";
    CHECK_FALSE(std::filesystem::exists(dir / "out.txt"));
  }  // not committed
  CHECK(std::filesystem::is_empty(dir));
  {
    io::output_batch batch;
    auto& a = batch.add(dir / "a.txt");
    auto& b = batch.add(dir / "b.txt");
    std::ofstream(a.temp_path()) << "a";
    std::ofstream(b.temp_path()) << "b";
    CHECK_FALSE(std::filesystem::exists(dir / "a.txt"));
    batch.commit();
  }
  CHECK(std::filesystem::exists(dir / "a.txt"));
  CHECK(std::filesystem::exists(dir / "b.txt"));
  CHECK_THROWS_AS(io::atomic_file(dir / "missing_folder" / "x.txt"), io_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("parse_memory_size: units, and errors naming component, parameter and value") {
  CHECK(parse_memory_size("1000000", "c", "p") == 1000000u);
  CHECK(parse_memory_size("512B", "c", "p") == 512u);
  CHECK(parse_memory_size("64K", "c", "p") == 64u * 1024u);
  CHECK(parse_memory_size("64KiB", "c", "p") == 64u * 1024u);
  CHECK(parse_memory_size("256M", "c", "p") == 256u * 1024u * 1024u);
  CHECK(parse_memory_size("1.5G", "c", "p") == std::size_t(3) * 512u * 1024u * 1024u);
  CHECK(parse_memory_size("2T", "c", "p") == std::size_t(2) << 40);
  for (const char* bad : {"", "M", "-1M", "+1M", " 1M", "1 M", "0", "0.1", "1X", "0x10", "inf",
                          "nan", "1e30T", "12MB"}) {
    CAPTURE(bad);
    try {
      (void)parse_memory_size(bad, "stitch", "--memory-budget");
      FAIL("accepted");
    } catch (const invalid_argument& e) {
      const std::string what = e.what();
      CHECK(what.rfind("stitch: --memory-budget ", 0) == 0);
      CHECK(what.find(std::string("(got \"") + bad + "\")") != std::string::npos);
    }
  }
}
