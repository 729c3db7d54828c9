// The misclassification percent point (Ito 2024 Eqs. 1, 4, 5): the pair form
// against the published code's formula, the GEMM matrices against the pair
// form, and the probability against Monte Carlo.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "helpers.hpp"
#include "spectromine/metric/dose.hpp"
#include "spectromine/metric/percent_point.hpp"
#include "spectromine/metric/pearson.hpp"
#include "spectromine/noise/gaussian.hpp"
#include "spectromine/noise/poisson.hpp"
#include "spectromine/noise/realization.hpp"
#include "spectromine/noise/scmos.hpp"

using namespace spectromine;

namespace {
// A replica of the published Calc_distribution (mean / sigma), written
// independently: raw = s * mul + offset; sigma_mut / |raw - mean(raw)|.
double published_percent_point(const std::vector<double>& s1, const std::vector<double>& s2,
                               double ref, double mul, double offset) {
  std::vector<double> raw(s1.size());
  for (std::size_t i = 0; i < s1.size(); ++i) raw[i] = s1[i] * mul + offset;
  double m = 0;
  for (double v : raw) m += v;
  m /= double(raw.size());
  double norm = 0;
  for (double v : raw) norm += (v - m) * (v - m);
  norm = std::sqrt(norm);
  const auto zr = nm_test::naive_standardize(raw), z1 = nm_test::naive_standardize(s1), z2 = nm_test::naive_standardize(s2);
  double mean = 0, var = 0;
  for (std::size_t i = 0; i < s1.size(); ++i) {
    const double ct = ref * std::exp(-raw[i]);
    const double sm2 = (9.3131 * ref - 63.003) / (ref * ref) + (9.3131 * ct - 63.003) / (ct * ct);
    const double delta = z1[i] - z2[i];
    mean += delta * zr[i];
    var += delta * delta * sm2 / (norm * norm);
  }
  return mean / std::sqrt(var);
}

// A family of distinct but similar spectra (edge shifts, white lines).
std::vector<std::vector<double>> family(const std::vector<double>& e, int n) {
  std::vector<std::vector<double>> out;
  for (int k = 0; k < n; ++k)
    out.push_back(nm_test::synthetic_spectrum(e, 7120 + 0.15 * k, 0.3 + 0.01 * (k % 5), 0.08 - 0.002 * (k % 3)));
  return out;
}
row_matrix<double> as_matrix(const std::vector<std::vector<double>>& v) {
  row_matrix<double> m(static_cast<index_t>(v.size()), static_cast<index_t>(v[0].size()));
  for (std::size_t i = 0; i < v.size(); ++i)
    for (std::size_t b = 0; b < v[i].size(); ++b) m(static_cast<index_t>(i), static_cast<index_t>(b)) = v[i][b];
  return m;
}
}  // namespace

TEST_CASE("probabilities and thresholds") {
  CHECK(misclassification_probability(0.0) == doctest::Approx(0.5));
  CHECK(misclassification_probability(percent_points::one_in_hundred) == doctest::Approx(1e-2).epsilon(1e-9));
  CHECK(misclassification_probability(percent_points::one_in_ten_thousand) == doctest::Approx(1e-4).epsilon(1e-9));
  CHECK(percent_point_for_probability(1e-4) == doctest::Approx(3.719).epsilon(1e-3));
  CHECK(percent_point_for_probability(1e-2) == doctest::Approx(percent_points::one_in_hundred).epsilon(1e-12));
  CHECK_THROWS_AS((void)percent_point_for_probability(1.5), invalid_argument);
}

TEST_CASE("pair percent point reproduces the published formula via published_code_conditions") {
  const auto e = nm_test::paper_grid();
  const auto fam = family(e, 8);
  const scmos_noise model;
  for (std::size_t i = 0; i < fam.size(); ++i)
    for (std::size_t j = 0; j < fam.size(); ++j) {
      if (i == j) continue;
      const double ours = percent_point_between(model, published_code_conditions(2.7e4, 1.56, 0.36),
                                                std::span<const double>(fam[i]), std::span<const double>(fam[j]));
      CHECK(ours == doctest::Approx(published_percent_point(fam[i], fam[j], 2.7e4, 1.56, 0.36)).epsilon(1e-9));
      CHECK(ours > 0);
    }
  // Identical spectra: 0; noiseless distinct spectra: infinity.
  const auto z0 = nm_test::naive_standardize(fam[0]), z1 = nm_test::naive_standardize(fam[1]);
  std::vector<double> zero(178, 0.0), sig(178, 0.01);
  CHECK(percent_point(std::span<const double>(z0), std::span<const double>(z0), std::span<const double>(sig), 5.0) == 0.0);
  CHECK(std::isinf(percent_point(std::span<const double>(z0), std::span<const double>(z1), std::span<const double>(zero), 5.0)));
  CHECK_THROWS_AS((void)percent_point(std::span<const double>(z0), std::span<const double>(z1), std::span<const double>(sig), 0.0), invalid_argument);
  CHECK_THROWS_AS((void)percent_point(std::span<const double>(z0), std::span<const double>(z1), std::span<const double>(sig.data(), 10), 1.0), invalid_argument);
  std::vector<double> flat(178, 1.0);
  CHECK_THROWS_AS((void)percent_point_between(std::span<const double>(flat), std::span<const double>(fam[0]), std::span<const double>(sig)), invalid_argument);
  // Doubling the reference dose of a Poisson-like camera scales d by ~sqrt(2)
  // (exactly for b = 0).
  const poisson_noise shot{9.3131};
  const measurement_conditions c1{2.7e4, 0.36, 1.56}, c2{5.4e4, 0.36, 1.56};
  const double d1 = percent_point_between(shot, c1, std::span<const double>(fam[0]), std::span<const double>(fam[3]));
  const double d2 = percent_point_between(shot, c2, std::span<const double>(fam[0]), std::span<const double>(fam[3]));
  CHECK(d2 / d1 == doctest::Approx(std::sqrt(2.0)).epsilon(1e-12));
}

