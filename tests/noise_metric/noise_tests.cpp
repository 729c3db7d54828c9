// Noise models, propagation to normalized absorbance, seeded realizations,
// and the noise estimator (validated on simulated data of known noise).
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/noise/estimate.hpp"
#include "spectromine/noise/gaussian.hpp"
#include "spectromine/noise/poisson.hpp"
#include "spectromine/noise/propagation.hpp"
#include "spectromine/noise/realization.hpp"
#include "spectromine/noise/scmos.hpp"

using namespace spectromine;

namespace {
// Naive Eq. 3 with sigma^2 = A N - B, written out as the paper states it.
double naive_sigma_norm(double A, double B, double c_ref, double low, double high, double s) {
  const double mut = low + s * (high - low);
  const double ct = c_ref * std::exp(-mut);
  const double v = (A * c_ref - B) / (c_ref * c_ref) + (A * ct - B) / (ct * ct);
  return std::sqrt(v) / (high - low);
}
double stddev(const std::vector<double>& v) {
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}
}  // namespace

TEST_CASE("scmos model: variance, validity limit, floor policy") {
  scmos_noise n;
  CHECK(n.variance(1000.0) == doctest::Approx(9.3131 * 1000 - 63.003));
  CHECK(n.min_counts() == doctest::Approx(63.003 / 9.3131));
  CHECK_THROWS_AS((void)n.variance(5.0), invalid_argument);
  try {
    (void)n.variance(5.0);
  } catch (const invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("scmos_noise: counts") == 0);
    CHECK(msg.find("B / A") != std::string::npos);
    CHECK(msg.find("(got 5)") != std::string::npos);
  }
  CHECK_THROWS_AS((void)n.variance(std::nan("")), invalid_argument);
  n.low_counts = low_count_policy::floor;
  n.variance_floor = 2.5;
  CHECK(n.variance(5.0) == 2.5);
  CHECK(n.variance(1000.0) == doctest::Approx(9.3131 * 1000 - 63.003));
  scmos_noise bad{-1.0, 0.0};
  CHECK_THROWS_AS(bad.validate(), invalid_argument);
  CHECK(poisson_noise{2.0}.variance(100.0) == 200.0);
  CHECK(gaussian_noise{3.0}.variance(1e6) == 9.0);
}

TEST_CASE("propagation matches Eq. 3 at both paper conditions, per band and per pixel") {
  const scmos_noise model;
  for (auto c : {measurement_conditions{}, measurement_conditions{2.0e4, 0.5, 2.5}}) {
    for (double s : {-0.05, 0.0, 0.3, 1.0, 1.4}) {
      CHECK(normalized_sigma(model, c, s) ==
            doctest::Approx(naive_sigma_norm(9.3131, 63.003, c.c_ref, c.mut_low, c.mut_high, s))
                .epsilon(1e-12));
    }
  }
  // The published code's convention: raw = s * 1.56 + 0.36 and sigma_mut / 1.56.
  const auto pc = published_code_conditions(2.7e4, 1.56, 0.36);
  CHECK(pc.mut_low == 0.36);
  CHECK(pc.step() == doctest::Approx(1.56));
  const double s = 0.8, mut = s * 1.56 + 0.36, ct = 2.7e4 * std::exp(-mut);
  const double published = std::sqrt((9.3131 * 2.7e4 - 63.003) / (2.7e4 * 2.7e4) +
                                     (9.3131 * ct - 63.003) / (ct * ct)) / 1.56;
  CHECK(normalized_sigma(model, pc, s) == doctest::Approx(published).epsilon(1e-12));

  // Cube, per-pixel conditions: each pixel gets its own sigma.
  const auto e = nm_test::paper_grid(20);
  const auto spec = nm_test::synthetic_spectrum(e, 7100);
  cube<float> clean(image_shape{1, 3}, 20);
  for (index_t p = 0; p < 3; ++p)
    for (index_t b = 0; b < 20; ++b) clean.spectrum(p)[static_cast<std::size_t>(b)] = static_cast<float>(spec[static_cast<std::size_t>(b)]);
  clean.spectrum(2)[5] = std::nanf("");
  std::vector<measurement_conditions> per_pixel{{2.7e4, 0.36, 1.56}, {5e3, 0.2, 2.0}, {2.7e4, 0.36, 1.56}};
  cube<double> sigma(image_shape{1, 3}, 20);
  normalized_sigma_cube(model, std::span<const measurement_conditions>(per_pixel), clean.view(), sigma.view(), 2);
  for (index_t p = 0; p < 2; ++p)
    for (index_t b = 0; b < 20; ++b) {
      const auto& c = per_pixel[static_cast<std::size_t>(p)];
      CHECK(sigma.spectrum(p)[static_cast<std::size_t>(b)] ==
            doctest::Approx(naive_sigma_norm(9.3131, 63.003, c.c_ref, c.mut_low, c.mut_high,
                                             clean.spectrum(p)[static_cast<std::size_t>(b)])).epsilon(1e-12));
    }
  CHECK(std::isnan(sigma.spectrum(2)[5]));
  CHECK(sigma.spectrum(1)[3] > sigma.spectrum(0)[3]);  // fewer counts: more noise
  std::vector<measurement_conditions> wrong(2);
  CHECK_THROWS_AS(normalized_sigma_cube(model, std::span<const measurement_conditions>(wrong), clean.view(), sigma.view()), invalid_argument);
  CHECK_THROWS_AS((measurement_conditions{2.7e4, 1.0, 0.5}.validate()), invalid_argument);
  CHECK_THROWS_AS((measurement_conditions{-1, 0.3, 1.5}.validate()), invalid_argument);
  // Low counts are reported, not turned into NaN: an opaque pixel at c_ref = 100.
  CHECK_THROWS_AS((void)normalized_sigma(model, measurement_conditions{100, 0.36, 5.0}, 1.0), invalid_argument);
}

