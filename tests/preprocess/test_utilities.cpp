// standardize, interpolate (linear, PCHIP), beer_lambert, sample mask.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/preprocess/interpolate.hpp"
#include "spectromine/preprocess/standardize.hpp"

using namespace spectromine;

TEST_CASE("standardize: mean 0, norm 1, Pearson as dot product") {
  std::vector<double> a{1, 3, 2, 7, 5}, b{2, 2, 5, 9, 4};
  std::vector<double> za(5), zb(5);
  REQUIRE(standardize(std::span<const double>(a), std::span<double>(za)));
  REQUIRE(standardize(std::span<const double>(b), std::span<double>(zb)));
  double mean = 0, norm = 0, dot = 0;
  for (int i = 0; i < 5; ++i) {
    mean += za[i];
    norm += za[i] * za[i];
    dot += za[i] * zb[i];
  }
  CHECK(std::abs(mean) < 1e-14);
  CHECK(norm == doctest::Approx(1.0).epsilon(1e-14));
  // naive Pearson r
  double ma = 0, mb = 0;
  for (int i = 0; i < 5; ++i) ma += a[i] / 5, mb += b[i] / 5;
  double sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < 5; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  CHECK(dot == doctest::Approx(sab / std::sqrt(saa * sbb)).epsilon(1e-13));
}

TEST_CASE("standardize flags constant and non-finite spectra and writes zeros") {
  std::vector<float> c(100, 0.37f), out(100, 9.0f);
  CHECK(standardize_status_of(std::span<const float>(c), std::span<float>(out)) ==
        standardize_status::constant);
  for (float v : out) CHECK(v == 0.0f);
  std::vector<double> d(50, 1e6), outd(50, 1.0);
  CHECK_FALSE(standardize(std::span<const double>(d), std::span<double>(outd)));
  c[3] = std::numeric_limits<float>::infinity();
  CHECK(standardize_status_of(std::span<const float>(c), std::span<float>(out)) ==
        standardize_status::nonfinite);
  // a tiny but real variation is NOT constant
  std::vector<double> t(10, 1.0);
  t[4] = 1.0 + 1e-9;
  std::vector<double> tz(10);
  CHECK(standardize(std::span<const double>(t), std::span<double>(tz)));
  CHECK_THROWS_AS(standardize(std::span<const double>(t), std::span<double>(tz).first(3)),
                  invalid_argument);
}

TEST_CASE("standardize_cube: per pixel, mask, report counts, thread-independent") {
  cube<float> c(image_shape{7, 9}, 33);
  auto engine = make_engine(42, 0);
  std::normal_distribution<float> noise(0.0f, 1.0f);  // only shapes the values; checked vs per-spectrum
  for (auto& v : c.storage()) v = noise(engine);
  for (int b = 0; b < 33; ++b) c(1, 2, b) = 5.0f;                               // constant
  c(3, 3, 7) = std::numeric_limits<float>::quiet_NaN();                          // NaN
  pixel_mask mask(c.shape(), 1);
  mask(6, 8) = 0;
  cube<float> out1(c.shape(), 33), out2(c.shape(), 33);
  const auto r1 = standardize_cube(c.view(), out1.view(), mask.view(), 1);
  const auto r2 = standardize_cube(c.view(), out2.view(), mask.view(), 2);
  CHECK(out1.storage() == out2.storage());
  CHECK(r1.constant == 1);
  CHECK(r1.nonfinite == 1);
  CHECK(r1.masked_input == 1);
  CHECK(r1.standardized == 63 - 3);
  CHECK(r1.valid(1, 2) == 0);
  CHECK(r1.valid(0, 0) == 1);
  std::vector<float> z(33);
  standardize(c.spectrum(10), std::span<float>(z));
  for (int b = 0; b < 33; ++b) CHECK(out1.spectrum(10)[b] == z[b]);
  for (int b = 0; b < 33; ++b) CHECK(out1(3, 3, b) == 0.0f);
}

