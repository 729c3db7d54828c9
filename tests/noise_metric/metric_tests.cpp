// Every metric against a naive implementation, plus the properties its
// metric_traits claim (triangle inequality, per-band decomposition).
#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <cmath>
#include <vector>

#include "helpers.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/metric/chi_square.hpp"
#include "spectromine/metric/euclidean.hpp"
#include "spectromine/metric/pearson.hpp"
#include "spectromine/metric/spectral_angle.hpp"
#include "spectromine/metric/squared_euclidean.hpp"

using namespace spectromine;
using ld = long double;

namespace {
std::vector<std::vector<double>> random_spectra(int n, int bands, std::uint64_t seed) {
  auto eng = make_engine(seed);
  boost::random::normal_distribution<double> normal;
  std::vector<std::vector<double>> out(static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(bands)));
  for (auto& s : out) {
    const double offset = normal(eng);
    for (auto& v : s) v = offset + normal(eng);
  }
  return out;
}
ld naive_dot(const std::vector<double>& a, const std::vector<double>& b) {
  ld s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += ld(a[i]) * ld(b[i]);
  return s;
}
ld naive_sq(const std::vector<double>& a, const std::vector<double>& b) {
  ld s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (ld(a[i]) - ld(b[i])) * (ld(a[i]) - ld(b[i]));
  return s;
}
// Textbook Pearson: (n sum xy - sum x sum y) / sqrt(...)
ld naive_pearson(const std::vector<double>& a, const std::vector<double>& b) {
  ld n = ld(a.size()), sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sx += a[i], sy += b[i], sxx += ld(a[i]) * a[i], syy += ld(b[i]) * b[i], sxy += ld(a[i]) * b[i];
  }
  return (n * sxy - sx * sy) / std::sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}
template <class M>
double call(const M& m, const std::vector<double>& a, const std::vector<double>& b) {
  return m(std::span<const double>(a), std::span<const double>(b));
}
template <class M>
double decomposed(const M& m, const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += m.band_term(a[i], b[i], static_cast<index_t>(i));
  return m.from_sum(sum);
}
}  // namespace

TEST_CASE("traits say what each metric is") {
  CHECK(metric_traits<squared_euclidean_distance>::is_squared);
  CHECK_FALSE(metric_traits<squared_euclidean_distance>::triangle_inequality);
  CHECK(metric_traits<euclidean_distance>::triangle_inequality);
  CHECK_FALSE(metric_traits<pearson_distance>::decomposes_per_band);
  CHECK(metric_traits<standardized_pearson_distance>::decomposes_per_band);
  CHECK(metric_traits<standardized_pearson_distance>::needs_standardized);
  CHECK(metric_traits<spectral_angle_distance>::triangle_inequality);
  CHECK_FALSE(metric_traits<spectral_angle_distance>::decomposes_per_band);
  CHECK(metric_traits<chi_square_distance>::decomposes_per_band);
  CHECK_FALSE((decomposable_metric<pearson_distance, double>));
  CHECK((decomposable_metric<chi_square_distance, float>));
  CHECK_FALSE((distance_metric<int, double>));
}

