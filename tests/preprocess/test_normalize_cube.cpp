// normalize_cube against the single-spectrum pre_edge (the naive reference),
// in float and double, with masks, NaN pixels, edgeless pixels, in place,
// and independent of the thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "fixtures.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/preprocess/normalize.hpp"

using namespace spectromine;

namespace {

// A synthetic cube: every pixel a smooth edge with its own pre-edge line,
// step and post-edge curvature, plus seeded noise.
template <class T>
cube<T> make_edge_cube(image_shape shape, const std::vector<double>& e, double noise_sd,
                       std::uint64_t seed) {
  cube<T> c(shape, static_cast<index_t>(e.size()));
  auto engine = make_engine(seed, 0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> g(0.0, 1.0);
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    const double off = 0.2 + u(engine), slope = -2e-4 + 4e-4 * u(engine);
    const double step = 0.3 + 2.0 * u(engine), curv = -1e-6 * u(engine);
    const double shift = -2.0 + 4.0 * u(engine);
    auto s = c.spectrum(p);
    for (std::size_t i = 0; i < e.size(); ++i) {
      const double x = e[i] - 7120.0 - shift;
      const double edge = 0.5 + std::atan(x / 2.5) / M_PI;
      s[i] = static_cast<T>(off + slope * x + step * edge * (1 + curv * x * x / 10) +
                            noise_sd * g(engine));
    }
  }
  return c;
}

}  // namespace

TEST_CASE_TEMPLATE("normalize_cube equals pre_edge pixel by pixel", T, float, double) {
  const auto e = preprocess_test::beamline_grid();
  const auto c = make_edge_cube<T>(image_shape{6, 11}, e, 0.01, 7);
  for (auto output : {normalized_output::norm, normalized_output::flat}) {
    for (int nnorm : {1, 2}) {
      normalize_cube_options o;
      o.edge.e0 = 7120.0;
      o.edge.pre1 = -130;
      o.edge.pre2 = -30;
      o.edge.norm1 = 50;
      o.edge.norm2 = 290;
      o.edge.nnorm = nnorm;
      o.output = output;
      cube<T> out(c.shape(), c.bands());
      const auto rep = normalize_cube(c.view(), e, o, out.view());
      CHECK(rep.normalized == c.pixel_count());
      const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-10;
      for (index_t p = 0; p < c.pixel_count(); ++p) {
        std::vector<double> mu(c.spectrum(p).begin(), c.spectrum(p).end());
        const auto r = pre_edge(e, mu, o.edge);
        CHECK(rep.edge_step[p] == doctest::Approx(r.edge_step).epsilon(1e-5));
        const auto& ref = output == normalized_output::norm ? r.norm : r.flat;
        double worst = 0;
        for (std::size_t i = 0; i < e.size(); ++i)
          worst = std::max(worst, std::abs(static_cast<double>(out.spectrum(p)[i]) - ref[i]));
        CHECK(worst < tol);
      }
    }
  }
}

TEST_CASE("normalize_cube: e0 from the mean spectrum, thread independence, in place") {
  const auto e = preprocess_test::beamline_grid();
  const auto c = make_edge_cube<float>(image_shape{20, 17}, e, 0.02, 11);
  normalize_cube_options o;  // e0 unset: mean spectrum; windows: larch defaults
  o.output = normalized_output::flat;
  cube<float> a(c.shape(), c.bands()), b(c.shape(), c.bands());
  o.threads = 1;
  const auto ra = normalize_cube(c.view(), e, o, a.view());
  o.threads = 2;
  const auto rb = normalize_cube(c.view(), e, o, b.view());
  CHECK(ra.e0_from_mean);
  CHECK(ra.windows.e0 == rb.windows.e0);
  CHECK(a.storage() == b.storage());
  // the mean spectrum's e0 is find_e0 of the naive mean
  std::vector<double> mean(e.size(), 0.0);
  for (index_t p = 0; p < c.pixel_count(); ++p)
    for (std::size_t i = 0; i < e.size(); ++i) mean[i] += c.spectrum(p)[i];
  for (auto& v : mean) v /= static_cast<double>(c.pixel_count());
  CHECK(ra.windows.e0 == find_e0(e, mean));
  // in place gives the same bytes
  cube<float> inplace = c;
  const auto ri = normalize_cube(static_cast<const cube<float>&>(inplace).view(), e, o, inplace.view());
  CHECK(ri.normalized == c.pixel_count());
  CHECK(inplace.storage() == a.storage());
}

