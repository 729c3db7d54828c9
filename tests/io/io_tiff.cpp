#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <tiffio.h>

#include "io/io_test_util.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/tiff.hpp"

using namespace spectromine;
using namespace io_test;

namespace {

bool same(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// A classic little-endian TIFF with one page built by hand from IFD
// entries (tag, type, count, value), for corrupt headers libtiff would never write.
struct ifd_entry {
  std::uint16_t tag, type;
  std::uint32_t count, value;
};
std::string hand_tiff(std::vector<ifd_entry> entries, const std::string& pixel_data) {
  std::string out("II*\0", 4);
  auto u32 = [&](std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](std::uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); };
  u32(static_cast<std::uint32_t>(8 + pixel_data.size()));  // IFD after the data
  out += pixel_data;
  u16(static_cast<std::uint16_t>(entries.size()));
  for (auto& e : entries) {
    u16(e.tag);
    u16(e.type);
    u32(e.count);
    u32(e.value);
  }
  u32(0);
  return out;
}
constexpr std::uint16_t SHORT = 3, LONG = 4;

// Writes a page with libtiff directly (to make files spectromine never writes).
void raw_page(TIFF* t, std::uint32_t w, std::uint32_t h, std::uint16_t spp, std::uint16_t bits,
              std::uint16_t format, const void* data) {
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, format);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
  TIFFWriteEncodedStrip(t, 0, const_cast<void*>(data), static_cast<tmsize_t>(w) * h * spp * bits / 8);
  TIFFWriteDirectory(t);
}

}  // namespace

TEST_CASE("tiff: cubes round-trip through one page per energy, any row band reads the same") {
  auto c = test_cube(13, 9, 21);
  for (bool big : {false, true})
    for (auto comp : {io::tiff_compression::none, io::tiff_compression::deflate}) {
      auto p = scratch() / (std::string("cube") + (big ? "_big" : "") + (comp == io::tiff_compression::none ? "" : "_z") + ".tif");
      io::write_tiff_cube(p, c.view(), io::tiff_write_options{big, comp});
      auto info = io::probe_tiff(p);
      CHECK(info.shape == c.shape());
      CHECK(info.bands == 21);
      CHECK(info.dtype == io::element_type::float32);
      auto back = io::read_tiff_cube<float>(p);
      REQUIRE(back.shape() == c.shape());
      REQUIRE(back.bands() == c.bands());
      bool all = true;
      for (std::size_t i = 0; i < c.storage().size(); ++i) all = all && same(back.storage()[i], c.storage()[i]);
      CHECK(all);
      // The BigTIFF flag is honoured (magic 43).
      const std::string head = read_bytes(p).substr(0, 4);
      CHECK(static_cast<unsigned char>(head[2]) == (big ? 43 : 42));
      for (index_t row0 : {0, 4, 12})
        for (index_t rows : {0, 1, 3}) {
          if (row0 + rows > 13) continue;
          auto band = io::read_tiff_cube_rows<double>(p, row0, rows);
          REQUIRE(band.rows() == rows);
          for (index_t r = 0; r < rows; ++r)
            for (index_t col = 0; col < 9; ++col)
              for (index_t b = 0; b < 21; ++b) {
                const double want = c(row0 + r, col, b), got = band(r, col, b);
                CHECK((std::isnan(want) ? std::isnan(got) : got == want));
              }
        }
    }
  // uint16 cubes stay uint16 pages; conversion to float is exact.
  cube<std::uint16_t> u(image_shape{4, 5}, 3);
  for (std::size_t i = 0; i < u.storage().size(); ++i) u.storage()[i] = static_cast<std::uint16_t>(i * 997 % 65536);
  auto up = scratch() / "u16.tiff";
  io::write_tiff_cube(up, u.view());
  CHECK(io::probe_tiff(up).dtype == io::element_type::uint16);
  auto uf = io::read_tiff_cube<float>(up);
  for (std::size_t i = 0; i < u.storage().size(); ++i) CHECK(uf.storage()[i] == static_cast<float>(u.storage()[i]));
}