TEST_CASE("metrics agree with naive implementations") {
  const auto s = random_spectra(12, 178, 1);
  std::vector<double> var(178);
  for (std::size_t i = 0; i < var.size(); ++i) var[i] = 0.5 + 0.01 * double(i);
  const chi_square_distance chi{std::span<const double>(var)};
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j) {
      const auto &a = s[i], &b = s[j];
      const double sq = double(naive_sq(a, b));
      CHECK(call(squared_euclidean_distance{}, a, b) == doctest::Approx(sq).epsilon(1e-12));
      CHECK(call(euclidean_distance{}, a, b) == doctest::Approx(std::sqrt(sq)).epsilon(1e-12));
      CHECK(call(pearson_distance{}, a, b) == doctest::Approx(double(1 - naive_pearson(a, b))).epsilon(1e-10));
      const auto za = nm_test::naive_standardize(a), zb = nm_test::naive_standardize(b);
      CHECK(call(standardized_pearson_distance{}, za, zb) ==
            doctest::Approx(double(1 - naive_pearson(a, b))).epsilon(1e-10));
      // 2 (1 - r) = squared Euclidean distance of standardized spectra.
      CHECK(call(squared_euclidean_distance{}, za, zb) ==
            doctest::Approx(2 * call(pearson_distance{}, a, b)).epsilon(1e-10));
      const ld cosine = naive_dot(a, b) / std::sqrt(naive_dot(a, a) * naive_dot(b, b));
      CHECK(call(spectral_angle_distance{}, a, b) ==
            doctest::Approx(double(std::acos(std::min<ld>(1, cosine)))).epsilon(1e-7));
      ld chi_naive = 0;
      for (std::size_t k = 0; k < a.size(); ++k) chi_naive += (ld(a[k]) - b[k]) * (ld(a[k]) - b[k]) / var[k];
      CHECK(call(chi, a, b) == doctest::Approx(double(chi_naive)).epsilon(1e-12));
      // Decomposition reproduces the distance.
      CHECK(decomposed(squared_euclidean_distance{}, a, b) == doctest::Approx(call(squared_euclidean_distance{}, a, b)));
      CHECK(decomposed(euclidean_distance{}, a, b) == doctest::Approx(call(euclidean_distance{}, a, b)));
      CHECK(decomposed(chi, a, b) == doctest::Approx(call(chi, a, b)));
      CHECK(decomposed(standardized_pearson_distance{}, za, zb) ==
            doctest::Approx(call(standardized_pearson_distance{}, za, zb)));
      CHECK(euclidean_distance{}.to_sum(call(euclidean_distance{}, a, b)) == doctest::Approx(sq));
    }
  // float spans accumulate in double.
  std::vector<float> fa(s[0].begin(), s[0].end()), fb(s[1].begin(), s[1].end());
  CHECK(squared_euclidean_distance{}(std::span<const float>(fa), std::span<const float>(fb)) ==
        doctest::Approx(double(naive_sq(std::vector<double>(fa.begin(), fa.end()), std::vector<double>(fb.begin(), fb.end())))).epsilon(1e-12));
}

TEST_CASE("triangle inequality holds where claimed and fails where not") {
  const auto s = random_spectra(10, 30, 2);
  bool sq_violated = false;
  for (const auto& a : s)
    for (const auto& b : s)
      for (const auto& c : s) {
        CHECK(call(euclidean_distance{}, a, c) <= call(euclidean_distance{}, a, b) + call(euclidean_distance{}, b, c) + 1e-12);
        CHECK(call(spectral_angle_distance{}, a, c) <=
              call(spectral_angle_distance{}, a, b) + call(spectral_angle_distance{}, b, c) + 1e-12);
        if (call(squared_euclidean_distance{}, a, c) >
            call(squared_euclidean_distance{}, a, b) + call(squared_euclidean_distance{}, b, c))
          sq_violated = true;
      }
  // Collinear points a, (a+c)/2, c violate it for a squared distance.
  std::vector<double> a(30, 0.0), c(30, 1.0), mid(30, 0.5);
  CHECK(call(squared_euclidean_distance{}, a, c) > call(squared_euclidean_distance{}, a, mid) + call(squared_euclidean_distance{}, mid, c));
  (void)sq_violated;
}

TEST_CASE("edge cases: constant, zero and nearly parallel spectra") {
  std::vector<double> flat(20, 3.0), ramp(20), zero(20, 0.0);
  for (std::size_t i = 0; i < 20; ++i) ramp[i] = double(i);
  CHECK(call(pearson_distance{}, flat, ramp) == 1.0);  // no correlation defined: r := 0
  CHECK(call(spectral_angle_distance{}, zero, ramp) == doctest::Approx(std::acos(0.0)));
  // Nearly parallel: the chord form keeps the small angle accurate.
  std::vector<double> r2 = ramp;
  r2[5] += 1e-7;
  const ld cosine = naive_dot(ramp, r2) / std::sqrt(naive_dot(ramp, ramp) * naive_dot(r2, r2));
  const double angle = call(spectral_angle_distance{}, ramp, r2);
  CHECK(angle > 0);
  CHECK(angle == doctest::Approx(double(std::acos(cosine))).epsilon(1e-3));
  std::vector<double> bad(20, 0.0);
  CHECK_THROWS_AS(chi_square_distance{std::span<const double>(bad)}, invalid_argument);
}