TEST_CASE("matrix forms equal the pair form, for any thread count") {
  const auto e = nm_test::paper_grid();
  const auto fam = family(e, 37);
  std::vector<std::vector<double>> other;
  for (int k = 0; k < 11; ++k) other.push_back(nm_test::synthetic_spectrum(e, 7121.1 + 0.23 * k, 0.35, 0.07));
  const scmos_noise model;
  const measurement_conditions cond{};
  const auto set = make_percent_point_set(as_matrix(fam), model, cond);
  std::vector<std::vector<double>> shifted;
  for (auto s : other) {
    for (auto& v : s) v = 0.97 * v + 0.01;
    shifted.push_back(s);
  }
  const auto set2 = make_percent_point_set(as_matrix(shifted), model, cond);
  // Standardization makes the percent point blind to offset and scale.
  CHECK(percent_point_between(model, cond, std::span<const double>(other[0]), std::span<const double>(shifted[0])) == 0.0);
  auto pair = [&](const std::vector<double>& a, const std::vector<double>& b) {
    return percent_point_between(model, cond, std::span<const double>(a), std::span<const double>(b));
  };
  percent_point_options small{.threads = 1, .block = 8};
  const auto d = percent_point_matrix(set, set2, small);
  const auto sym2 = symmetric_percent_point_matrix(set, set2, small);
  const auto sym = symmetric_percent_point_matrix(set, small);
  for (std::size_t i = 0; i < fam.size(); ++i) {
    for (std::size_t j = 0; j < shifted.size(); ++j) {
      CHECK(d(index_t(i), index_t(j)) == doctest::Approx(pair(fam[i], shifted[j])).epsilon(1e-7));
      CHECK(sym2(index_t(i), index_t(j)) ==
            doctest::Approx(0.5 * (pair(fam[i], shifted[j]) + pair(shifted[j], fam[i]))).epsilon(1e-7));
    }
    for (std::size_t j = 0; j < fam.size(); ++j) {
      const double expect = i == j ? 0.0 : 0.5 * (pair(fam[i], fam[j]) + pair(fam[j], fam[i]));
      CHECK(sym(index_t(i), index_t(j)) == doctest::Approx(expect).epsilon(1e-7));
      CHECK(sym(index_t(i), index_t(j)) == sym(index_t(j), index_t(i)));
    }
  }
  // Bit-identical across thread counts (fixed blocks), close across block sizes.
  for (int threads : {2, 3}) {
    percent_point_options o{.threads = threads, .block = 8};
    CHECK((symmetric_percent_point_matrix(set, o).array() == sym.array()).all());
    CHECK((percent_point_matrix(set, set2, o).array() == d.array()).all());
  }
  percent_point_options big{.threads = 2, .block = 256};
  CHECK((symmetric_percent_point_matrix(set, big) - sym).cwiseAbs().maxCoeff() < 1e-6 * sym.maxCoeff());
  // float: ~1e-3 relative where 1 - r ~ 1e-4 (documented).
  const auto setf = make_percent_point_set<float>(as_matrix(fam), model, cond);
  const auto symf = symmetric_percent_point_matrix(setf);
  for (index_t i = 0; i < sym.rows(); ++i)
    for (index_t j = 0; j < sym.cols(); ++j)
      if (sym(i, j) > 1.0) CHECK(double(symf(i, j)) == doctest::Approx(sym(i, j)).epsilon(2e-2));
  // The set can also carry explicit sigma (one shared row).
  row_matrix<double> sig = row_matrix<double>::Constant(1, 178, 0.02);
  const auto sset = make_percent_point_set(as_matrix(fam), sig);
  std::vector<double> sigv(178, 0.02);
  CHECK(percent_point_matrix(sset, sset)(2, 5) ==
        doctest::Approx(percent_point_between(std::span<const double>(fam[2]), std::span<const double>(fam[5]), std::span<const double>(sigv))).epsilon(1e-9));
  CHECK_THROWS_AS((void)percent_point_matrix(set, make_percent_point_set(row_matrix<double>::Random(3, 50), sig.leftCols(50))), invalid_argument);
}

