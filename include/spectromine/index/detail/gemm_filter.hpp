// spectromine/index/detail/gemm_filter.hpp: the float32 GEMM distance filter
// shared by the brute-force index and the out-of-core DBSCAN (private).
//
// ||q - p||^2 is estimated in float32 as ||q||^2 + ||p||^2 - 2 q.p; a pair is
// decided by the canonical double distance only when that estimate is within
// eps^2 + margin. The margin is the textbook bound for a float dot product of
// length d in any summation order (FMA included): gamma_d sum |q_i p_i|,
// gamma_d = d u / (1 - d u), u = 2^-24, plus the three roundings of combining
// the norms, all bounded by gamma_{d+4} (||q|| + ||p||)^2 <= 4 gamma_{d+4}
// max ||x||^2; twice that is used. Both users must compute the same numbers,
// or the two routes could disagree on a pair in the shell around eps.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/index/concept.hpp"

namespace spectromine::index::detail {

// Squared norm of every row (accumulated in double, stored as float for the
// float estimate); returns the largest, in double.
inline double row_squared_norms(feature_view f, std::vector<float>& norms) {
  norms.resize(static_cast<std::size_t>(f.size));
  double max_norm2 = 0;
  for (index_t i = 0; i < f.size; ++i) {
    const float* r = f.row_pointer(i);
    double s = 0;
    for (index_t k = 0; k < f.dim; ++k) s += static_cast<double>(r[k]) * r[k];
    norms[static_cast<std::size_t>(i)] = static_cast<float>(s);
    max_norm2 = std::max(max_norm2, s);
  }
  return max_norm2;
}

// Rounding bound on the float32 estimate for rows of `dim` coordinates whose
// squared norms are at most max_norm2.
inline double gemm_distance_margin(index_t dim, double max_norm2) {
  const double u = std::ldexp(1.0, -24);
  const double du = static_cast<double>(dim + 4) * u;
  return 2.0 * (du / (1.0 - du)) * 4.0 * max_norm2 + 1e-30;
}

// The float threshold every pair within eps2 passes (conservative).
inline float gemm_filter_threshold(double eps2, double margin) {
  return static_cast<float>((eps2 + margin) * (1.0 + 1e-6));
}

}  // namespace spectromine::index::detail