TEST_CASE("interpolate_linear: exact on lines, errors when the grid is not covered") {
  std::vector<double> x{7000, 7001, 7003, 7010}, y(4);
  for (int i = 0; i < 4; ++i) y[i] = 2.0 - 0.1 * (x[i] - 7000);
  std::vector<double> q{7000, 7000.5, 7002.2, 7009.9, 7010};
  const auto v = interpolate_linear(x, y, q);
  for (std::size_t i = 0; i < q.size(); ++i) CHECK(v[i] == doctest::Approx(2.0 - 0.1 * (q[i] - 7000)));
  std::vector<double> out_of{6999, 7005};
  CHECK_THROWS_WITH_AS(interpolate_linear(x, y, out_of),
                       doctest::Contains("must lie inside the source grid"), invalid_argument);
  const auto held = interpolate_linear(x, y, out_of, extrapolation::hold);
  CHECK(held[0] == y[0]);
  const auto lin = interpolate_linear(x, y, out_of, extrapolation::linear);
  CHECK(lin[0] == doctest::Approx(2.1));
  std::vector<double> unsorted{7000, 6999, 7010};
  CHECK_THROWS_AS(interpolate_linear(unsorted, y.data() ? std::span<const double>(y).first(3) : std::span<const double>(), q),
                  invalid_argument);
  std::vector<double> nan_y = y;
  nan_y[1] = std::nan("");
  CHECK_THROWS_AS(interpolate_linear(x, nan_y, q), invalid_argument);
}

TEST_CASE("interpolate_pchip matches SciPy's PchipInterpolator and stays monotone") {
  // Expected values: scipy.interpolate.PchipInterpolator(x, y)(q), SciPy 1.10 (Debian),
  // computed with /usr/bin/python3 when this test was written.
  const std::vector<double> x{0., 1., 2.5, 3., 4.5, 6.}, y{0., 0.2, 1.5, 1.6, 1.6, 0.9};
  const std::vector<double> q{0.3, 0.9, 1.7, 2.6, 3.3, 4.0, 5.2, 5.9};
  const std::vector<double> scipy{0.023544, 0.169128, 0.79593846, 1.52923774,
                                  1.6,      1.6,      1.4069037,  0.9698963};
  const std::vector<double> scipy_slopes{0., 0.312, 0.29433962, 0., 0., -0.7};
  const auto v = interpolate_pchip(x, y, q);
  for (std::size_t i = 0; i < q.size(); ++i) CHECK(v[i] == doctest::Approx(scipy[i]).epsilon(1e-7));
  const auto d = pchip_slopes(x, y);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(d[i] == doctest::Approx(scipy_slopes[i]).epsilon(1e-7));
  // nodes are reproduced
  const auto at_nodes = interpolate_pchip(x, y, x);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(at_nodes[i] == doctest::Approx(y[i]));
  // a monotone step (an absorption edge) stays monotone and within range: no overshoot
  std::vector<double> ex, ey, fine;
  for (int i = 0; i < 40; ++i) {
    ex.push_back(7000 + 2.0 * i);
    ey.push_back(i < 20 ? 0.0 : 1.0);
  }
  for (int i = 0; i <= 780; ++i) fine.push_back(7000 + 0.1 * i);
  const auto f = interpolate_pchip(ex, ey, fine);
  for (std::size_t i = 0; i < f.size(); ++i) {
    CHECK(f[i] >= 0.0);
    CHECK(f[i] <= 1.0);
    if (i > 0) CHECK(f[i] >= f[i - 1]);
  }
  std::vector<double> beyond{-1.0, 7.0};
  CHECK_THROWS_AS(interpolate_pchip(x, y, beyond), invalid_argument);
  const auto ext = interpolate_pchip(x, y, beyond, extrapolation::linear);
  CHECK(ext[1] == doctest::Approx(0.9 - 0.7));
}

// ------------------------------------------------------------ beer_lambert
#include "spectromine/preprocess/beer_lambert.hpp"
#include "spectromine/preprocess/mask.hpp"

