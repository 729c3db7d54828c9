#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "spectromine/io/npy.hpp"

using namespace spectromine;
using namespace io_test;

namespace {

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The error message of f(), or "" when it does not throw a format_error / io_error.
}  // namespace

TEST_CASE("npy: a cube round-trips bit-exactly, headers parse, rows bands match the whole") {
  auto c = test_cube(5, 7, 11);
  auto p = scratch() / "cube.npy";
  io::write_npy_cube(p, c.view());
  auto h = io::read_npy_header(p);
  CHECK(h.dtype == io::element_type::float32);
  CHECK(h.shape == std::vector<std::size_t>{5, 7, 11});
  CHECK_FALSE(h.fortran_order);
  CHECK(h.data_offset % 64 == 0);  // NumPy's alignment
  CHECK(h.data_offset + 5 * 7 * 11 * 4 == fs::file_size(p));

  auto back = io::read_npy_cube<float>(p);
  CHECK(back.shape() == c.shape());
  CHECK(back.bands() == 11);
  CHECK(same_bits(back.storage(), c.storage()));

  for (index_t row0 = 0; row0 < 5; ++row0)
    for (index_t rows = 0; row0 + rows <= 5; ++rows) {
      auto band = io::read_npy_cube_rows<float>(p, row0, rows);
      REQUIRE(band.rows() == rows);
      const std::size_t per_row = 7 * 11;
      CHECK(std::equal(band.storage().begin(), band.storage().end(),
                       c.storage().begin() + static_cast<std::ptrdiff_t>(per_row * row0),
                       [](float a, float b) { return std::memcmp(&a, &b, 4) == 0; }));
    }
  CHECK_THROWS_AS(io::read_npy_cube_rows<float>(p, 3, 3), invalid_argument);
  CHECK_THROWS_AS(io::read_npy_cube_rows<float>(p, -1, 2), invalid_argument);

  // float64 conversion: exact for float data.
  auto d = io::read_npy_cube<double>(p);
  for (std::size_t i = 0; i < c.storage().size(); ++i) {
    const double expect = c.storage()[i];
    if (std::isnan(expect)) CHECK(std::isnan(d.storage()[i]));
    else CHECK(d.storage()[i] == expect);
  }
}

TEST_CASE("npy: strided views are written as their logical C-order content") {
  auto c = test_cube(6, 8, 4, 3, false);
  auto tile = c.view().subview(1, 2, 3, 5);
  auto p = scratch() / "tile.npy";
  io::write_npy_cube(p, cube_view<const float>(tile));
  auto back = io::read_npy_cube<float>(p);
  REQUIRE(back.rows() == 3);
  REQUIRE(back.cols() == 5);
  for (index_t r = 0; r < 3; ++r)
    for (index_t col = 0; col < 5; ++col)
      for (index_t b = 0; b < 4; ++b) CHECK(back(r, col, b) == c(1 + r, 2 + col, b));
  // Padded spectra (pixel stride > bands).
  std::vector<float> padded(2 * 3 * 6, -1.0f);
  for (int i = 0; i < 6; ++i)
    for (int b = 0; b < 4; ++b) padded[static_cast<std::size_t>(i * 6 + b)] = static_cast<float>(i * 10 + b);
  cube_view<const float> pv(padded.data(), image_shape{2, 3}, 4, 18, 6);
  io::write_npy_cube(p, pv);
  auto pb = io::read_npy_cube<float>(p);
  for (int i = 0; i < 6; ++i)
    for (int b = 0; b < 4; ++b) CHECK(pb.storage()[static_cast<std::size_t>(i * 4 + b)] == static_cast<float>(i * 10 + b));
}

