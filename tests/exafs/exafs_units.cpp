// exafs building blocks against naive references and known truths: k
// conversion, windows (larch values), B-splines (Cox-de Boor recursion,
// polynomial reproduction), the transforms (direct DFT), autobk on a
// synthetic spectrum with a known chi(k), and input validation.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "spectromine/core/random.hpp"
#include "spectromine/exafs/autobk.hpp"
#include "spectromine/exafs/bspline.hpp"
#include "spectromine/exafs/kgrid.hpp"
#include "spectromine/exafs/window.hpp"
#include "spectromine/exafs/xafsft.hpp"

namespace ex = spectromine::exafs;
using ex::complex;
constexpr double pi = std::numbers::pi;

namespace {

// The textbook recursive B-spline definition (with 0/0 = 0).
double naive_basis(const std::vector<double>& t, std::size_t i, int k, double x) {
  if (k == 0) return (t[i] <= x && x < t[i + 1]) ? 1.0 : 0.0;
  double v = 0;
  if (t[i + k] != t[i]) v += (x - t[i]) / (t[i + k] - t[i]) * naive_basis(t, i, k - 1, x);
  if (t[i + k + 1] != t[i + 1])
    v += (t[i + k + 1] - x) / (t[i + k + 1] - t[i + 1]) * naive_basis(t, i + 1, k - 1, x);
  return v;
}

std::vector<complex> naive_dft(const std::vector<complex>& x, int nfft, int sign) {
  std::vector<complex> out(static_cast<std::size_t>(nfft / 2));
  for (int m = 0; m < nfft / 2; ++m) {
    complex s{};
    for (std::size_t n = 0; n < x.size(); ++n)
      s += x[n] * std::polar(1.0, sign * 2 * pi * static_cast<double>(m) *
                                      static_cast<double>(n) / nfft);
    out[static_cast<std::size_t>(m)] = s;
  }
  return out;
}

std::vector<double> grid(double step, double xmax) {
  std::vector<double> x;
  for (int i = 0; step * i <= xmax + 1e-12; ++i) x.push_back(step * i);
  return x;
}

}  // namespace

TEST_CASE("k conversion: larch's constant is hbar^2 / (2 m_e e) from CODATA 2018") {
  const double hbar = 6.62607015e-34 / (2 * pi), m_e = 9.1093837015e-31, e = 1.602176634e-19;
  CHECK(ex::etok == doctest::Approx(1.0 / (1e20 * hbar * hbar / (2 * m_e * e))).epsilon(1e-12));
  for (double k : {0.5, 3.0, 14.2}) CHECK(ex::energy_to_k(ex::k_to_energy(k, 7112.0), 7112.0) ==
                                          doctest::Approx(k).epsilon(1e-12));
  CHECK(ex::energy_to_k(7100.0, 7112.0) < 0);  // below the edge: negative, as larch's kraw
  const auto k = ex::uniform_k_grid(6.5);
  REQUIRE(k.size() == 131);  // 0, 0.05, ..., 6.5 (the 1.01 keeps kmax)
  CHECK(k.back() == doctest::Approx(6.5));
  CHECK_THROWS_AS(ex::uniform_k_grid(5, -0.05), spectromine::invalid_argument);
}