TEST_CASE("conditions measured from a pixel's own mu*t spectrum") {
  const auto e = nm_test::paper_grid();
  const auto s = nm_test::synthetic_spectrum(e, 7122, 0.0, 0.0, 1.0);  // plain step
  std::vector<double> mut(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) mut[i] = 0.42 + 1.1 * s[i];
  const auto c = conditions_from_spectrum(std::span<const double>(e), std::span<const double>(mut), 7122.0, 3e4);
  CHECK(c.mut_low == doctest::Approx(0.42).epsilon(1e-6));
  CHECK(c.mut_high == doctest::Approx(1.52).epsilon(1e-6));
  CHECK(c.c_ref == 3e4);
  CHECK_THROWS_AS((void)conditions_from_spectrum(std::span<const double>(e), std::span<const double>(mut), 6000.0, 3e4), invalid_argument);
}

TEST_CASE("realizations: physical noise level, seeded, thread-independent") {
  const scmos_noise model;
  const measurement_conditions cond{};
  const auto e = nm_test::paper_grid();
  const auto s = nm_test::synthetic_spectrum(e);
  const index_t copies = 20000;
  realization_options opt;
  opt.seed = 7;
  const auto draws = noisy_copies(model, cond, std::span<const double>(s), copies, opt);
  // Per-band scatter equals the propagated sigma (first order): std error of
  // a std over 20,000 draws is 0.5%; allow 3%.
  for (std::size_t b : {std::size_t{0}, std::size_t{60}, std::size_t{90}, std::size_t{177}}) {
    std::vector<double> col(static_cast<std::size_t>(copies));
    double mean = 0;
    for (index_t k = 0; k < copies; ++k) {
      col[static_cast<std::size_t>(k)] = draws[static_cast<std::size_t>(k) * s.size() + b];
      mean += col[static_cast<std::size_t>(k)];
    }
    mean /= static_cast<double>(copies);
    CHECK(stddev(col) == doctest::Approx(normalized_sigma(model, cond, s[b])).epsilon(0.03));
    CHECK(std::abs(mean - s[b]) < 5 * normalized_sigma(model, cond, s[b]) / std::sqrt(double(copies)) + 1e-3);
  }
  // Same seed -> same draws; another seed -> different; thread count irrelevant.
  opt.threads = 1;
  CHECK(noisy_copies(model, cond, std::span<const double>(s), 300, opt) ==
        std::vector<double>(draws.begin(), draws.begin() + 300 * 178));
  opt.seed = 8;
  CHECK(noisy_copies(model, cond, std::span<const double>(s), 300, opt) !=
        std::vector<double>(draws.begin(), draws.begin() + 300 * 178));

  cube<float> clean(image_shape{13, 11}, 178);
  for (index_t p = 0; p < clean.pixel_count(); ++p)
    for (std::size_t b = 0; b < 178; ++b) clean.spectrum(p)[b] = static_cast<float>(s[b]);
  clean.spectrum(4)[3] = std::nanf("");
  cube<float> a(clean.shape(), 178), b2(clean.shape(), 178), m(clean.shape(), 178);
  realization_options o1{.seed = 3, .threads = 1}, o2{.seed = 3, .threads = 3};
  noisy_cube(model, cond, clean.view(), a.view(), realization_output::normalized, o1);
  noisy_cube(model, cond, clean.view(), b2.view(), realization_output::normalized, o2);
  CHECK(std::equal(a.storage().begin(), a.storage().end(), b2.storage().begin(),
                   [](float x, float y) { return (std::isnan(x) && std::isnan(y)) || x == y; }));
  CHECK(std::isnan(a.spectrum(4)[3]));
  noisy_cube(model, cond, clean.view(), m.view(), realization_output::mut, o1);
  CHECK(m.spectrum(7)[100] == doctest::Approx(cond.mut(a.spectrum(7)[100])).epsilon(1e-5));

  // Poisson draws: exact mean and variance of counts.
  poisson_noise pn{2.0};
  auto eng = make_engine(11);
  std::vector<double> pc(20000);
  for (auto& x : pc) x = pn.sample(500.0, eng);
  CHECK(std::accumulate(pc.begin(), pc.end(), 0.0) / 20000 == doctest::Approx(500.0).epsilon(0.01));
  CHECK(stddev(pc) * stddev(pc) == doctest::Approx(1000.0).epsilon(0.05));
}

