// Energy-shift estimation and correction on real Fe K-edge spectra
// (data/references) shifted by known amounts.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "spectromine/align/energy_shift.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/io/text.hpp"

using namespace spectromine;
using namespace spectromine::align;

namespace {

io::reference_spectrum load(const std::string& name) {
  return io::read_reference_spectrum(std::string(SPECTROMINE_TEST_DATA_DIR) + "/references/Fe_K/" + name);
}

double finest_step(const std::vector<double>& e) {
  double s = 1e300;
  for (std::size_t i = 1; i < e.size(); ++i) s = std::min(s, e[i] - e[i - 1]);
  return s;
}

// Naive linear interpolation (binary search per point), clamped at the ends.
double naive_interp(const std::vector<double>& x, const std::vector<double>& y, double t) {
  if (t <= x.front()) return y.front();
  if (t >= x.back()) return y.back();
  std::size_t j = 0;
  while (x[j + 1] < t) ++j;
  const double w = (t - x[j]) / (x[j + 1] - x[j]);
  return (1 - w) * y[j] + w * y[j + 1];
}

}  // namespace

TEST_CASE("energy shift: known offsets recovered to 0.1 of the finest grid step") {
  for (const std::string name : {"fe_foil_003.dat", "feo_rt1_xmu.dat", "fe2o3_rt1_xmu.dat"}) {
    const auto ref = load(name);
    const double step = finest_step(ref.energy);
    for (double s : {0.37, -1.13, 2.71, 0.0}) {
      // The measurement's features lie s eV above the reference's.
      const auto measured = shift_spectrum(ref.energy, ref.mu, -s, ref.energy);
      const auto r = estimate_energy_shift(ref.energy, ref.mu, ref.energy, measured);
      CAPTURE(name);
      CAPTURE(s);
      CHECK(std::abs(r.shift - s) <= 0.1 * step);
      CHECK(r.correlation > 0.9);
      CHECK(r.grid_step == doctest::Approx(step / 4));
    }
  }
}

TEST_CASE("energy shift: measurement on another grid, window, and round trip") {
  const auto ref = load("fe_foil_003.dat");
  // A coarser measurement grid: every second reference energy.
  std::vector<double> grid;
  for (std::size_t i = 0; i < ref.energy.size(); i += 2) grid.push_back(ref.energy[i]);
  const double s = -0.83;
  const auto measured = shift_spectrum(ref.energy, ref.mu, -s, grid);
  energy_shift_options window;
  window.e_min = 7080;
  window.e_max = 7200;
  const auto r = estimate_energy_shift(ref.energy, ref.mu, grid, measured, window);
  CHECK(std::abs(r.shift - s) <= 0.1 * finest_step(ref.energy) * 2);
  // Correcting by the estimate leaves (almost) nothing to estimate.
  const auto corrected = shift_spectrum(grid, measured, r.shift, ref.energy);
  const auto again = estimate_energy_shift(ref.energy, ref.mu, ref.energy, corrected, window);
  CHECK(std::abs(again.shift) <= 0.1 * finest_step(ref.energy) * 2);
}

TEST_CASE("shift_cube_energy equals a naive per-pixel interpolation") {
  const std::vector<double> energy{7100, 7105, 7110, 7110.5, 7111, 7112, 7120, 7150};
  const std::vector<double> target{7095, 7101, 7108.2, 7110.7, 7111.5, 7119, 7149.9, 7160};
  cube<double> in({3, 4}, static_cast<index_t>(energy.size()));
  for (index_t p = 0; p < in.pixel_count(); ++p)
    for (std::size_t b = 0; b < energy.size(); ++b)
      in.spectrum(p)[b] = std::sin(0.3 * static_cast<double>(p) + 0.01 * energy[b]) + static_cast<double>(b);
  const double shift = 0.4;
  cube<float> out({3, 4}, static_cast<index_t>(target.size()));
  shift_cube_energy(in, energy, shift, target, out.view());
  for (index_t p = 0; p < in.pixel_count(); ++p) {
    const std::vector<double> y(in.spectrum(p).begin(), in.spectrum(p).end());
    for (std::size_t t = 0; t < target.size(); ++t)
      CHECK(out.spectrum(p)[t] == doctest::Approx(naive_interp(energy, y, target[t] + shift)).epsilon(1e-6));
  }
  energy_resample_options nan;
  nan.extrapolate = energy_extrapolation::nan;
  shift_cube_energy(in, energy, shift, target, out.view(), nan);
  CHECK(std::isnan(out(0, 0, 0)));
  CHECK(std::isnan(out(2, 3, static_cast<index_t>(target.size()) - 1)));
  CHECK_FALSE(std::isnan(out(1, 1, 3)));
  // The spectrum version agrees.
  const std::vector<double> y0(in.spectrum(5).begin(), in.spectrum(5).end());
  const auto one = shift_spectrum(energy, y0, shift, target);
  for (std::size_t t = 0; t < target.size(); ++t) CHECK(one[t] == doctest::Approx(naive_interp(energy, y0, target[t] + shift)));
}

TEST_CASE("energy shift: bad input gives clear errors") {
  const auto ref = load("feo_rt1_xmu.dat");
  const auto far = shift_spectrum(ref.energy, ref.mu, -8.0, ref.energy);
  energy_shift_options small;
  small.max_shift = 3;
  CHECK_THROWS_WITH_AS(estimate_energy_shift(ref.energy, ref.mu, ref.energy, far, small),
                       doctest::Contains("max_shift must exceed the offset"), invalid_argument);
  auto bad = ref.mu;
  bad[10] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(estimate_energy_shift(ref.energy, ref.mu, ref.energy, bad),
                       doctest::Contains("measurement mu[10] must be finite"), invalid_argument);
  std::vector<double> other(ref.energy);
  for (auto& e : other) e += 5000;
  CHECK_THROWS_WITH_AS(estimate_energy_shift(ref.energy, ref.mu, other, ref.mu),
                       doctest::Contains("must overlap"), invalid_argument);
  std::vector<double> short_mu(ref.mu.begin(), ref.mu.end() - 1);
  CHECK_THROWS_WITH_AS(estimate_energy_shift(ref.energy, ref.mu, ref.energy, short_mu),
                       doctest::Contains("measurement mu size must equal"), invalid_argument);
}