TEST_CASE("npy: every supported dtype converts to float, against a naive conversion") {
  const std::vector<double> values{0, 1, 2, 3, 4, 5, 100, 7, 8, 9, 10, 11};
  const std::string shape = "(2, 2, 3)";
  auto check = [&](const std::string& descr, const std::string& data, auto tag) {
    using T = decltype(tag);
    auto p = write_bytes("dt_" + std::to_string(descr.size()) + descr.substr(1) + ".npy",
                         make_npy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", data));
    auto c = io::read_npy_cube<float>(p);
    REQUIRE(c.storage().size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(c.storage()[i] == static_cast<float>(static_cast<T>(values[i])));
  };
  auto as = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> v;
    for (double x : values) v.push_back(static_cast<T>(x));
    return raw(v);
  };
  check("<f4", as(float{}), float{});
  check("<f8", as(double{}), double{});
  check("|u1", as(std::uint8_t{}), std::uint8_t{});
  check("|i1", as(std::int8_t{}), std::int8_t{});
  check("<u2", as(std::uint16_t{}), std::uint16_t{});
  check("<i2", as(std::int16_t{}), std::int16_t{});
  check("<i4", as(std::int32_t{}), std::int32_t{});
  check("<u4", as(std::uint32_t{}), std::uint32_t{});
  check("<i8", as(std::int64_t{}), std::int64_t{});
  check("<u8", as(std::uint64_t{}), std::uint64_t{});

  // Big-endian data is byte-swapped.
  static_assert(std::endian::native == std::endian::little);
  std::vector<float> f(values.begin(), values.end());
  std::string be = raw(f);
  for (std::size_t i = 0; i < be.size(); i += 4) std::reverse(be.begin() + static_cast<std::ptrdiff_t>(i), be.begin() + static_cast<std::ptrdiff_t>(i) + 4);
  auto p = write_bytes("be.npy", make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2, 3), }", be));
  auto c = io::read_npy_cube<float>(p);
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(c.storage()[i] == static_cast<float>(values[i]));
  // Version 2 header, keys in another order, Python 2 longs.
  auto p2 = write_bytes("v2.npy", make_npy("{'shape': (2L, 2L, 3L), 'fortran_order': False, 'descr': '<f4'}", raw(f), 2));
  auto c2 = io::read_npy_cube<float>(p2);
  CHECK(c2.rows() == 2);
  CHECK(c2.storage()[6] == 100.0f);
}

