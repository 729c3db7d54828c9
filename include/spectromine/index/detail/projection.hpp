// spectromine/index/detail/projection.hpp: the orthogonal PCA projection the
// tree indexes use as a distance FILTER (private; analysis/pca.hpp is the
// public PCA for users).
//
// Why a filter is exact: for an orthonormal basis P (d x K) and any points a,
// b, ||P^T (a - b)|| <= ||a - b||. So every true neighbor (full distance <=
// eps) has projected distance <= eps and survives a projected range search;
// the survivors are then decided in full space by the canonical distance.
// The projection only decides how many candidates are verified, never the
// answer. Rounding: P is orthonormalized in double (Householder QR of the
// eigenvectors), coordinates are computed in double and stored in float32
// (relative error <= 2^-24 per coordinate), so the projected distance of two
// points exceeds the true one by at most 2^-23 (||y_a|| + ||y_b||) plus float
// arithmetic over K terms; filter_radius() adds a slack far above that bound.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/index/concept.hpp"

namespace spectromine::index::detail {

struct projection {
  Eigen::VectorXd mean;          // d
  Eigen::MatrixXd basis;         // d x K, orthonormal columns (identity when K == d)
  std::vector<double> explained; // variance along each column, decreasing
  bool identity = false;
};

// Fits the top-K principal axes on a deterministic subsample (every
// (n / sample)-th point): the quality of a filter needs no more, and the
// result depends only on the data.
inline projection fit_projection(feature_view f, index_t components, index_t sample) {
  projection p;
  const index_t d = f.dim;
  if (components >= d || f.size == 0) {
    p.identity = true;
    p.mean = Eigen::VectorXd::Zero(d);
    p.basis = Eigen::MatrixXd::Identity(d, d);
    return p;
  }
  const index_t m = std::min(f.size, std::max<index_t>(sample, components + 1));
  Eigen::MatrixXd x(m, d);
  for (index_t s = 0; s < m; ++s) {
    const index_t i = static_cast<index_t>((static_cast<double>(s) + 0.5) * static_cast<double>(f.size) /
                                           static_cast<double>(m));
    const float* r = f.row_pointer(std::min(i, f.size - 1));
    for (index_t k = 0; k < d; ++k) x(s, k) = r[k];
  }
  p.mean = x.colwise().mean().transpose();
  x.rowwise() -= p.mean.transpose();
  Eigen::MatrixXd cov = (x.transpose() * x) / static_cast<double>(std::max<index_t>(m - 1, 1));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  // Eigenvalues come in increasing order: take the last K, largest first.
  Eigen::MatrixXd top(d, components);
  p.explained.resize(static_cast<std::size_t>(components));
  for (index_t k = 0; k < components; ++k) {
    top.col(k) = eig.eigenvectors().col(d - 1 - k);
    p.explained[static_cast<std::size_t>(k)] = std::max(0.0, eig.eigenvalues()(d - 1 - k));
  }
  // Re-orthonormalize in double so ||P^T v|| <= ||v|| holds to ~1e-15.
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(top);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(d, components);
  for (index_t k = 0; k < components; ++k)  // keep the eigenvector signs
    if (q.col(k).dot(top.col(k)) < 0) q.col(k) = -q.col(k);
  p.basis = std::move(q);
  return p;
}

// y = P^T (x - mean) for every point, in double, stored as float32 rows of
// stride K (no padding: K is small and rows are read whole).
inline std::vector<float> project_points(feature_view f, const projection& p, int threads) {
  const index_t k_dim = p.basis.cols();
  std::vector<float> y(static_cast<std::size_t>(f.size * k_dim));
  if (p.identity) {
    for (index_t i = 0; i < f.size; ++i)
      std::copy(f.row_pointer(i), f.row_pointer(i) + f.dim, y.data() + i * k_dim);
    return y;
  }
  constexpr index_t block = 512;
  const index_t blocks = (f.size + block - 1) / block;
  parallel_for(blocks, threads, 1, [&](index_t b0, index_t b1, int) {
    Eigen::MatrixXd x;
    Eigen::MatrixXd out;
    for (index_t b = b0; b < b1; ++b) {
      const index_t first = b * block;
      const index_t rows = std::min(block, f.size - first);
      x.resize(rows, f.dim);
      for (index_t r = 0; r < rows; ++r) {
        const float* src = f.row_pointer(first + r);
        for (index_t k = 0; k < f.dim; ++k) x(r, k) = static_cast<double>(src[k]) - p.mean(k);
      }
      out.noalias() = x * p.basis;
      for (index_t r = 0; r < rows; ++r)
        for (index_t k = 0; k < k_dim; ++k)
          y[static_cast<std::size_t>((first + r) * k_dim + k)] = static_cast<float>(out(r, k));
    }
  });
  return y;
}

// The radius of the projected search for a full-space radius eps, given the
// largest projected norm: eps grown by a relative 1e-5 and an absolute
// 1e-5 * max_norm (>= 100x the rounding bound above for K <= 64).
inline double filter_radius(double eps, double max_projected_norm) {
  return eps * (1.0 + 1e-5) + 1e-5 * max_projected_norm + 1e-30;
}

}  // namespace spectromine::index::detail
