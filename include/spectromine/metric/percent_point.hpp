// spectromine/metric/percent_point.hpp: the noise-aware misclassification
// similarity of Ito 2024 (Eqs. 1, 4, 5; docs/METHODS.md section 3).
//
// A noisy copy S_g of spectrum S1 (per-band noise sigma_i on the normalized
// spectrum) is assigned to S2 rather than S1 by Pearson similarity when
// (z2 - z1) . S_g > 0. That statistic is Normal with
//   mean = -(1 - z1.z2) N_g,   variance = sum_i (z2_i - z1_i)^2 sigma_i^2
// where z are the standardized spectra and N_g = |S1 - mean(S1)| (so with the
// paper's scaling by 1/N_g: mean -(1 - z1.z2), var as in METHODS.md). The
// percent point
//   d12 = (1 - z1.z2) / sqrt(sum_i (z2_i - z1_i)^2 sigma_i^2 / N_g^2)
// gives the misclassification probability Phi(-d12); the symmetric
// similarity is (d12 + d21) / 2. For Gaussian noise on the normalized
// spectrum the probability is exact (the sign test ignores the
// standardization of S_g); with count noise it is first-order accurate
// (tests/noise_metric checks it against Monte Carlo on real Fe K pairs).
//
// Identical spectra give d = 0 (probability 1/2); distinct spectra with zero
// noise give +infinity.
//
// Many-to-many (site reduction, 6,000 x 6,000): with w = sigma^2 / N_g^2 per
// spectrum of the "from" set,
//   var_ij = sum_b w_ib z_ib^2 - 2 (z_i o w_i) . z_j + w_i . (z_j o z_j)
// (the vectorized form of METHODS.md section 4), i.e. two GEMMs per block
// ([z o w | w] x [-2 z | z o z]^T with K = 2B, and z x z^T) done by Eigen on
// fixed blocks; blocks run in parallel, each output element is computed by
// one block whose shape does not depend on the thread count, so results are
// bit-identical for any thread count. The symmetric matrix of one set
// computes only the upper block triangle (half the work).
// Precision: float halves time and memory but 1 - z1.z2 then carries ~1e-7
// absolute error: measured against double on 6,000 spectra at the paper's
// noise, relative error <= 0.5% for d in 2..3, <= 0.25% for d in 3..5, up to
// 5% for d < 1 (benchmarks/peers/percent_point_numpy.py). Use double where
// decisions sit at the threshold.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <boost/math/distributions/normal.hpp>

#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/propagation.hpp"

