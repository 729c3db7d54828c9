// Shared fixtures of the noise_metric suite: smooth synthetic XANES-like
// spectra on the paper's grid (7009.2..7321.2 eV, 178 points).
#pragma once

#include <cmath>
#include <vector>

#include "spectromine/core/random.hpp"

namespace nm_test {

inline std::vector<double> paper_grid(int n = 178) {
  std::vector<double> e(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) e[static_cast<std::size_t>(i)] = 7009.2 + 312.0 * i / (n - 1);
  return e;
}

// A normalized edge at e0 with a white line and EXAFS-like wiggles; `shape`
// varies position/amplitudes so that distinct spectra can be made.
inline std::vector<double> synthetic_spectrum(const std::vector<double>& e, double e0 = 7122,
                                              double white = 0.4, double wiggle = 0.08,
                                              double width = 3.0) {
  std::vector<double> s(e.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double x = e[i] - e0;
    const double edge = 0.5 * (1 + std::tanh(x / width));
    const double wl = white * std::exp(-0.5 * (x - 8) * (x - 8) / 36.0);
    const double osc = x > 15 ? wiggle * std::sin(x / 9.0) * std::exp(-(x - 15) / 150.0) : 0.0;
    s[i] = edge + wl + osc;
  }
  return s;
}

// Naive reference standardization, (a - mean) / ||a - mean||, summed in long
// double so that it is more exact than the code under test.
inline std::vector<double> naive_standardize(const std::vector<double>& a) {
  long double m = 0;
  for (double v : a) m += v;
  m /= static_cast<long double>(a.size());
  long double ss = 0;
  for (double v : a) ss += (v - m) * (v - m);
  std::vector<double> z(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) z[i] = static_cast<double>((a[i] - m) / std::sqrt(ss));
  return z;
}

}  // namespace nm_test
