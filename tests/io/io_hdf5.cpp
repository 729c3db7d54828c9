#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <cstring>
#include <string>
#include <vector>

#include <hdf5.h>

#include "io/io_test_util.hpp"
#include "spectromine/io/hdf5.hpp"
#include "spectromine/io/load.hpp"

using namespace spectromine;
using namespace io_test;

namespace {

bool same_cube(const cube<float>& a, const cube<float>& b) {
  return a.shape() == b.shape() && a.bands() == b.bands() &&
         std::memcmp(a.data(), b.data(), a.storage().size() * sizeof(float)) == 0;
}

// Makes a file with libhdf5 directly (datasets spectromine never writes).
template <class Body>
fs::path make_h5(const std::string& name, Body&& body) {
  auto p = scratch() / name;
  hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  body(f);
  H5Fclose(f);
  return p;
}

hid_t dataset(hid_t f, const char* name, hid_t type, std::vector<hsize_t> dims, bool chunked = false) {
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunked) {
    std::vector<hsize_t> chunk(dims.size(), 1);
    chunk.back() = std::min<hsize_t>(dims.back(), 16);
    H5Pset_chunk(dcpl, static_cast<int>(dims.size()), chunk.data());
  }
  hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  return d;
}

}  // namespace

TEST_CASE("hdf5: hwe and ehw cubes round-trip, row bands are hyperslabs of the whole") {
  auto c = test_cube(11, 6, 19);
  for (auto axes : {io::axis_order::hwe, io::axis_order::ehw})
    for (int variant = 0; variant < 3; ++variant) {
      io::hdf5_write_options opt;
      opt.axes = axes;
      opt.chunk_rows = variant == 1 ? 3 : 0;
      opt.deflate_level = variant == 2 ? 4 : 0;
      opt.energy = {1, 2, 3};
      auto p = scratch() / ("c_" + std::string(io::to_string(axes)) + std::to_string(variant) + ".h5");
      io::write_hdf5_cube(p, "/entry/data", c.view(), opt);
      auto info = io::probe_hdf5(p, "/entry/data", axes);
      CHECK(info.shape == c.shape());
      CHECK(info.bands == 19);
      CHECK(info.dtype == io::element_type::float32);
      CHECK(same_cube(io::read_hdf5_cube<float>(p, "/entry/data", axes), c));
      CHECK(io::read_hdf5_vector(p, "/energy") == opt.energy);
      for (index_t row0 : {0, 5, 10})
        for (index_t rows : {1, 2}) {
          if (row0 + rows > 11) continue;
          auto band = io::read_hdf5_cube_rows<double>(p, "/entry/data", axes, row0, rows);
          REQUIRE(band.rows() == rows);
          bool ok = true;
          for (index_t r = 0; r < rows; ++r)
            for (index_t col = 0; col < 6; ++col)
              for (index_t b = 0; b < 19; ++b) {
                const double want = c(row0 + r, col, b), got = band(r, col, b);
                ok = ok && (std::isnan(want) ? std::isnan(got) : got == want);
              }
          CHECK(ok);
        }
      // Read with the other axis order: a different (transposed) shape, not an error.
      const auto other = axes == io::axis_order::hwe ? io::axis_order::ehw : io::axis_order::hwe;
      auto swapped = io::probe_hdf5(p, "/entry/data", other);
      CHECK(swapped.pixel_count() * swapped.bands == c.pixel_count() * c.bands());
      CHECK_FALSE(swapped.shape == c.shape());
    }
  // Strided views and integer datasets.
  auto tile = c.view().subview(2, 1, 4, 3);
  auto p = scratch() / "tile.h5";
  io::write_hdf5_cube(p, "/data", cube_view<const float>(tile));
  auto back = io::read_hdf5_cube<float>(p);
  for (index_t r = 0; r < 4; ++r)
    for (index_t col = 0; col < 3; ++col)
      for (index_t b = 0; b < 19; ++b) {
        const float want = tile(r, col, b), got = back(r, col, b);
        CHECK(std::memcmp(&want, &got, 4) == 0);
      }
  cube<std::uint16_t> u(image_shape{3, 4}, 5);
  for (std::size_t i = 0; i < u.storage().size(); ++i) u.storage()[i] = static_cast<std::uint16_t>(i * 1000);
  io::write_hdf5_cube(p, "/data", u.view());
  CHECK(io::probe_hdf5(p).dtype == io::element_type::uint16);
  auto uf = io::read_hdf5_cube<float>(p);
  for (std::size_t i = 0; i < u.storage().size(); ++i) CHECK(uf.storage()[i] == static_cast<float>(u.storage()[i]));
}