namespace spectromine {

// ------------------------------------------------------------ probabilities

// Phi(-d): the probability that a noisy copy of S1 lands in S2's Voronoi cell.
inline double misclassification_probability(double percent_point) noexcept {
  return 0.5 * std::erfc(percent_point / std::numbers::sqrt2);
}

// The percent point whose misclassification probability is p (0 < p < 1):
// 1e-2 -> 2.326, 1e-4 -> 3.719 (the paper's generation and reduction limits).
inline double percent_point_for_probability(double p) {
  require(p > 0 && p < 1, "percent_point_for_probability", "p", "must be in (0, 1)", p);
  return boost::math::quantile(boost::math::complement(boost::math::normal_distribution<double>(), p));
}

namespace percent_points {
inline constexpr double one_in_hundred = 2.3263478740408408;     // Phi^-1(0.99)
inline constexpr double one_in_ten_thousand = 3.7190164854556804;  // Phi^-1(0.9999)
}  // namespace percent_points

// ---------------------------------------------------------------- one pair

namespace detail {
// d from its numerator (1 - z1.z2) and variance, with the degenerate cases
// named: identical spectra -> 0, distinct noiseless spectra -> +inf.
template <class R>
inline R percent_point_from(R numerator, R variance, R variance_scale) {
  const R tiny = R(64) * std::numeric_limits<R>::epsilon();
  if (!(variance > tiny * variance_scale)) {
    if (numerator <= tiny) return R(0);
    return std::numeric_limits<R>::infinity();
  }
  return numerator / std::sqrt(variance);
}

// Mean and centered norm of a spectrum (two passes, double).
template <class T>
inline double centered_norm(std::span<const T> s, double& mean) {
  double m = 0;
  for (auto v : s) m += static_cast<double>(v);
  m /= static_cast<double>(std::max<std::size_t>(s.size(), 1));
  double ss = 0;
  for (auto v : s) ss += (static_cast<double>(v) - m) * (static_cast<double>(v) - m);
  mean = m;
  return std::sqrt(ss);
}

template <class T>
inline std::vector<double> standardized(std::span<const T> s, double& norm,
                                        std::string_view component, std::string_view which) {
  double mean = 0;
  norm = centered_norm(s, mean);
  require(std::isfinite(norm) && norm > 0, component, which,
          "must be a finite, non-constant spectrum (centered norm > 0)", norm);
  std::vector<double> z(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) z[i] = (static_cast<double>(s[i]) - mean) / norm;
  return z;
}
}  // namespace detail

// d12 for standardized z1, z2, the per-band noise sigma of S1 (on the
// normalized spectrum) and N_g = |S1 - mean(S1)|.
template <class T, class S>
double percent_point(std::span<const T> z1, std::span<const T> z2, std::span<const S> sigma,
                     double n_g) {
  require(z2.size() == z1.size(), "percent_point", "z2 length",
          "must equal z1 length " + std::to_string(z1.size()), z2.size());
  require(sigma.size() == z1.size(), "percent_point", "sigma length",
          "must equal the spectrum length " + std::to_string(z1.size()), sigma.size());
  require(std::isfinite(n_g) && n_g > 0, "percent_point", "n_g", "must be finite and > 0", n_g);
  double dot = 0, var = 0, scale = 0;
  for (std::size_t i = 0; i < z1.size(); ++i) {
    const double a = static_cast<double>(z1[i]), b = static_cast<double>(z2[i]);
    const double s2 = static_cast<double>(sigma[i]) * static_cast<double>(sigma[i]);
    dot += a * b;
    var += (b - a) * (b - a) * s2;
    scale += a * a * s2;  // the size var would have for unrelated spectra
  }
  const double g2 = n_g * n_g;
  return detail::percent_point_from(1.0 - dot, var / g2, scale / g2);
}

// (d12 + d21) / 2, Ito 2024 Eq. 5.
template <class T, class S>
double symmetric_percent_point(std::span<const T> z1, std::span<const T> z2,
                               std::span<const S> sigma1, std::span<const S> sigma2, double n_g1,
                               double n_g2) {
  return 0.5 * (percent_point(z1, z2, sigma1, n_g1) + percent_point(z2, z1, sigma2, n_g2));
}

// d12 for two normalized (not standardized) spectra and the noise of S1:
// standardizes both and takes N_g from S1.
template <class T, class S>
double percent_point_between(std::span<const T> s1, std::span<const T> s2,
                             std::span<const S> sigma1) {
  double n1 = 0, n2 = 0;
  const auto z1 = detail::standardized(s1, n1, "percent_point", "s1");
  const auto z2 = detail::standardized(s2, n2, "percent_point", "s2");
  return percent_point(std::span<const double>(z1), std::span<const double>(z2), sigma1, n1);
}

template <class T, class S>
double symmetric_percent_point_between(std::span<const T> s1, std::span<const T> s2,
                                       std::span<const S> sigma1, std::span<const S> sigma2) {
  return 0.5 * (percent_point_between(s1, s2, sigma1) + percent_point_between(s2, s1, sigma2));
}

// The same with the noise derived from a detector model at `conditions`.
template <noise_model N, class T>
double percent_point_between(const N& model, const measurement_conditions& conditions,
                             std::span<const T> s1, std::span<const T> s2) {
  std::vector<double> sigma(s1.size());
  normalized_sigma(model, conditions, s1, std::span<double>(sigma));
  return percent_point_between(s1, s2, std::span<const double>(sigma));
}

template <noise_model N, class T>
double symmetric_percent_point_between(const N& model, const measurement_conditions& conditions,
                                       std::span<const T> s1, std::span<const T> s2) {
  return 0.5 * (percent_point_between(model, conditions, s1, s2) +
                percent_point_between(model, conditions, s2, s1));
}

// ------------------------------------------------------------- many x many

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A set of spectra prepared for percent points: standardized spectra z and
// weights w = sigma^2 / N_g^2, one row per spectrum.
template <class T = double>
struct percent_point_set {
  static_assert(std::is_floating_point_v<T>, "percent_point_set<T>: T must be float or double");
  row_matrix<T> z;
  row_matrix<T> weight;
  index_t size() const noexcept { return z.rows(); }
  index_t bands() const noexcept { return z.cols(); }
};

// From normalized spectra (rows) and their per-band sigma (same shape, or one
// row shared by all spectra).
template <class T = double, class D1, class D2>
percent_point_set<T> make_percent_point_set(const Eigen::MatrixBase<D1>& normalized,
                                            const Eigen::MatrixBase<D2>& sigma) {
  constexpr std::string_view component = "percent_point_set";
  const index_t n = normalized.rows(), bands = normalized.cols();
  require(sigma.cols() == bands, component, "sigma columns",
          "must equal the band count " + std::to_string(bands), sigma.cols());
  require(sigma.rows() == n || sigma.rows() == 1, component, "sigma rows",
          "must be 1 or the spectrum count " + std::to_string(n), sigma.rows());
  percent_point_set<T> set;
  set.z.resize(n, bands);
  set.weight.resize(n, bands);
  std::vector<double> row(static_cast<std::size_t>(bands));
  for (index_t i = 0; i < n; ++i) {
    for (index_t b = 0; b < bands; ++b) row[static_cast<std::size_t>(b)] = static_cast<double>(normalized(i, b));
    double norm = 0;
    const auto z = detail::standardized(std::span<const double>(row), norm, component,
                                        "spectrum " + std::to_string(i));
    const index_t si = sigma.rows() == 1 ? 0 : i;
    for (index_t b = 0; b < bands; ++b) {
      const double s = static_cast<double>(sigma(si, b));
      require(std::isfinite(s) && s >= 0, component, "sigma", "must be finite and >= 0", s);
      set.z(i, b) = static_cast<T>(z[static_cast<std::size_t>(b)]);
      set.weight(i, b) = static_cast<T>(s * s / (norm * norm));
    }
  }
  return set;
}

// From normalized spectra and a detector noise model at `conditions` (the
// same conditions for every spectrum, as in site generation).
template <class T = double, noise_model N, class D1>
percent_point_set<T> make_percent_point_set(const Eigen::MatrixBase<D1>& normalized, const N& model,
                                            const measurement_conditions& conditions) {
  detail::validate_noise_model(model);
  conditions.validate("percent_point_set");
  row_matrix<double> sigma(normalized.rows(), normalized.cols());
  for (index_t i = 0; i < normalized.rows(); ++i)
    for (index_t b = 0; b < normalized.cols(); ++b)
      sigma(i, b) = normalized_sigma(model, conditions, static_cast<double>(normalized(i, b)));
  return make_percent_point_set<T>(normalized, sigma);
}

struct percent_point_options {
  int threads = 0;      // 0 = all cores
  index_t block = 256;  // rows/cols per GEMM block (changes rounding only; thread count changes nothing)
};

namespace detail {

// [z o w | w] and [-2 z | z o z] and rowsum(z o z o w) of a set.
template <class T>
struct percent_point_operands {
  row_matrix<T> left;   // n x 2B
  row_matrix<T> right;  // n x 2B
  Eigen::Matrix<T, Eigen::Dynamic, 1> self;  // n
  explicit percent_point_operands(const percent_point_set<T>& s) {
    const index_t n = s.size(), b = s.bands();
    left.resize(n, 2 * b);
    right.resize(n, 2 * b);
    left.leftCols(b) = s.z.cwiseProduct(s.weight);
    left.rightCols(b) = s.weight;
    right.leftCols(b) = T(-2) * s.z;
    right.rightCols(b) = s.z.cwiseAbs2();
    self = s.z.cwiseAbs2().cwiseProduct(s.weight).rowwise().sum();
  }
};

template <class T>
void check_sets(const percent_point_set<T>& a, const percent_point_set<T>& b,
                const percent_point_options& options) {
  require(a.bands() == b.bands(), "percent_point_matrix", "bands",
          "must be equal in both sets (" + std::to_string(a.bands()) + ")", b.bands());
  require(a.weight.rows() == a.size() && a.weight.cols() == a.bands() &&
              b.weight.rows() == b.size() && b.weight.cols() == b.bands(),
          "percent_point_matrix", "weight shape", "must equal the shape of z", a.weight.rows());
  require(options.block > 0, "percent_point_matrix", "block", "must be > 0", options.block);
}

// Block (I, J): out = d from a-rows I to b-rows J (direction a->b), or the
// symmetric (d_ab + d_ba^T) / 2.
template <class T>
struct percent_point_block_workspace {
  row_matrix<T> r, v, vt;
};

template <class T>
void percent_point_block(const percent_point_set<T>& a, const percent_point_operands<T>& oa,
                         const percent_point_set<T>& b, const percent_point_operands<T>& ob,
                         index_t i0, index_t ni, index_t j0, index_t nj, bool symmetric,
                         percent_point_block_workspace<T>& ws) {
  ws.r.resize(ni, nj);
  ws.v.resize(ni, nj);
  ws.r.noalias() = a.z.middleRows(i0, ni) * b.z.middleRows(j0, nj).transpose();
  ws.v.noalias() = oa.left.middleRows(i0, ni) * ob.right.middleRows(j0, nj).transpose();
  if (symmetric) {
    ws.vt.resize(ni, nj);
    ws.vt.noalias() = oa.right.middleRows(i0, ni) * ob.left.middleRows(j0, nj).transpose();
  }
  for (index_t i = 0; i < ni; ++i) {
    const T si = oa.self(i0 + i);
    for (index_t j = 0; j < nj; ++j) {
      const T num = T(1) - ws.r(i, j);
      T d = percent_point_from<T>(num, ws.v(i, j) + si, si);
      if (symmetric) {
        const T sj = ob.self(j0 + j);
        d = T(0.5) * (d + percent_point_from<T>(num, ws.vt(i, j) + sj, sj));
      }
      ws.r(i, j) = d;
    }
  }
}

}  // namespace detail

// D(i, j) = d from spectrum i of `from` (its noise) to spectrum j of `to`.
template <class T>
void percent_point_matrix(const percent_point_set<T>& from, const percent_point_set<T>& to,
                          Eigen::Ref<row_matrix<T>> out, const percent_point_options& options = {}) {
  detail::check_sets(from, to, options);
  require(out.rows() == from.size() && out.cols() == to.size(), "percent_point_matrix",
          "output shape", "must be from.size() x to.size()", out.rows());
  const detail::percent_point_operands<T> of(from), ot(to);
  const index_t bs = options.block;
  const index_t bi = (from.size() + bs - 1) / bs, bj = (to.size() + bs - 1) / bs;
  parallel_for(bi * bj, options.threads, 1, [&](index_t begin, index_t end, int) {
    detail::percent_point_block_workspace<T> ws;
    for (index_t k = begin; k < end; ++k) {
      const index_t i0 = (k / bj) * bs, j0 = (k % bj) * bs;
      const index_t ni = std::min(bs, from.size() - i0), nj = std::min(bs, to.size() - j0);
      detail::percent_point_block(from, of, to, ot, i0, ni, j0, nj, false, ws);
      out.block(i0, j0, ni, nj) = ws.r;
    }
  });
}

template <class T>
row_matrix<T> percent_point_matrix(const percent_point_set<T>& from, const percent_point_set<T>& to,
                                   const percent_point_options& options = {}) {
  row_matrix<T> out(from.size(), to.size());
  percent_point_matrix(from, to, Eigen::Ref<row_matrix<T>>(out), options);
  return out;
}

// S(i, j) = (d_ij + d_ji) / 2 between two sets (e.g. one new candidate
// against all current candidates: a 1-row set).
template <class T>
void symmetric_percent_point_matrix(const percent_point_set<T>& a, const percent_point_set<T>& b,
                                    Eigen::Ref<row_matrix<T>> out,
                                    const percent_point_options& options = {}) {
  detail::check_sets(a, b, options);
  require(out.rows() == a.size() && out.cols() == b.size(), "symmetric_percent_point_matrix",
          "output shape", "must be a.size() x b.size()", out.rows());
  const detail::percent_point_operands<T> oa(a), ob(b);
  const index_t bs = options.block;
  const index_t bi = (a.size() + bs - 1) / bs, bj = (b.size() + bs - 1) / bs;
  parallel_for(bi * bj, options.threads, 1, [&](index_t begin, index_t end, int) {
    detail::percent_point_block_workspace<T> ws;
    for (index_t k = begin; k < end; ++k) {
      const index_t i0 = (k / bj) * bs, j0 = (k % bj) * bs;
      const index_t ni = std::min(bs, a.size() - i0), nj = std::min(bs, b.size() - j0);
      detail::percent_point_block(a, oa, b, ob, i0, ni, j0, nj, true, ws);
      out.block(i0, j0, ni, nj) = ws.r;
    }
  });
}

template <class T>
row_matrix<T> symmetric_percent_point_matrix(const percent_point_set<T>& a,
                                             const percent_point_set<T>& b,
                                             const percent_point_options& options = {}) {
  row_matrix<T> out(a.size(), b.size());
  symmetric_percent_point_matrix(a, b, Eigen::Ref<row_matrix<T>>(out), options);
  return out;
}

// The symmetric matrix of one set (site reduction): only blocks I <= J are
// computed and mirrored; the diagonal is exactly 0.
template <class T>
void symmetric_percent_point_matrix(const percent_point_set<T>& s, Eigen::Ref<row_matrix<T>> out,
                                    const percent_point_options& options = {}) {
  detail::check_sets(s, s, options);
  require(out.rows() == s.size() && out.cols() == s.size(), "symmetric_percent_point_matrix",
          "output shape", "must be size() x size()", out.rows());
  const detail::percent_point_operands<T> os(s);
  const index_t bs = options.block;
  const index_t nb = (s.size() + bs - 1) / bs;
  std::vector<std::pair<index_t, index_t>> pairs;
  pairs.reserve(static_cast<std::size_t>(nb * (nb + 1) / 2));
  for (index_t i = 0; i < nb; ++i)
    for (index_t j = i; j < nb; ++j) pairs.emplace_back(i, j);
  // Every pair is one equal-sized unit of work, so static chunks balance.
  parallel_for(static_cast<index_t>(pairs.size()), options.threads, 1,
               [&](index_t begin, index_t end, int) {
                 detail::percent_point_block_workspace<T> ws;
                 for (index_t k = begin; k < end; ++k) {
                   const auto [bi, bj] = pairs[static_cast<std::size_t>(k)];
                   const index_t i0 = bi * bs, j0 = bj * bs;
                   const index_t ni = std::min(bs, s.size() - i0), nj = std::min(bs, s.size() - j0);
                   detail::percent_point_block(s, os, s, os, i0, ni, j0, nj, true, ws);
                   if (bi == bj)  // (i, j) and (j, i) were rounded separately: mirror
                     for (index_t i = 0; i < ni; ++i)
                       for (index_t j = 0; j < i; ++j) ws.r(i, j) = ws.r(j, i);
                   out.block(i0, j0, ni, nj) = ws.r;
                   if (bi != bj) out.block(j0, i0, nj, ni) = ws.r.transpose();
                 }
               });
  out.diagonal().setZero();
}

template <class T>
row_matrix<T> symmetric_percent_point_matrix(const percent_point_set<T>& s,
                                             const percent_point_options& options = {}) {
  row_matrix<T> out(s.size(), s.size());
  symmetric_percent_point_matrix(s, Eigen::Ref<row_matrix<T>>(out), options);
  return out;
}

}  // namespace spectromine