TEST_CASE("Monte Carlo on synthetic pairs: Gaussian noise on the normalized spectrum is exact") {
  // With constant Gaussian noise added to the normalized spectrum, the sign
  // test is exactly Normal: the observed error rate must match Phi(-d) to
  // binomial accuracy.
  const auto e = nm_test::paper_grid();
  const auto a = nm_test::synthetic_spectrum(e, 7122.0);
  std::vector<double> sigma(178, 0.02);
  auto eng = make_engine(99);
  boost::random::normal_distribution<double> normal;
  for (double shift : {0.08, 0.15, 0.3}) {
    const auto b = nm_test::synthetic_spectrum(e, 7122.0 + shift);
    const double d = percent_point_between(std::span<const double>(a), std::span<const double>(b),
                                           std::span<const double>(sigma));
    REQUIRE(d > 0.5);
    REQUIRE(d < 3.0);
    const int draws = 40000;
    int wrong = 0;
    std::vector<double> g(178);
    for (int k = 0; k < draws; ++k) {
      for (std::size_t i = 0; i < 178; ++i) g[i] = a[i] + 0.02 * normal(eng);
      if (pearson_distance::correlation(std::span<const double>(b), std::span<const double>(g)) >
          pearson_distance::correlation(std::span<const double>(a), std::span<const double>(g)))
        ++wrong;
    }
    const double p = misclassification_probability(d);
    INFO("d = " << d << ", observed " << wrong / double(draws) << ", predicted " << p);
    CHECK(std::abs(wrong / double(draws) - p) < 4.5 * std::sqrt(p * (1 - p) / draws));
  }
}

TEST_CASE("dose for a target percent point: closed form for sCMOS, sqrt(dose) for shot noise") {
  const auto e = nm_test::paper_grid();
  const auto a = nm_test::synthetic_spectrum(e, 7122.0), b = nm_test::synthetic_spectrum(e, 7122.2);
  const scmos_noise model;
  const measurement_conditions cond{};
  const double target = percent_points::one_in_ten_thousand;
  // Closed form of the one-directional d(c_ref)^-2 = P / c - Q / c^2 (docs in metric/dose.hpp).
  const auto z1 = nm_test::naive_standardize(a), z2 = nm_test::naive_standardize(b);
  double m = 0;
  for (double v : a) m += v;
  m /= double(a.size());
  double ng2 = 0, num = 1, P = 0, Q = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ng2 += (a[i] - m) * (a[i] - m);
    num -= z1[i] * z2[i];
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double mut = cond.mut(a[i]), d2 = (z2[i] - z1[i]) * (z2[i] - z1[i]) / (cond.step() * cond.step());
    P += d2 * model.a * (1 + std::exp(mut));
    Q += d2 * model.b * (1 + std::exp(2 * mut));
  }
  P /= ng2, Q /= ng2;
  const double V = (num / target) * (num / target);
  const double closed = (P + std::sqrt(P * P - 4 * V * Q)) / (2 * V);
  const double solved = c_ref_for_percent_point(model, cond, std::span<const double>(a), std::span<const double>(b), target,
                                                {.form = percent_point_form::a_to_b});
  CHECK(solved == doctest::Approx(closed).epsilon(1e-8));
  // Symmetric form: at the solution the symmetric percent point is the target.
  const double sym_c = c_ref_for_percent_point(model, cond, std::span<const double>(a), std::span<const double>(b), target);
  CHECK(symmetric_percent_point_between(model, measurement_conditions{sym_c, 0.36, 1.56}, std::span<const double>(a), std::span<const double>(b)) ==
        doctest::Approx(target).epsilon(1e-8));
  // The sCMOS offset B makes low doses worse than sqrt scaling predicts.
  const double d0 = percent_point_between(model, cond, std::span<const double>(a), std::span<const double>(b));
  CHECK(solved != doctest::Approx(cond.c_ref * (target / d0) * (target / d0)).epsilon(1e-6));
  // Shot noise: exactly c_ref (d* / d)^2.
  const poisson_noise shot{9.3131};
  const double ds = percent_point_between(shot, cond, std::span<const double>(a), std::span<const double>(b));
  CHECK(c_ref_for_percent_point(shot, cond, std::span<const double>(a), std::span<const double>(b), target, {.form = percent_point_form::a_to_b}) ==
        doctest::Approx(cond.c_ref * (target / ds) * (target / ds)).epsilon(1e-8));
  CHECK(std::isinf(c_ref_for_percent_point(model, cond, std::span<const double>(a), std::span<const double>(a), target)));
}
