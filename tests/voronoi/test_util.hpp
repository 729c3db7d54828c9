// Shared helpers of the voronoi suite: synthetic sites and the naive
// nearest-site reference the kernels are checked against.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/core/random.hpp"
#include "spectromine/partition/sites.hpp"

namespace voronoi_test {

// Smooth XANES-like spectra: an edge (logistic) at a random position plus a
// few Gaussian white-line / pre-edge features; some sites are mixtures of
// others so that close competitors exist.
inline spectromine::partition::site_set synthetic_sites(int count, int bands, std::uint64_t seed,
                                                       bool mixtures = true) {
  auto eng = spectromine::make_engine(seed, 11);
  boost::random::uniform_real_distribution<double> u01(0.0, 1.0);
  spectromine::partition::site_set sites;
  for (int i = 0; i < bands; ++i) sites.energy.push_back(7000.0 + 2.0 * i);
  for (int s = 0; s < count; ++s) {
    std::vector<double> y(static_cast<std::size_t>(bands));
    if (mixtures && s >= 8 && u01(eng) < 0.5) {
      const auto& a = sites.spectra[static_cast<std::size_t>(u01(eng) * s)];
      const auto& b = sites.spectra[static_cast<std::size_t>(u01(eng) * s)];
      const double w = u01(eng);
      for (int i = 0; i < bands; ++i) y[i] = w * a[i] + (1 - w) * b[i];
    } else {
      const double e0 = 0.3 + 0.2 * u01(eng), width = 0.01 + 0.02 * u01(eng);
      const double p1 = 0.3 + u01(eng), c1 = e0 + 0.02 + 0.05 * u01(eng);
      const double p2 = 0.3 * u01(eng), c2 = e0 - 0.03 * u01(eng);
      for (int i = 0; i < bands; ++i) {
        const double t = static_cast<double>(i) / bands;
        y[i] = 1.0 / (1.0 + std::exp(-(t - e0) / width)) +
               p1 * std::exp(-std::pow((t - c1) / 0.02, 2)) +
               p2 * std::exp(-std::pow((t - c2) / 0.01, 2)) + 0.05 * std::sin(9 * t + s);
      }
    }
    sites.spectra.push_back(std::move(y));
    sites.names.push_back("site" + std::to_string(s));
  }
  return sites;
}

// The definition of nearest_site.hpp, written independently: two-pass
// double standardization, sequential double dot, ties to the lower id;
// -1 for a non-finite or constant spectrum.
template <class T>
bool standardize(std::span<const T> x, std::vector<double>& z) {
  z.assign(x.size(), 0.0);
  double sum = 0;
  for (auto v : x) sum += static_cast<double>(v);
  if (!std::isfinite(sum)) return false;
  const double mean = sum / static_cast<double>(x.size());
  double ss = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    z[i] = static_cast<double>(x[i]) - mean;
    ss += z[i] * z[i];
  }
  bool varies = false;
  for (std::size_t i = 1; i < x.size(); ++i) varies = varies || x[i] != x[0];
  if (!varies || !std::isfinite(ss) || !(ss > 0)) return false;
  const double n = std::sqrt(ss);
  for (auto& v : z) v /= n;
  return true;
}

struct naive_reference {
  std::vector<std::vector<double>> z;
  explicit naive_reference(const spectromine::partition::site_set& sites) {
    for (const auto& s : sites.spectra) {
      std::vector<double> zs;
      standardize(std::span<const double>(s), zs);
      z.push_back(zs);
    }
  }
  template <class T>
  int label(std::span<const T> x) const {
    std::vector<double> zx;
    if (!standardize(x, zx)) return 0;  // unlabeled
    int best = 0;
    double bs = -std::numeric_limits<double>::infinity();
    for (std::size_t s = 0; s < z.size(); ++s) {
      double acc = 0;
      for (std::size_t i = 0; i < zx.size(); ++i) acc += z[s][i] * zx[i];
      if (acc > bs) {
        bs = acc;
        best = static_cast<int>(s);
      }
    }
    return best + 1;
  }
};

}  // namespace voronoi_test