TEST_CASE("npy: generic arrays, v2 headers for long shapes, labels and masks") {
  std::vector<double> v{1.5, -2.25, 3.0};
  auto p = scratch() / "vec.npy";
  io::write_npy(p, v, {3});
  auto a = io::read_npy<double>(p);
  CHECK(a.shape == std::vector<std::size_t>{3});
  CHECK(a.data == v);
  CHECK(contains(read_bytes(p), "'shape': (3,)"));
  CHECK_THROWS_AS(io::write_npy(p, v, {2, 2}), invalid_argument);

  label_image labels(image_shape{3, 4});
  for (index_t i = 0; i < 12; ++i) labels[i] = static_cast<label_t>(i % 5) - 2;
  auto lp = scratch() / "labels.npy";
  io::write_npy_labels(lp, labels.view());
  CHECK(io::read_npy_header(lp).descr == "<i4");
  CHECK(io::read_npy_labels(lp) == labels);

  // int64 labels convert when they fit, fail clearly when they do not.
  std::vector<std::int64_t> big{1, 2, 3, 4};
  auto l64 = write_bytes("l64.npy", make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", raw(big)));
  CHECK(io::read_npy_labels(l64)(1, 1) == 4);
  big[2] = std::int64_t(1) << 40;
  auto l64b = write_bytes("l64b.npy", make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", raw(big)));
  CHECK(contains(error_of([&] { io::read_npy_labels(l64b); }), "does not fit in int32"));
  auto lf = write_bytes("lf.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", raw(std::vector<float>{1, 2, 3, 4})));
  CHECK(contains(error_of([&] { io::read_npy_labels(lf); }), "integer dtype"));
  CHECK(contains(error_of([&] { io::read_npy_labels(scratch() / "vec.npy"); }), "label image"));

  pixel_mask mask(image_shape{2, 3});
  mask[1] = 1;
  mask[5] = 1;
  auto mp = scratch() / "mask.npy";
  io::write_npy_mask(mp, mask.view());
  CHECK(io::read_npy_mask(mp) == mask);
  auto mb = write_bytes("mb.npy", make_npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3), }", std::string("\0\1\0\0\0\1", 6)));
  CHECK(io::read_npy_mask(mb) == mask);
  auto mf = write_bytes("mf.npy", make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", raw(std::vector<double>{0, 1, 0, 0, 0, 1})));
  CHECK(io::read_npy_mask(mf) == mask);
  auto mf2 = write_bytes("mf2.npy", make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", raw(std::vector<double>{0, 1, 0, 0.5, 0, 1})));
  CHECK(contains(error_of([&] { io::read_npy_mask(mf2); }), "only 0 and 1"));
}

TEST_CASE("npy: every malformed file is a clear format_error or io_error, never a crash") {
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }";
  const std::string data(2 * 3 * 4 * 4, '\0');
  auto expect = [](const fs::path& p, const std::string& part) {
    const std::string msg = error_of([&] { (void)io::read_npy_cube<float>(p); });
    INFO("message: " << msg);
    CHECK(contains(msg, p.filename().string()));
    CHECK(contains(msg, part));
  };
  expect(write_bytes("ok_but_missing_data.npy", make_npy(good_dict, data.substr(0, 50))), "truncated");
  expect(write_bytes("empty.npy", ""), "too short");
  expect(write_bytes("magic.npy", "PK\3\4 this is a zip file, not npy at all"), "magic");
  expect(write_bytes("version.npy", std::string("\x93NUMPY\x09\0\x10\0", 10) + std::string(16, ' ')), "version 9");
  {
    std::string trunc_header = make_npy(good_dict, data).substr(0, 40);
    expect(write_bytes("trunc_header.npy", trunc_header), "header length");
  }
  expect(write_bytes("dtype.npy", make_npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3, 4), }", data)), "dtype '<c8'");
  expect(write_bytes("object.npy", make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3, 4), }", data)), "dtype");
  expect(write_bytes("record.npy", make_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3, 4), }", data)), "structured");
  expect(write_bytes("rank2.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6, 4), }", data)), "got shape (6, 4)");
  expect(write_bytes("rank4.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4), }", data)), "cube");
  expect(write_bytes("fortran.npy", make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", data)), "Fortran");
  expect(write_bytes("overflow.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000, 1000), }", data)), "overflows");
  expect(write_bytes("huge.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 1000), }", data)), "truncated");
  expect(write_bytes("bigdigits.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3, 4), }", data)), "overflows");
  expect(write_bytes("negative.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3, 4), }", data)), "non-negative");
  expect(write_bytes("nokey.npy", make_npy("{'descr': '<f4', 'shape': (2, 3, 4), }", data)), "lacks");
  expect(write_bytes("garbage.npy", make_npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3, 4), }", data)), "True or False");
  expect(write_bytes("unterminated.npy", make_npy("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3, 4)", data)), "header");
  expect(write_bytes("emptycube.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3, 4), }", "")), "empty");
  expect(scratch() / "does_not_exist.npy", "no such file");
  fs::create_directories(scratch() / "a_folder.npy");
  expect(scratch() / "a_folder.npy", "folder");
  CHECK_THROWS_AS(io::read_npy_header(scratch() / "does_not_exist.npy"), io_error);
  CHECK_THROWS_AS(io::read_npy_header(write_bytes("t2.npy", make_npy(good_dict, data.substr(1)))), format_error);
}

TEST_CASE("npy: writers are atomic: a failed write leaves no file and no temporary") {
  auto dir = scratch() / "atomic";
  fs::create_directories(dir);
  auto c = test_cube(2, 2, 3);
  CHECK_THROWS_AS(io::write_npy_cube(dir / "missing_folder" / "x.npy", c.view()), io_error);
  std::vector<float> v(5);
  CHECK_THROWS_AS(io::write_npy(dir / "bad.npy", v, {2, 3}), invalid_argument);
  io::write_npy_cube(dir / "ok.npy", c.view());
  std::size_t files = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
}
