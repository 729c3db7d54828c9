// spectromine/exafs/kgrid.hpp: photo-electron wavenumber k and the uniform k
// grid every EXAFS transform works on.
//
// k = sqrt(2 m_e (E - E0)) / hbar; in XAFS units (E in eV, k in 1/Angstrom)
// k^2 = etok * (E - E0). The constant is the one xraylarch 0.9.58 computes
// from scipy's CODATA 2018 values (larch.xafs.xafsutils.ETOK =
// 1 / (1e20 hbar^2 / (2 m_e e))); the often quoted 0.2624682843 is the older
// CODATA value (5e-7 relative difference). We keep larch's value so that the
// k grid, and hence every chi(k) point, matches the oracle in data/larch.
//
// Grids follow larch's conventions exactly: a uniform grid k_i = i * kstep
// starting at 0 (kstep 0.05 by default), int(1.01 + kmax / kstep) points, so
// that the FFT over nfft points (2048 by default) has R spacing
// pi / (kstep * nfft).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "spectromine/error.hpp"

namespace spectromine::exafs {

// k^2 [1/A^2] = etok * (E - E0) [eV] (larch: ETOK).
inline constexpr double etok = 0.2624684236075176;
// E - E0 [eV] = ktoe * k^2 (larch: KTOE).
inline constexpr double ktoe = 1.0 / etok;

// Signed wavenumber of an energy: negative below the edge, as larch's kraw
// (sign(E - E0) sqrt(etok |E - E0|)), so that points just below E0 keep their
// place on a monotonic k axis.
inline double energy_to_k(double energy, double e0) {
  const double de = energy - e0;
  return std::copysign(std::sqrt(etok * std::abs(de)), de);
}

// Energy (eV) of wavenumber k above the edge e0.
inline double k_to_energy(double k, double e0) { return e0 + ktoe * k * k; }

// Larch's uniform grid 0, kstep, 2 kstep, ... with int(1.01 + kmax / kstep)
// points (the 1.01 makes kmax itself a grid point when it is a multiple of
// kstep despite rounding).
inline std::vector<double> uniform_k_grid(double kmax, double kstep = 0.05) {
  require(std::isfinite(kstep) && kstep > 0, "exafs", "kstep", "must be > 0", kstep);
  require(std::isfinite(kmax) && kmax >= 0, "exafs", "kmax", "must be >= 0", kmax);
  const auto n = static_cast<std::size_t>(1.01 + kmax / kstep);
  std::vector<double> k(n);
  for (std::size_t i = 0; i < n; ++i) k[i] = kstep * static_cast<double>(i);
  return k;
}

namespace detail {

// larch.math.index_of: the last index whose value is <= `value` (0 when
// `value` is below every element). `x` is increasing.
inline std::size_t index_of(std::span<const double> x, double value) {
  const auto it = std::upper_bound(x.begin(), x.end(), value);
  return it == x.begin() ? 0 : static_cast<std::size_t>(it - x.begin()) - 1;
}

// larch.math.index_nearest: argmin |x - value|, the first one on ties.
inline std::size_t index_nearest(std::span<const double> x, double value) {
  std::size_t best = 0;
  double best_d = std::abs(x[0] - value);
  for (std::size_t i = 1; i < x.size(); ++i) {
    const double d = std::abs(x[i] - value);
    if (d < best_d) {
      best_d = d;
      best = i;
    }
  }
  return best;
}

}  // namespace detail

}  // namespace spectromine::exafs