TEST_CASE("hdf5: every malformed file or dataset is a clear error naming the file") {
  auto expect = [](const fs::path& p, const std::string& part, const std::string& ds = "/data") {
    const std::string msg = error_of([&] { (void)io::read_hdf5_cube<float>(p, ds); });
    INFO("message: " << msg);
    CHECK(contains(msg, p.filename().string()));
    CHECK(contains(msg, part));
  };
  auto c = test_cube(8, 8, 10);
  auto good = scratch() / "good.h5";
  io::write_hdf5_cube(good, "/data", c.view());
  const std::string bytes = read_bytes(good);
  for (std::size_t keep : {std::size_t(0), std::size_t(100), bytes.size() / 2, bytes.size() - 100})
    expect(write_bytes("trunc" + std::to_string(keep) + ".h5", bytes.substr(0, keep)), "");
  {
    std::string corrupt = bytes;
    for (std::size_t i = 8; i < 200 && i < corrupt.size(); ++i) corrupt[i] = static_cast<char>(i * 37);
    expect(write_bytes("corrupt.h5", corrupt), "");
  }
  expect(write_bytes("text.h5", "plain text, not HDF5"), "not an HDF5 file");
  expect(good, "no dataset '/nope' (list the file's datasets with `h5ls -r`; choose one with --dataset)", "/nope");

  expect(make_h5("rank2.h5", [](hid_t f) { H5Dclose(dataset(f, "data", H5T_NATIVE_FLOAT, {4, 5})); }), "rank 2 (4 x 5)");
  expect(make_h5("rank4.h5", [](hid_t f) { H5Dclose(dataset(f, "data", H5T_NATIVE_FLOAT, {2, 2, 2, 2})); }), "rank 4");
  expect(make_h5("string.h5", [](hid_t f) {
           hid_t t = H5Tcopy(H5T_C_S1);
           H5Tset_size(t, 8);
           H5Dclose(dataset(f, "data", t, {2, 2, 2}));
           H5Tclose(t);
         }),
         "type string");
  expect(make_h5("compound.h5", [](hid_t f) {
           hid_t t = H5Tcreate(H5T_COMPOUND, 8);
           H5Tinsert(t, "a", 0, H5T_NATIVE_FLOAT);
           H5Tinsert(t, "b", 4, H5T_NATIVE_FLOAT);
           H5Dclose(dataset(f, "data", t, {2, 2, 2}));
           H5Tclose(t);
         }),
         "type compound");
  expect(make_h5("empty.h5", [](hid_t f) { H5Dclose(dataset(f, "data", H5T_NATIVE_FLOAT, {0, 5, 5})); }), "empty");
  // A contiguous dataset whose data were never written: no storage behind the shape.
  expect(make_h5("unwritten.h5", [](hid_t f) { H5Dclose(dataset(f, "data", H5T_NATIVE_FLOAT, {50, 50, 50})); }),
         "never written");
  // A chunked dataset declaring far more than memory (1e6 x 1e6 x 1000).
  expect(make_h5("huge.h5", [](hid_t f) { H5Dclose(dataset(f, "data", H5T_NATIVE_FLOAT, {1000000, 1000000, 1000}, true)); }),
         "memory");
  // Dimensions whose product overflows 64 bits (if this HDF5 lets such a dataspace exist).
  auto overflow = make_h5("overflow.h5", [](hid_t f) {
    hid_t d = dataset(f, "data", H5T_NATIVE_FLOAT, {1000000000000ull, 1000000000000ull, 1000}, true);
    if (d >= 0) H5Dclose(d);
  });
  const std::string msg = error_of([&] { (void)io::read_hdf5_cube<float>(overflow); });
  CHECK(contains(msg, "overflow.h5"));
  expect(scratch() / "missing.h5", "no such file");
  fs::create_directories(scratch() / "folder.h5");
  expect(scratch() / "folder.h5", "folder");
  CHECK_THROWS_AS(io::read_hdf5_cube_rows<float>(good, "/data", io::axis_order::hwe, 5, 4), invalid_argument);
  CHECK_THROWS_AS(io::read_hdf5_cube<float>(good, ""), invalid_argument);
  CHECK_THROWS_AS(io::read_hdf5_vector(good, "/data"), format_error);  // rank 3, not a list
  CHECK_THROWS_AS(io::write_hdf5_cube(scratch() / "no" / "x.h5", "/data", c.view()), io_error);
}

