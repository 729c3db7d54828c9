// Stitching: four overlapping tiles cut from one known cube, with perturbed
// nominal positions, reconstruct the cube; streaming reads each field row
// once; bad layouts give clear errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "spectromine/align/stitch.hpp"
#include "spectromine/align/stitch_io.hpp"
#include "spectromine/io/npy.hpp"
#include "synthetic_stack.hpp"

using namespace spectromine;
using namespace spectromine::align;
using namespace align_test;

namespace {

// A known cube: each band a different mixture of the scene's images.
cube<float> known_cube(image_shape shape, index_t bands) {
  const auto s = make_scene(shape, 13);
  cube<float> c(shape, bands);
  for (index_t b = 0; b < bands; ++b) {
    const auto f = scene_frame(s, static_cast<double>(b) / static_cast<double>(bands - 1));
    for (index_t p = 0; p < f.pixel_count(); ++p) c.view().spectrum(p)[static_cast<std::size_t>(b)] = f[p];
  }
  return c;
}

cube<float> cut(const cube<float>& c, field_position p, image_shape s) {
  cube<float> t(s, c.bands());
  for (index_t r = 0; r < s.rows; ++r)
    for (index_t col = 0; col < s.cols; ++col)
      for (index_t b = 0; b < c.bands(); ++b) t(r, col, b) = c(p.row0 + r, p.col0 + col, b);
  return t;
}

// A field that counts the rows it is asked for.
struct counting_field {
  cube_view<const float> cube;
  mutable index_t rows_read = 0;
  image_shape shape() const { return cube.shape(); }
  index_t bands() const { return cube.bands(); }
  cube_view<const float> read_rows(index_t row0, index_t rows) const {
    rows_read += rows;
    return cube.subview(row0, 0, rows, cube.cols());
  }
};

struct mosaic {
  cube<float> truth;
  std::vector<cube<float>> tiles;
  std::vector<field_position> true_positions;
};

mosaic make_mosaic() {
  mosaic m;
  m.truth = known_cube({200, 230}, 5);
  const image_shape tile{120, 140};
  m.true_positions = {{0, 0}, {0, 90}, {80, 0}, {80, 90}};
  for (const auto& p : m.true_positions) m.tiles.push_back(cut(m.truth, p, tile));
  return m;
}

}  // namespace

static_assert(field_source<memory_field<float>>);
static_assert(field_source<file_field>);
static_assert(!field_source<int>);

TEST_CASE("stitch: four tiles with perturbed positions reconstruct the cube") {
  const auto m = make_mosaic();
  std::vector<memory_field<float>> fields;
  for (const auto& t : m.tiles) fields.emplace_back(t.view());
  // Stage positions off by up to 4 pixels (the first is the anchor; the
  // mosaic is placed relative to it).
  const std::vector<field_position> nominal{{100, 200}, {103, 287}, {176, 202}, {184, 294}};
  const auto plan = plan_stitch(std::span<const memory_field<float>>(fields),
                                std::span<const field_position>(nominal));
  CHECK(plan.pairs.size() == 6);  // the diagonal pairs overlap too
  CHECK(plan.shape == image_shape{200, 230});
  CHECK(plan.bands == 5);
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(plan.placements[i] == m.true_positions[i]);
  }
  CHECK(plan.origin == field_position{100, 200});
  for (const auto& p : plan.pairs) {
    CHECK(std::abs(p.residual_dy) < 0.5);
    CHECK(std::abs(p.residual_dx) < 0.5);
  }
  // Render in small bands through a sink; identical tiles blend to the truth.
  stitch_options options;
  options.memory_budget = 230 * 6 * sizeof(float) * 7;  // 7 rows per band
  cube<float> out(plan.shape, plan.bands, -1.0f);
  index_t next_row = 0, calls = 0;
  render_stitch(std::span<const memory_field<float>>(fields), plan,
                [&](index_t row0, cube_view<const float> band) {
                  CHECK(row0 == next_row);
                  next_row += band.rows();
                  ++calls;
                  for (index_t r = 0; r < band.rows(); ++r)
                    for (index_t c = 0; c < band.cols(); ++c)
                      for (index_t b = 0; b < band.bands(); ++b) out(row0 + r, c, b) = band(r, c, b);
                },
                options);
  CHECK(next_row == 200);
  CHECK(calls > 10);
  double worst = 0;
  for (std::size_t i = 0; i < out.storage().size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(out.storage()[i] - m.truth.storage()[i])));
  CHECK(worst < 1e-5);
  std::vector<image_shape> shapes(4, image_shape{120, 140});
  const auto covered = stitch_coverage(plan, shapes);
  index_t n = 0;
  for (index_t p = 0; p < covered.pixel_count(); ++p) n += covered[p];
  CHECK(n == 200 * 230);
}