TEST_CASE("noise estimated from the data recovers simulated noise") {
  const scmos_noise model;
  const measurement_conditions cond{};
  const auto e = nm_test::paper_grid();
  const auto s = nm_test::synthetic_spectrum(e);
  // Per spectrum: white Gaussian noise of known sigma on a smooth spectrum.
  {
    auto eng = make_engine(21);
    boost::random::normal_distribution<double> normal;
    double sum = 0;
    const int n = 300;
    for (int k = 0; k < n; ++k) {
      std::vector<double> y(s.size());
      for (std::size_t i = 0; i < s.size(); ++i) y[i] = s[i] + 0.02 * normal(eng);
      const double est = estimate_spectrum_noise(std::span<const double>(e), std::span<const double>(y));
      CHECK(est == doctest::Approx(0.02).epsilon(0.30));  // one spectrum: +-30%
      sum += est;
    }
    CHECK(sum / n == doctest::Approx(0.02).epsilon(0.05));  // average of 300: +-5%
  }
  // Per band over a cube with sCMOS noise: band-resolved sigma within 8%
  // (MAD over 6,000 pixels has ~2% standard error).
  cube<float> clean(image_shape{60, 100}, 178), noisy(image_shape{60, 100}, 178);
  for (index_t p = 0; p < clean.pixel_count(); ++p)
    for (std::size_t b = 0; b < 178; ++b) clean.spectrum(p)[b] = static_cast<float>(s[b]);
  noisy_cube(model, cond, clean.view(), noisy.view(), realization_output::normalized, {.seed = 5});
  const auto sigma = estimate_band_noise(std::span<const double>(e), cube_view<const float>(noisy.view()));
  std::vector<double> truth(178);
  for (std::size_t b = 0; b < 178; ++b) truth[b] = normalized_sigma(model, cond, s[b]);
  for (std::size_t b = 1; b + 1 < 178; ++b) {
    // The second difference mixes bands b-1, b, b+1 with variance weights 1:4:1.
    const double mixed = std::sqrt((truth[b - 1] * truth[b - 1] + 4 * truth[b] * truth[b] +
                                    truth[b + 1] * truth[b + 1]) / 6);
    CHECK(sigma[b] == doctest::Approx(mixed).epsilon(0.08));
  }
  // From the estimated noise back to an equivalent reference count: the
  // simulated c_ref = 2.7e4 is recovered within 8%.
  const double c = equivalent_c_ref(model, cond, std::span<const double>(s), std::span<const double>(sigma));
  CHECK(c == doctest::Approx(2.7e4).epsilon(0.08));
  CHECK_THROWS_AS((void)estimate_spectrum_noise(std::span<const double>(e.data(), 5), std::span<const double>(s.data(), 5)), invalid_argument);
}