TEST_CASE("normalize_cube masks NaN, edgeless and caller-masked pixels; never writes NaN") {
  const auto e = preprocess_test::beamline_grid();
  auto c = make_edge_cube<float>(image_shape{5, 5}, e, 0.0, 3);
  c(0, 1, 40) = std::numeric_limits<float>::quiet_NaN();
  c(2, 2, 0) = std::numeric_limits<float>::infinity();   // outside both windows
  for (index_t i = 0; i < c.bands(); ++i) c(4, 4, i) = 0.5f;  // flat: step exactly 0
  pixel_mask mask(c.shape(), 1);
  mask(3, 0) = 0;
  normalize_cube_options o;
  o.edge.e0 = 7120.0;
  cube<float> out(c.shape(), c.bands(), 99.0f);
  const auto rep = normalize_cube(c.view(), e, o, out.view(), mask.view());
  CHECK(rep.masked_nonfinite == 2);
  CHECK(rep.masked_no_edge == 1);
  CHECK(rep.masked_input == 1);
  CHECK(rep.normalized == 25 - 4);
  CHECK(rep.valid(0, 1) == 0);
  CHECK(rep.valid(2, 2) == 0);
  CHECK(rep.valid(4, 4) == 0);
  CHECK(rep.valid(3, 0) == 0);
  CHECK(rep.valid(1, 1) == 1);
  for (float v : out.storage()) CHECK(std::isfinite(v));
  for (index_t i = 0; i < c.bands(); ++i) CHECK(out(0, 1, i) == 0.0f);
}

TEST_CASE("normalize_cube on a strided tile equals the same pixels of the whole cube") {
  const auto e = preprocess_test::beamline_grid();
  const auto c = make_edge_cube<double>(image_shape{9, 8}, e, 0.01, 5);
  normalize_cube_options o;
  o.edge.e0 = 7120.0;
  cube<double> whole(c.shape(), c.bands());
  normalize_cube(c.view(), e, o, whole.view());
  const auto tile = c.view().subview(2, 3, 4, 5);
  cube<double> part(tile.shape(), c.bands());
  normalize_cube(tile, e, o, part.view());
  for (index_t r = 0; r < 4; ++r)
    for (index_t col = 0; col < 5; ++col)
      for (index_t i = 0; i < c.bands(); ++i) CHECK(part(r, col, i) == whole(r + 2, col + 3, i));
}

TEST_CASE("normalize_cube rejects mismatched shapes and grids") {
  const auto e = preprocess_test::beamline_grid();
  const auto c = make_edge_cube<float>(image_shape{2, 2}, e, 0.0, 1);
  cube<float> wrong(image_shape{2, 3}, c.bands());
  normalize_cube_options o;
  CHECK_THROWS_AS(normalize_cube(c.view(), e, o, wrong.view()), invalid_argument);
  std::vector<double> short_e(e.begin(), e.end() - 1);
  cube<float> out(c.shape(), c.bands());
  CHECK_THROWS_AS(normalize_cube(c.view(), short_e, o, out.view()), invalid_argument);
  cube<float> nan_cube(image_shape{1, 1}, c.bands(), std::numeric_limits<float>::quiet_NaN());
  cube<float> out1(image_shape{1, 1}, c.bands());
  CHECK_THROWS_WITH_AS(normalize_cube(nan_cube.view(), e, o, out1.view()),
                       doctest::Contains("no finite unmasked pixel"), invalid_argument);
}