TEST_CASE("stitch: streaming reads each field row once; blending; npy output") {
  auto m = make_mosaic();
  // Field 1 is 10% brighter (illumination): feathering keeps the output
  // between the two fields and continuous.
  for (auto& v : m.tiles[1].storage()) v *= 1.1f;
  std::vector<counting_field> fields;
  for (const auto& t : m.tiles) fields.push_back({t.view()});
  const auto plan = nominal_plan(std::span<const counting_field>(fields),
                                 std::span<const field_position>(m.true_positions));
  stitch_options options;
  options.memory_budget = 230 * 6 * sizeof(float) * 16;
  cube<float> out(plan.shape, plan.bands);
  render_stitch(std::span<const counting_field>(fields), plan,
                [&](index_t row0, cube_view<const float> band) {
                  for (index_t r = 0; r < band.rows(); ++r)
                    for (index_t c = 0; c < band.cols(); ++c)
                      for (index_t b = 0; b < band.bands(); ++b) out(row0 + r, c, b) = band(r, c, b);
                },
                options);
  for (const auto& f : fields) CHECK(f.rows_read == 120);
  // Row 30 crosses the column overlap [90, 140) of fields 0 and 1 only.
  for (index_t c = 90; c < 140; ++c) {
    const float a = m.truth(30, c, 2), b = 1.1f * m.truth(30, c, 2);
    const float v = out(30, c, 2);
    CHECK(v >= std::min(a, b) - 1e-4f);
    CHECK(v <= std::max(a, b) + 1e-4f);
  }
  CHECK(out(30, 89, 2) == doctest::Approx(m.truth(30, 89, 2)));          // field 0 alone
  CHECK(out(30, 140, 2) == doctest::Approx(1.1f * m.truth(30, 140, 2)));  // field 1 alone
  // "first" blending: the overlap is field 0's.
  options.blend = stitch_blend::first;
  render_stitch(std::span<const counting_field>(fields), plan,
                [&](index_t row0, cube_view<const float> band) {
                  if (row0 <= 30 && 30 < row0 + band.rows())
                    CHECK(band(30 - row0, 120, 2) == m.truth(30, 120, 2));
                },
                options);

  // The npy convenience streams to a file that reads back as the cube.
  const auto dir = std::filesystem::temp_directory_path() / "spectromine_align_stitch_test";
  std::filesystem::create_directories(dir);
  const auto exact = make_mosaic();  // owns the tiles the fields view
  std::vector<memory_field<float>> plain;
  for (const auto& t : exact.tiles) plain.emplace_back(t.view());
  const auto path = dir / "stitched.npy";
  write_stitched_npy(path, std::span<const memory_field<float>>(plain), plan);
  const auto back = io::read_npy_cube<float>(path);
  CHECK(back.shape() == plan.shape);
  CHECK(back.bands() == 5);
  const auto& truth = exact.truth;
  double worst = 0;
  for (std::size_t i = 0; i < back.storage().size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(back.storage()[i] - truth.storage()[i])));
  CHECK(worst < 1e-5);
  std::filesystem::remove_all(dir);
}

TEST_CASE("stitch: field lists and bad layouts give clear errors") {
  const auto m = make_mosaic();
  std::vector<memory_field<float>> fields;
  for (const auto& t : m.tiles) fields.emplace_back(t.view());
  const std::span<const memory_field<float>> span(fields);
  // Field 3 far away: no overlap chain joins it.
  std::vector<field_position> apart{{0, 0}, {0, 90}, {80, 0}, {500, 500}};
  CHECK_THROWS_WITH_AS(plan_stitch(span, std::span<const field_position>(apart)),
                       doctest::Contains("field[3] position must overlap the other fields"),
                       invalid_argument);
  std::vector<field_position> three{{0, 0}, {0, 90}, {80, 0}};
  CHECK_THROWS_WITH_AS(plan_stitch(span, std::span<const field_position>(three)),
                       doctest::Contains("positions must give one (row0, col0) per field (4)"),
                       invalid_argument);
  cube<float> other_bands({120, 140}, 4);
  std::vector<memory_field<float>> mixed{fields[0], memory_field<float>(other_bands.view())};
  std::vector<field_position> two{{0, 0}, {0, 90}};
  CHECK_THROWS_WITH_AS(plan_stitch(std::span<const memory_field<float>>(mixed),
                                   std::span<const field_position>(two)),
                       doctest::Contains("field[1] bands must equal field[0]'s band count 5"),
                       invalid_argument);

  const auto dir = std::filesystem::temp_directory_path() / "spectromine_align_list_test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream list(dir / "fields.csv");
    list << "path,row0,col0\n# a comment\na.npy, 0, 0\nsub/b,c.npy,10,-20\n\n";
  }
  const auto entries = read_field_list(dir / "fields.csv");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].path == dir / "a.npy");
  CHECK(entries[1].path == dir / "sub/b,c.npy");
  CHECK(entries[1].position == field_position{10, -20});
  {
    std::ofstream list(dir / "bad.csv");
    list << "a.npy,0,0\nb.npy,1.5,0\n";
  }
  CHECK_THROWS_WITH_AS(read_field_list(dir / "bad.csv"),
                       doctest::Contains("line 2: row0 and col0 must be whole numbers"), format_error);
  CHECK_THROWS_AS(read_field_list(dir / "missing.csv"), io_error);
  std::filesystem::remove_all(dir);
}
