// Per-pixel e0 (normalize_cube with cube_e0::per_pixel, find_e0_per_pixel)
// against naive references: find_e0 per spectrum (no smoothing), a written-out
// Gaussian smoothing of np.gradient (with smoothing), and pre_edge per pixel.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "fixtures.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/preprocess/normalize.hpp"

using namespace spectromine;

namespace {

// Edges whose position varies across the field by +-6 eV (a chemical shift
// map), with seeded noise.
template <class T>
cube<T> shifted_edges(image_shape shape, const std::vector<double>& e, double noise_sd,
                      std::uint64_t seed) {
  cube<T> c(shape, static_cast<index_t>(e.size()));
  auto engine = make_engine(seed, 0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> g(0.0, 1.0);
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    const double shift = -6.0 + 12.0 * u(engine), step = 0.5 + u(engine), off = 0.3 * u(engine);
    for (std::size_t i = 0; i < e.size(); ++i) {
      const double x = e[i] - 7120.0 - shift;
      c.spectrum(p)[i] = static_cast<T>(off - 1e-4 * x + step * (0.5 + std::atan(x / 1.5) / M_PI) +
                                        noise_sd * g(engine));
    }
  }
  return c;
}

// Naive: np.gradient(mu)/np.gradient(E), then a Gaussian (sigma eV, +-3 sigma,
// normalized per point), then find_e0's rule; -1 when there is no edge.
index_t naive_e0_index(const std::vector<double>& e, const std::vector<double>& mu, double sigma) {
  const auto n = static_cast<index_t>(e.size());
  auto grad = [&](const std::vector<double>& f, index_t i) {
    if (i == 0) return f[1] - f[0];
    if (i == n - 1) return f[n - 1] - f[n - 2];
    return (f[i + 1] - f[i - 1]) / 2;
  };
  std::vector<double> d(n), ds(n);
  for (index_t i = 0; i < n; ++i) d[i] = grad(mu, i) / grad(e, i);
  for (index_t i = 0; i < n; ++i) {
    if (sigma == 0) {
      ds[i] = d[i];
      continue;
    }
    double num = 0, den = 0;
    for (index_t k = 0; k < n; ++k) {
      const double z = (e[k] - e[i]) / sigma;
      if (std::abs(z) > 3) continue;
      num += std::exp(-0.5 * z * z) * d[k];
      den += std::exp(-0.5 * z * z);
    }
    ds[i] = num / den;
  }
  const index_t nmin = std::max<index_t>(3, static_cast<index_t>(n * 0.05));
  double mx = -1e300;
  for (index_t i = nmin; i < n - nmin; ++i) mx = std::max(mx, ds[i]);
  index_t best = -1;
  double bd = 0;
  for (index_t i = nmin; i <= n - nmin; ++i)
    if (ds[i] > 0.1 * mx && ds[i - 1] > 0.1 * mx && ds[i + 1] > 0.1 * mx && ds[i] > bd) {
      best = i;
      bd = ds[i];
    }
  return best;
}

}  // namespace

TEST_CASE("find_e0_per_pixel: sigma 0 is find_e0 on every pixel; smoothing matches the naive form") {
  const auto e = preprocess_test::beamline_grid();
  const auto c = shifted_edges<double>(image_shape{9, 13}, e, 0.004, 5);
  const auto raw = find_e0_per_pixel(c.view(), e, 0.0);
  for (double sigma : {0.0, 0.8, 2.5}) {
    CAPTURE(sigma);
    const auto ie = find_e0_per_pixel(c.view(), e, sigma, {}, 2);
    REQUIRE(ie.size() == static_cast<std::size_t>(c.pixel_count()));
    int differ_from_raw = 0;
    for (index_t p = 0; p < c.pixel_count(); ++p) {
      std::vector<double> mu(c.spectrum(p).begin(), c.spectrum(p).end());
      const index_t expected = naive_e0_index(e, mu, sigma);
      CHECK(ie[p] == expected);
      if (sigma == 0) CHECK(e[ie[p]] == find_e0(e, mu));
      differ_from_raw += ie[p] != raw[p];
    }
    // smoothing must change something on noisy data (else it is not applied)
    if (sigma > 2) CHECK(differ_from_raw > 0);
  }
}