TEST_CASE("windows match larch's ftwindow (values computed by larch 0.9.58)") {
  struct row {
    const char* name;
    double dx, sum, xsum, v41, v75, v203;
  };
  // x = 0.05 * arange(401), xmin = 2, xmax = 10
  const row rows[] = {
      {"hanning", 1, 160, 960, 0.578217232520116, 1, 0.273004750130226},
      {"fhanning", 0.2, 147.5, 883.195320966779, 0.0842651938487275, 1, 0},
      {"parzen", 1, 160, 960, 0.55, 1, 0.35},
      {"welch", 1, 166.65, 999.9, 0.7975, 1, 0.577499999999999},
      {"gaussian", 3, 147.043199758839, 906.212004821119, 0.420292006564951, 0.754839601989007,
       0.384117971719929},
      {"sine", 1, 114.58865012931, 687.531900775858, 0.190808995376545, 0.707106781186548,
       0.121869343405147},
      {"kaiser", 4, 135.643031192799, 813.858187156793, 0.380911547879766, 0.757049288984748,
       0.336124905605961},
      {"bessel", 4, 144.788110166527, 868.728660999163, 0.435688819811219, 0.778545695706025,
       0.394864923206998},
  };
  const auto x = grid(0.05, 20);
  REQUIRE(x.size() == 401);
  for (const auto& r : rows) {
    CAPTURE(r.name);
    const auto w = ex::ftwindow(x, {ex::parse_window(r.name), 2.0, 10.0, r.dx, std::nullopt});
    double sum = 0, xsum = 0;
    for (std::size_t i = 0; i < x.size(); ++i) sum += w[i], xsum += x[i] * w[i];
    CHECK(sum == doctest::Approx(r.sum).epsilon(1e-11));
    CHECK(xsum == doctest::Approx(r.xsum).epsilon(1e-11));
    CHECK(w[41] == doctest::Approx(r.v41).epsilon(1e-11));
    CHECK(w[75] == doctest::Approx(r.v75).epsilon(1e-11));
    CHECK(w[203] == doctest::Approx(r.v203).epsilon(1e-11));
  }
  CHECK(ex::parse_window("Kaiser-Bessel") == ex::window_kind::kaiser);
  CHECK(ex::parse_window(" HANNING") == ex::window_kind::hanning);
  CHECK_THROWS_WITH_AS(ex::parse_window("box"),
                       doctest::Contains("exafs: window must be one of"),
                       spectromine::invalid_argument);
}