TEST_CASE("tiff: tiled pages and pages written by libtiff directly are read") {
  // A tiled float page pair (16 x 16 tiles over a 20 x 35 image).
  auto p = scratch() / "tiled.tif";
  const std::uint32_t W = 35, H = 20;
  std::vector<std::vector<float>> pages(2, std::vector<float>(W * H));
  for (int k = 0; k < 2; ++k)
    for (std::uint32_t i = 0; i < W * H; ++i) pages[static_cast<std::size_t>(k)][i] = static_cast<float>(k * 10000 + i);
  {
    TIFF* t = TIFFOpen(p.c_str(), "w");
    REQUIRE(t);
    for (int k = 0; k < 2; ++k) {
      TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
      TIFFSetField(t, TIFFTAG_IMAGELENGTH, H);
      TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
      TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
      TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
      TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
      std::vector<float> tile(256);
      for (std::uint32_t ty = 0; ty < H; ty += 16)
        for (std::uint32_t tx = 0; tx < W; tx += 16) {
          for (std::uint32_t y = 0; y < 16; ++y)
            for (std::uint32_t x = 0; x < 16; ++x)
              tile[y * 16 + x] = (ty + y < H && tx + x < W) ? pages[static_cast<std::size_t>(k)][(ty + y) * W + tx + x] : -1.0f;
          TIFFWriteTile(t, tile.data(), tx, ty, 0, 0);
        }
      TIFFWriteDirectory(t);
    }
    TIFFClose(t);
  }
  auto c = io::read_tiff_cube<float>(p);
  REQUIRE(c.rows() == 20);
  REQUIRE(c.cols() == 35);
  REQUIRE(c.bands() == 2);
  for (std::uint32_t r = 0; r < H; ++r)
    for (std::uint32_t col = 0; col < W; ++col)
      for (int k = 0; k < 2; ++k) CHECK(c(r, col, k) == pages[static_cast<std::size_t>(k)][r * W + col]);
  auto band = io::read_tiff_cube_rows<float>(p, 15, 3);
  CHECK(band(0, 34, 1) == pages[1][15 * W + 34]);
  CHECK(band(2, 0, 0) == pages[0][17 * W]);
}

TEST_CASE("tiff: label maps in int32, uint16 and float32") {
  label_image labels(image_shape{6, 7});
  for (index_t i = 0; i < 42; ++i) labels[i] = static_cast<label_t>(i % 9) - 2;
  auto p = scratch() / "labels.tif";
  io::write_tiff_labels(p, labels.view());
  CHECK(io::probe_tiff(p).dtype == io::element_type::int32);
  CHECK(io::read_tiff_labels(p) == labels);
  io::write_tiff_labels(p, labels.view(), io::tiff_label_format::float32);
  CHECK(io::read_tiff_labels(p) == labels);
  CHECK_THROWS_AS(io::write_tiff_labels(p, labels.view(), io::tiff_label_format::uint16), invalid_argument);
  for (index_t i = 0; i < 42; ++i) labels[i] = static_cast<label_t>(i * 1500);
  io::write_tiff_labels(p, labels.view(), io::tiff_label_format::uint16);
  CHECK(io::probe_tiff(p).dtype == io::element_type::uint16);
  CHECK(io::read_tiff_labels(p) == labels);
}