TEST_CASE("beer_lambert: ln((ref - dark) / (trans - dark)), broadcast, policies") {
  const image_shape shape{3, 4};
  const index_t bands = 5;
  cube<std::uint16_t> trans(shape, bands), ref(shape, bands), dark(shape, bands);
  for (index_t p = 0; p < shape.pixels(); ++p)
    for (index_t j = 0; j < bands; ++j) {
      ref.spectrum(p)[j] = static_cast<std::uint16_t>(20000 + 100 * j);
      dark.spectrum(p)[j] = 100;
      trans.spectrum(p)[j] = static_cast<std::uint16_t>(5000 + 50 * p + 7 * j);
    }
  trans(1, 1, 2) = 100;  // trans - dark = 0
  trans(2, 3, 0) = 50;   // trans - dark < 0
  cube<float> out(shape, bands, 7.0f);
  const auto r = beer_lambert(std::as_const(trans).view(), std::as_const(ref).view(), out.view(),
                              std::as_const(dark).view());
  CHECK(r.masked_nonpositive == 2);
  CHECK(r.converted == shape.pixels() - 2);
  CHECK(r.valid(1, 1) == 0);
  for (index_t j = 0; j < bands; ++j) CHECK(out(1, 1, j) == 0.0f);
  const double expect = std::log((20000.0 + 100 * 3 - 100) / (5000.0 + 50 * 4 + 7 * 3 - 100));
  CHECK(out.spectrum(4)[3] == doctest::Approx(expect).epsilon(1e-6));

  beer_lambert_options clamp;
  clamp.policy = nonpositive_policy::clamp;
  clamp.floor = 1.0;
  const auto rc = beer_lambert(std::as_const(trans).view(), std::as_const(ref).view(), out.view(),
                               std::as_const(dark).view(), clamp);
  CHECK(rc.converted == shape.pixels());
  CHECK(rc.clamped_values == 2);
  CHECK(rc.clamped_pixels == 2);
  CHECK(out(1, 1, 2) == doctest::Approx(std::log(20000.0 + 200 - 100)).epsilon(1e-6));
  for (float v : out.storage()) CHECK(std::isfinite(v));

  // a single reference spectrum broadcast to every pixel, no dark
  cube<double> i0(image_shape{1, 1}, bands, 1000.0);
  cube<double> t2(shape, bands, 500.0);
  t2(0, 2, 1) = std::nan("");
  cube<double> out2(shape, bands);
  const auto rb = beer_lambert(std::as_const(t2).view(), std::as_const(i0).view(), out2.view());
  CHECK(rb.masked_nonfinite == 1);
  CHECK(out2(2, 2, 4) == doctest::Approx(std::log(2.0)));
  cube<double> wrong(image_shape{2, 2}, bands, 1.0);
  CHECK_THROWS_AS(beer_lambert(std::as_const(t2).view(), std::as_const(wrong).view(), out2.view()),
                  invalid_argument);
  clamp.floor = 0;
  CHECK_THROWS_WITH_AS(beer_lambert(std::as_const(t2).view(), std::as_const(i0).view(), out2.view(),
                                    clamp),
                       doctest::Contains("floor"), invalid_argument);
}

namespace {
std::vector<double> mask_grid() {
  std::vector<double> e;
  for (double v = 7000; v < 7100; v += 4) e.push_back(v);
  for (double v = 7100; v < 7150; v += 1) e.push_back(v);
  for (double v = 7150; v <= 7320; v += 4) e.push_back(v);
  return e;
}
}  // namespace

TEST_CASE("sample_mask separates sample from empty pixels with a data-derived cut") {
  const auto e = mask_grid();
  const image_shape shape{40, 50};
  cube<float> c(shape, static_cast<index_t>(e.size()));
  pixel_mask truth(shape, 0);
  auto engine = make_engine(2026, 1);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (index_t r = 0; r < shape.rows; ++r)
    for (index_t col = 0; col < shape.cols; ++col) {
      const bool sample = (r - 20) * (r - 20) + (col - 25) * (col - 25) < 15 * 15;
      truth(r, col) = sample;
      const double step = sample ? 0.5 + 1.5 * u(engine) : 0.0;  // z >= ~12: unambiguous
      const double sd = 0.01 + 0.01 * u(engine);
      auto s = c.view().spectrum(r, col);
      for (std::size_t i = 0; i < e.size(); ++i)
        s[i] = static_cast<float>(0.4 + 1e-4 * (e[i] - 7000) +
                                  step * (0.5 + std::atan((e[i] - 7120) / 2.0) / M_PI) +
                                  sd * g(engine));
    }
  c(0, 0, 3) = std::numeric_limits<float>::quiet_NaN();
  pre_edge_options edge;
  edge.e0 = 7120;
  const auto m = sample_mask(std::as_const(c).view(), e, edge);
  CHECK(m.report.masked_nonfinite == 1);
  CHECK(m.report.threshold >= m.report.floor);
  index_t wrong = 0;
  for (index_t p = 1; p < shape.pixels(); ++p) wrong += m.mask[p] != truth[p];
  MESSAGE("mask: threshold " << m.report.threshold << " otsu " << m.report.otsu_threshold.value_or(-1) << " applied " << m.report.otsu_applied << " gain " << m.report.step_noise_gain << " wrong " << wrong);
  CHECK(wrong <= shape.pixels() / 500);
  CHECK(m.report.sample + m.report.masked_low_snr + m.report.masked_nonfinite == shape.pixels());
  // empty pixels: z ~ |Normal(0, 1)| (median 0.674) when the noise estimate is right
  std::vector<double> empty_z;
  for (index_t p = 1; p < shape.pixels(); ++p)
    if (!truth[p]) empty_z.push_back(m.z[p]);
  std::nth_element(empty_z.begin(), empty_z.begin() + empty_z.size() / 2, empty_z.end());
  CHECK(empty_z[empty_z.size() / 2] == doctest::Approx(0.674).epsilon(0.15));
  // a low floor lets Otsu's split (of noise vs sample) set the cut
  sample_mask_options low;
  low.floor = 1.0;
  const auto mo = sample_mask(std::as_const(c).view(), e, edge, low);
  CHECK(mo.report.otsu_applied);
  CHECK(mo.report.threshold > 1.0);
  index_t wrong_otsu = 0;
  for (index_t p = 1; p < shape.pixels(); ++p) wrong_otsu += mo.mask[p] != truth[p];
  CHECK(wrong_otsu <= shape.pixels() / 200);
  // override
  sample_mask_options o;
  o.threshold = 1e9;
  const auto none = sample_mask(std::as_const(c).view(), e, edge, o);
  CHECK(none.report.sample == 0);
  CHECK(none.report.overridden);
  // thread independence
  o = {};
  o.threads = 1;
  const auto m1 = sample_mask(std::as_const(c).view(), e, edge, o);
  CHECK(m1.mask == m.mask);
  CHECK(m1.report.threshold == m.report.threshold);
}