TEST_CASE("B-splines: basis equals the recursive definition; interpolation is not-a-knot") {
  auto rng = spectromine::make_engine(7, 0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(23);
  double acc = -0.3;
  for (auto& v : x) v = (acc += 0.05 + u(rng));
  std::vector<double> y(x.size());
  for (auto& v : y) v = u(rng);
  const auto s = ex::interpolating_spline(x, y);
  REQUIRE(s.knots.size() == x.size() + 4);
  REQUIRE(s.coefs.size() == x.size());
  // interpolates
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(ex::evaluate(s, x[i]) == doctest::Approx(y[i]));
  // evaluation = sum of recursively defined basis functions (inside the range)
  for (int trial = 0; trial < 50; ++trial) {
    const double q = x.front() + (x.back() - x.front()) * u(rng) * 0.999;
    double naive = 0;
    for (std::size_t j = 0; j < s.coefs.size(); ++j) naive += s.coefs[j] * naive_basis(s.knots, j, 3, q);
    CHECK(ex::evaluate(s, q) == doctest::Approx(naive).epsilon(1e-12));
  }
  // cubic data are reproduced exactly, also when extrapolating (splev ext=0)
  auto cubic = [](double v) { return 0.3 - 1.2 * v + 0.4 * v * v - 0.05 * v * v * v; };
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = cubic(x[i]);
  const auto c = ex::interpolating_spline(x, y);
  for (double q : {x.front() - 0.7, x[3] + 0.01, 0.5 * (x[10] + x[11]), x.back() + 1.3})
    CHECK(ex::evaluate(c, q) == doctest::Approx(cubic(q)).epsilon(1e-9));
  // a not-a-knot spline has a continuous third derivative at x[1]: no knot there
  REQUIRE(c.knots[4] == x[2]);
  CHECK_THROWS_AS(ex::interpolating_spline(std::vector<double>{0, 1, 1, 2, 3},
                                           std::vector<double>{0, 1, 2, 3, 4}),
                  spectromine::invalid_argument);
}

TEST_CASE("xftf_fast / xftr_fast equal the direct DFT with larch's scale factors") {
  auto rng = spectromine::make_engine(11, 0);
  std::normal_distribution<double> g(0.0, 1.0);
  const int nfft = 256;
  std::vector<double> x(140);
  for (auto& v : x) v = g(rng);
  const auto fast = ex::xftf_fast(x, nfft, 0.05);
  const auto slow = naive_dft(std::vector<complex>(x.begin(), x.end()), nfft, -1);
  REQUIRE(fast.size() == static_cast<std::size_t>(nfft / 2));
  for (std::size_t m = 0; m < fast.size(); ++m)
    CHECK(std::abs(fast[m] - slow[m] * (0.05 / std::sqrt(pi))) <= 1e-12 * 40);
  std::vector<complex> r(100);
  for (auto& v : r) v = {g(rng), g(rng)};
  const auto back = ex::xftr_fast(r, nfft, 0.05);
  const auto slow_back = naive_dft(r, nfft, +1);
  for (std::size_t m = 0; m < back.size(); ++m)
    CHECK(std::abs(back[m] - slow_back[m] * (4 * std::sqrt(pi) / 0.05 / nfft)) <= 1e-10);
  CHECK_THROWS_AS(ex::xftf_fast(std::vector<double>(300), 256), spectromine::invalid_argument);
}

TEST_CASE("xftf then xftr returns the weighted, windowed chi(k) (larch's 1/2 convention)") {
  // one shell at ~2 A: negligible weight at R = 0 (killed by the R window) and beyond 30 A
  const auto k = grid(0.05, 15);
  std::vector<double> chi(k.size());
  for (std::size_t i = 0; i < k.size(); ++i)
    chi[i] = std::sin(2 * 2.0 * k[i]) * std::exp(-(k[i] - 7) * (k[i] - 7) / 4.5);
  ex::xftf_options fo;
  fo.kmin = 1;
  fo.kmax = 14;
  fo.kweight = 1;
  fo.window = ex::window_kind::hanning;
  fo.rmax_out = 31.4;
  const auto ft = ex::xftf(k, chi, fo);
  CHECK(ft.r[1] == doctest::Approx(pi / (0.05 * 2048)));
  // the peak of |chi(R)| sits at the shell distance (2 A, no phase shift)
  std::size_t ipk = 0;
  for (std::size_t i = 0; i < ft.mag.size(); ++i)
    if (ft.mag[i] > ft.mag[ipk]) ipk = i;
  CHECK(std::abs(ft.r[ipk] - 2.0) <= 0.031);
  ex::xftr_options ro;
  ro.rmin = 0.5;
  ro.rmax = 30;
  ro.dr = 0.1;
  ro.window = ex::window_kind::hanning;
  ro.qmax_out = 15;
  const auto bt = ex::xftr(ft.r, ft.chir, ro);
  REQUIRE(bt.q.size() == k.size());
  double err = 0, top = 0;
  for (std::size_t i = 0; i < k.size(); ++i) {
    const double expected = ft.chik_weighted[i] * ft.kwin[i];
    err = std::max(err, std::abs(bt.re[i] - expected));
    top = std::max(top, std::abs(expected));
  }
  CHECK(err <= 1e-3 * top);
}

TEST_CASE("autobk recovers a known chi(k) from a synthetic spectrum") {
  // mu(E) = smooth atomic background + edge_step * chi(k), one shell at 2.5 A
  const double e0 = 7112.0, step = 1.7;
  auto chi_true = [](double k) {
    return 0.8 * std::sin(2 * 2.5 * k + 0.3) * std::exp(-2 * 0.006 * k * k) / std::max(k, 0.5);
  };
  std::vector<double> energy, mu;
  for (double e = e0 - 150; e <= e0 + 900; e += (e < e0 + 30 ? 2.0 : 1.0 + (e - e0) / 200)) {
    energy.push_back(e);
    const double k = std::sqrt(ex::etok * std::max(0.0, e - e0));
    const double pre = 0.1 - 2e-5 * (e - e0);
    mu.push_back(e < e0 ? pre
                        : pre + step * (1.0 + 0.04 * k - 0.003 * k * k + 0.2 * std::exp(-k) +
                                        chi_true(k)));
  }
  ex::autobk_options o;
  o.e0 = e0;
  o.edge_step = step;
  o.rbkg = 1.0;
  o.kweight = 2;
  const auto r = ex::autobk(energy, mu, o);
  CHECK(r.converged);
  CHECK(r.e0 == e0);
  CHECK(r.nspl == 1 + static_cast<int>(2 * 1.0 * r.kmax / pi));
  double sab = 0, saa = 0, sbb = 0, err = 0, top = 0;
  for (std::size_t i = 0; i < r.k.size(); ++i) {
    const double k = r.k[i];
    if (k < 3 || k > r.kmax - 2) continue;
    const double a = k * k * r.chi[i], b = k * k * chi_true(k);
    sab += a * b, saa += a * a, sbb += b * b;
    err = std::max(err, std::abs(a - b));
    top = std::max(top, std::abs(b));
  }
  CHECK(sab / std::sqrt(saa * sbb) >= 0.995);
  CHECK(err <= 0.1 * top);
  // the background follows mu and chie = (mu - bkg) / step
  REQUIRE(r.bkg.size() == mu.size());
  for (std::size_t i = 0; i < mu.size(); ++i)
    CHECK(r.chie[i] == doctest::Approx((mu[i] - r.bkg[i]) / step).epsilon(1e-12));
}

TEST_CASE("autobk and xftf reject bad input with a clear message") {
  std::vector<double> energy, mu;
  for (int i = 0; i < 400; ++i) {
    energy.push_back(7000 + 2.0 * i);
    mu.push_back(energy.back() > 7112 ? 1.0 + 0.01 * std::sin(i * 0.3) : 0.0);
  }
  ex::autobk_options o;
  o.edge_step = 1.0;
  o.e0 = 6000;
  CHECK_THROWS_WITH_AS(ex::autobk(energy, mu, o), doctest::Contains("autobk: e0 must lie within"),
                       spectromine::invalid_argument);
  o.e0 = 7112;
  o.kmax = -1;
  CHECK_THROWS_WITH_AS(ex::autobk(energy, mu, o), doctest::Contains("autobk: kmax must be > kmin"),
                       spectromine::invalid_argument);
  o.kmax.reset();
  o.rbkg = 0;
  CHECK_THROWS_WITH_AS(ex::autobk(energy, mu, o), doctest::Contains("autobk: rbkg must be > 0"),
                       spectromine::invalid_argument);
  o.rbkg = 1;
  auto bad = mu;
  bad[200] = std::nan("");
  CHECK_THROWS_WITH_AS(ex::autobk(energy, bad, o), doctest::Contains("autobk: mu[200] must be finite"),
                       spectromine::invalid_argument);
  bad.pop_back();
  CHECK_THROWS_AS(ex::autobk(energy, bad, o), spectromine::invalid_argument);
  o.e0 = energy[398];  // nothing above the edge
  CHECK_THROWS_AS(ex::autobk(energy, mu, o), spectromine::invalid_argument);

  const auto k = grid(0.05, 10);
  std::vector<double> chi(k.size(), 0.1);
  ex::xftf_options fo;
  fo.kmin = 5;
  fo.kmax = 3;
  CHECK_THROWS_WITH_AS(ex::xftf(k, chi, fo), doctest::Contains("xftf: kmax must be > kmin"),
                       spectromine::invalid_argument);
  auto kr = k;
  std::swap(kr[3], kr[4]);
  CHECK_THROWS_AS(ex::xftf(kr, chi, {}), spectromine::invalid_argument);
}