TEST_CASE("smoothing makes per-pixel e0 robust to noise") {
  const auto e = preprocess_test::beamline_grid();
  // same edges, clean and noisy (same seed: same shifts)
  const auto clean = shifted_edges<float>(image_shape{20, 20}, e, 0.0, 9);
  const auto noisy = shifted_edges<float>(image_shape{20, 20}, e, 0.03, 9);
  const auto truth = find_e0_per_pixel(clean.view(), e, 0.0);
  auto mean_error = [&](double sigma) {
    const auto ie = find_e0_per_pixel(noisy.view(), e, sigma);
    double s = 0;
    for (std::size_t p = 0; p < ie.size(); ++p) s += std::abs(e[ie[p]] - e[truth[p]]);
    return s / static_cast<double>(ie.size());
  };
  const double raw = mean_error(0.0), smoothed = mean_error(1.5);
  MESSAGE("mean |e0 error| at noise 0.03: raw " << raw << " eV, smoothed (1.5 eV) " << smoothed << " eV");
  CHECK(smoothed < 0.5 * raw);
}

TEST_CASE_TEMPLATE("normalize_cube per_pixel equals pre_edge with each pixel's own e0", T, float, double) {
  const auto e = preprocess_test::beamline_grid();
  auto c = shifted_edges<T>(image_shape{7, 9}, e, 0.002, 13);
  const index_t nan_pixel = 4, flat_pixel = 30, masked_pixel = 40;
  c.spectrum(nan_pixel)[3] = std::numeric_limits<T>::quiet_NaN();
  for (auto& v : c.spectrum(flat_pixel)) v = T(0.7);
  pixel_mask mask(c.shape(), 1);
  mask[masked_pixel] = 0;
  normalize_cube_options o;
  o.e0_source = cube_e0::per_pixel;
  o.e0_smoothing = 0.0;  // exactly find_e0: comparable with pre_edge(no e0)
  o.edge.pre1 = -110;
  o.edge.pre2 = -30;
  o.edge.norm1 = 40;
  o.edge.norm2 = 280;
  o.output = normalized_output::flat;
  cube<T> out1(c.shape(), c.bands()), out2(c.shape(), c.bands());
  o.threads = 1;
  const auto rep = normalize_cube(c.view(), e, o, out1.view(), mask.view());
  o.threads = 2;
  const auto rep2 = normalize_cube(c.view(), e, o, out2.view(), mask.view());
  CHECK(out1.storage() == out2.storage());
  CHECK(rep.masked_input == 1);
  CHECK(rep.masked_nonfinite == 1);
  // the flat pixel: no derivative at all (no_e0), or a rounding-level one
  // (FMA contraction) whose edge step is then within rounding of 0 (no_edge)
  CHECK(rep.masked_no_e0 + rep.masked_no_edge == 1);
  CHECK(rep.valid[flat_pixel] == 0);
  CHECK(rep.normalized == c.pixel_count() - 3);
  CHECK(rep2.normalized == rep.normalized);
  CHECK(rep.distinct_e0 > 3);  // the shifts span several grid points: several plans
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-10;
  index_t compared = 0;
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    CAPTURE(p);
    if (!rep.valid[p]) {
      for (auto v : out1.spectrum(p)) CHECK(v == T(0));
      continue;
    }
    std::vector<double> mu(c.spectrum(p).begin(), c.spectrum(p).end());
    const auto r = pre_edge(e, mu, o.edge);  // e0 unset: find_e0 of this spectrum
    if (std::is_same_v<T, double>) REQUIRE(rep.e0[p] == static_cast<float>(r.e0));
    if (rep.e0[p] != static_cast<float>(r.e0)) continue;  // float: a near-tie may pick a neighbour
    double worst = 0;
    for (std::size_t i = 0; i < e.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(out1.spectrum(p)[i]) - r.flat[i]));
    CHECK(worst < tol);
    ++compared;
  }
  CHECK(compared >= rep.normalized - 2);
  // with e0 imposed, per_pixel is refused with a clear message
  o.edge.e0 = 7120.0;
  CHECK_THROWS_WITH_AS(normalize_cube(c.view(), e, o, out1.view()),
                       "normalize_cube: edge.e0 must be unset with e0_source = per_pixel (got 7120)",
                       invalid_argument);
}