TEST_CASE("sample_mask keeps a field that is sample everywhere (no empty population)") {
  const auto e = mask_grid();
  cube<double> c(image_shape{20, 20}, static_cast<index_t>(e.size()));
  auto engine = make_engine(7, 2);
  std::normal_distribution<double> g(0.0, 1.0);
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    const double step = p % 2 ? 0.5 : 2.0;  // thin and thick regions: two populations, both sample
    auto s = c.spectrum(p);
    for (std::size_t i = 0; i < e.size(); ++i)
      s[i] = 0.2 + step * (0.5 + std::atan((e[i] - 7120) / 2.0) / M_PI) + 0.01 * g(engine);
  }
  const auto m = sample_mask(std::as_const(c).view(), e);  // e0 from the mean spectrum
  CHECK_FALSE(m.report.otsu_applied);
  CHECK(m.report.sample == c.pixel_count());
  CHECK(std::abs(m.report.windows.e0 - 7120) <= 1.0);
}

TEST_CASE("is_standardizable equals standardize_status_of == ok") {
  // Spectra near the constant/non-constant floor (1.0 plus a few ulps of
  // random noise: norm / floor ~ amplitude / 14), ordinary ones, zeros and
  // non-finite ones: the decision must be the exact function's, always.
  auto eng = make_engine(11, 0);
  boost::random::uniform_int_distribution<int> amp(0, 40), len(1, 200);
  boost::random::uniform_real_distribution<double> u(-1, 1);
  index_t ok = 0, not_ok = 0, near = 0;
  std::vector<float> out;
  for (int trial = 0; trial < 20000; ++trial) {
    const auto n = static_cast<std::size_t>(len(eng));
    std::vector<float> x(n, 1.0f);
    const int kind = trial % 5, a = amp(eng);
    for (auto& v : x) {
      if (kind <= 2) v = 1.0f + static_cast<float>(std::round(u(eng) * a)) * std::numeric_limits<float>::epsilon();
      else if (kind == 3) v = static_cast<float>(u(eng) * std::pow(10.0, a / 4 - 5));
      else v = 0.0f;
    }
    if (trial % 97 == 0) x[n / 2] = std::numeric_limits<float>::quiet_NaN();
    if (trial % 89 == 0) x[0] = std::numeric_limits<float>::infinity();
    out.assign(n, 0.0f);
    const bool want = standardize_status_of(std::span<const float>(x), std::span<float>(out)) == standardize_status::ok;
    CAPTURE(trial);
    CHECK(is_standardizable(std::span<const float>(x), std::span<float>(out)) == want);
    (want ? ok : not_ok) += 1;
    if (kind <= 2 && a >= 10 && a <= 18) ++near;
  }
  CHECK(ok > 1000);
  CHECK(not_ok > 1000);
  CHECK(near > 1000);
}