TEST_CASE("survive_in_child: a crash, an abnormal exit or a hang in the child is an error, an exception is not") {
  const fs::path p = scratch() / "probe.h5";
  auto attempt = [&](auto&& f, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    return error_of([&] { io::detail::survive_in_child(p, "opening X", f, timeout); });
  };
  CHECK(attempt([] {}) == "");
  // The child's ordinary errors are the caller's to report when it reads for itself.
  CHECK(attempt([] { throw std::runtime_error("ordinary"); }) == "");
  const std::string segv = attempt([] { std::raise(SIGSEGV); });
  CHECK(contains(segv, "probe.h5: opening X crashed the reading library"));
  CHECK(contains(segv, "signal " + std::to_string(SIGSEGV)));
  CHECK(contains(attempt([] { std::abort(); }), "signal " + std::to_string(SIGABRT)));
  CHECK(contains(attempt([] { std::_Exit(3); }), "exit status 3"));
  const std::string hang = attempt([] { for (;;) std::this_thread::sleep_for(std::chrono::seconds(1)); },
                                   std::chrono::seconds(1));
  CHECK(contains(hang, "opening X did not finish within 1 s"));
}

TEST_CASE("hdf5: isolate_hdf5 turns a file that crashes libhdf5 into an error, and reads good files unchanged") {
  // Found by fuzz_hdf5: libhdf5 1.10 dereferences a null pointer inside
  // H5Dopen2 (H5G__stab_lookup -> H5HL_protect -> H5F__accum_read). Opened
  // without isolation it would kill this test process.
  const fs::path crash = fs::path(SPECTROMINE_TEST_DATA_DIR) / ".." / "fuzz" / "corpus" / "hdf5" /
                         "regression-libhdf5-open-segv.h5";
  REQUIRE(fs::exists(crash));
  io::cube_source_options isolated;
  isolated.isolate_hdf5 = true;
  const std::string msg = error_of([&] { (void)io::load_cube<float>(crash, isolated); });
  INFO("message: " << msg);
  CHECK(contains(msg, "regression-libhdf5-open-segv.h5"));  // whatever a future libhdf5 makes of it: an error
  CHECK(contains(error_of([&] { (void)io::load_energy("/energy", crash, -1, "test", isolated); }),
                 "regression-libhdf5-open-segv.h5"));

  auto c = test_cube(6, 5, 9);
  const fs::path good = scratch() / "isolated_good.h5";
  io::hdf5_write_options w;
  w.energy = std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9};
  io::write_hdf5_cube(good, "/data", c.view(), w);
  CHECK(same_cube(io::load_cube<float>(good, isolated), io::read_hdf5_cube<float>(good)));
  CHECK(io::load_energy("/energy", good, 9, "test", isolated).size() == 9);
  CHECK(contains(error_of([&] { (void)io::load_energy("/nope", good, 9, "test", isolated); }), "no dataset '/nope'"));
}