TEST_CASE("tiff: every malformed file is a clear error naming the file, never a crash") {
  auto expect = [](const fs::path& p, const std::string& part) {
    const std::string msg = error_of([&] { (void)io::read_tiff_cube<float>(p); });
    INFO("message: " << msg);
    CHECK(contains(msg, p.filename().string()));
    CHECK(contains(msg, part));
  };
  auto c = test_cube(8, 8, 5);
  auto good = scratch() / "good.tif";
  io::write_tiff_cube(good, c.view());
  const std::string bytes = read_bytes(good);

  // Truncated at several points: the last directory or the strips are gone.
  for (std::size_t keep : {std::size_t(4), bytes.size() / 3, bytes.size() / 2, bytes.size() - 10}) {
    auto p = write_bytes("trunc" + std::to_string(keep) + ".tif", bytes.substr(0, keep));
    expect(p, "");
    CHECK_THROWS_AS(io::read_tiff_cube<float>(p), format_error);
  }
  expect(write_bytes("garbage.tif", std::string("II*\0", 4) + std::string("\xff\xff\xff\x7f", 4) + "junk"), "TIFF");
  expect(write_bytes("text.tif", "this is not a tiff file at all"), "not a readable TIFF");
  expect(write_bytes("empty.tif", ""), "TIFF");

  // Declared size larger than the bytes in the file (uncompressed strip beyond EOF).
  const std::string pix(64, '\0');
  expect(write_bytes("toolarge.tif", hand_tiff({{256, LONG, 1, 100000}, {257, LONG, 1, 100000}, {258, SHORT, 1, 32},
                                                 {259, SHORT, 1, 1}, {262, SHORT, 1, 1}, {273, LONG, 1, 8},
                                                 {277, SHORT, 1, 1}, {278, LONG, 1, 100000}, {279, LONG, 1, 4000000000u},
                                                 {339, SHORT, 1, 3}},
                                                pix)),
         "");
  // Overflowing dimensions with compression (so no strip-size bound applies).
  expect(write_bytes("overflow.tif", hand_tiff({{256, LONG, 1, 4000000000u}, {257, LONG, 1, 4000000000u}, {258, SHORT, 1, 64},
                                                 {259, SHORT, 1, 8}, {262, SHORT, 1, 1}, {273, LONG, 1, 8},
                                                 {277, SHORT, 1, 1}, {278, LONG, 1, 4000000000u}, {279, LONG, 1, 64},
                                                 {339, SHORT, 1, 3}},
                                                pix)),
         "");
  // A compressed page of 64 bytes declaring 40 GB of float32.
  auto huge_page = [&](std::uint32_t compression) {
    return hand_tiff({{256, LONG, 1, 100000}, {257, LONG, 1, 100000}, {258, SHORT, 1, 32},
                      {259, SHORT, 1, compression}, {262, SHORT, 1, 1}, {273, LONG, 1, 8},
                      {277, SHORT, 1, 1}, {278, LONG, 1, 100000}, {279, LONG, 1, 64}, {339, SHORT, 1, 3}},
                     pix);
  };
  // Deflate: no codec expands that far, refused before allocating (fuzz
  // corpus: a 12 GB page).
  expect(write_bytes("huge_z.tif", huge_page(8)), "cannot hold");
  // ZSTD (50000), whose expansion is unbounded: refused by the memory check,
  // still before allocating.
  expect(write_bytes("huge_zstd.tif", huge_page(50000)), "memory");
  // A sane header whose compressed strip is garbage.
  expect(write_bytes("badstrip.tif", hand_tiff({{256, LONG, 1, 4}, {257, LONG, 1, 4}, {258, SHORT, 1, 32},
                                                 {259, SHORT, 1, 8}, {262, SHORT, 1, 1}, {273, LONG, 1, 8},
                                                 {277, SHORT, 1, 1}, {278, LONG, 1, 4}, {279, LONG, 1, 64},
                                                 {339, SHORT, 1, 3}},
                                                pix)),
         "page 0");

  // Wrong kinds of data: RGB, 1-bit, complex, mixed page sizes and types.
  auto make = [](const std::string& name, auto&& body) {
    auto p = scratch() / name;
    TIFF* t = TIFFOpen(p.c_str(), "w");
    REQUIRE(t);
    body(t);
    TIFFClose(t);
    return p;
  };
  std::vector<std::uint8_t> rgb(4 * 4 * 3, 7);
  std::vector<float> f16(16, 1.0f), f9(9, 1.0f);
  std::vector<std::uint16_t> u16(16, 3);
  expect(make("rgb.tif", [&](TIFF* t) { raw_page(t, 4, 4, 3, 8, SAMPLEFORMAT_UINT, rgb.data()); }), "3 samples per pixel");
  expect(make("bilevel.tif", [&](TIFF* t) { raw_page(t, 8, 2, 1, 1, SAMPLEFORMAT_UINT, rgb.data()); }), "1-bit");
  expect(make("complex.tif", [&](TIFF* t) { raw_page(t, 2, 2, 1, 64, SAMPLEFORMAT_COMPLEXIEEEFP, f16.data()); }), "complex");
  expect(make("sizes.tif", [&](TIFF* t) {
           raw_page(t, 4, 4, 1, 32, SAMPLEFORMAT_IEEEFP, f16.data());
           raw_page(t, 3, 3, 1, 32, SAMPLEFORMAT_IEEEFP, f9.data());
         }),
         "page 1: 3 x 3");
  expect(make("types.tif", [&](TIFF* t) {
           raw_page(t, 4, 4, 1, 32, SAMPLEFORMAT_IEEEFP, f16.data());
           raw_page(t, 4, 4, 1, 16, SAMPLEFORMAT_UINT, u16.data());
         }),
         "sample type uint16");
  expect(scratch() / "missing.tif", "no such file");
  fs::create_directories(scratch() / "folder.tif");
  expect(scratch() / "folder.tif", "folder");
  CHECK_THROWS_AS(io::read_tiff_cube_rows<float>(good, 7, 2), invalid_argument);
  CHECK_THROWS_AS(io::write_tiff_cube(scratch() / "nofolder" / "x.tif", c.view()), io_error);
  CHECK_FALSE(fs::exists(scratch() / "nofolder"));
}
