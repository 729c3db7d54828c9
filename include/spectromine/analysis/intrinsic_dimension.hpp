// spectromine/analysis/intrinsic_dimension.hpp: the Fukunaga-Olsen
// intrinsic dimension (Fukunaga & Olsen, IEEE Trans. Comput. C-20, 176,
// 1971), which Ito 2024 use to show that Fe K XANES spectra live on a ~3-D
// manifold (so 3-component mixtures cover the feature space).
//
// In a region of the data, do PCA and count the eigenvalues that are
// significant relative to the largest: lambda_i > alpha * lambda_max
// (alpha = 0.05 as scikit-dimension's lPCA "FO" rule). Globally (neighbors =
// 0) that is one PCA of all samples; locally (neighbors = K) every sample's
// K nearest neighbours (Euclidean, brute force) form a region and the
// dimension is the mean of the local counts - the original algorithm, which
// also sees curved manifolds.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

// Number of eigenvalues > alpha * the largest (any order; negatives count as 0).
inline index_t fukunaga_olsen_count(std::span<const double> eigenvalues, double alpha = 0.05) {
  require(alpha > 0 && alpha < 1, "fukunaga_olsen", "alpha", "must be in (0, 1)", alpha);
  if (eigenvalues.empty()) return 0;
  const double top = *std::max_element(eigenvalues.begin(), eigenvalues.end());
  if (!(top > 0)) return 0;
  return static_cast<index_t>(std::count_if(eigenvalues.begin(), eigenvalues.end(),
                                            [&](double l) { return l > alpha * top; }));
}

struct fukunaga_olsen_options {
  double alpha = 0.05;
  index_t neighbors = 0;  // 0: one global PCA; K > 0: local PCA of each sample's K neighbours
  bool standardize = false;  // standardize each spectrum first (mean 0, norm 1), as Ito 2024
  int threads = 0;
};

struct intrinsic_dimension_result {
  double dimension = 0;                  // global count, or mean of local counts
  std::vector<index_t> local;            // per sample (local mode)
  Eigen::VectorXd eigenvalues;           // global covariance eigenvalues, decreasing
};

namespace detail {
inline Eigen::VectorXd covariance_eigenvalues(const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd c = x.rowwise() - x.colwise().mean();
  // The Gram matrix is smaller when there are fewer samples than bands;
  // both have the same non-zero eigenvalues.
  Eigen::MatrixXd g = c.rows() < c.cols() ? Eigen::MatrixXd(c * c.transpose())
                                          : Eigen::MatrixXd(c.transpose() * c);
  g /= static_cast<double>(std::max<index_t>(c.rows() - 1, 1));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(g, Eigen::EigenvaluesOnly);
  Eigen::VectorXd v = eig.eigenvalues().reverse();
  return v;
}
}  // namespace detail

// Samples: one spectrum per row.
template <class D>
intrinsic_dimension_result fukunaga_olsen_dimension(const Eigen::MatrixBase<D>& samples,
                                                    const fukunaga_olsen_options& options = {}) {
  constexpr std::string_view component = "fukunaga_olsen_dimension";
  const index_t n = samples.rows(), bands = samples.cols();
  require(n >= 3, component, "samples", "must be >= 3", n);
  require(bands >= 1, component, "bands", "must be >= 1", bands);
  require(options.neighbors == 0 || (options.neighbors >= 3 && options.neighbors <= n), component,
          "neighbors", "must be 0 (global) or in 3..samples", options.neighbors);
  Eigen::MatrixXd x = samples.template cast<double>();
  require(x.allFinite(), component, "samples", "must be finite", 0);
  if (options.standardize) {
    for (index_t i = 0; i < n; ++i) {
      x.row(i).array() -= x.row(i).mean();
      const double norm = x.row(i).norm();
      require(norm > 0, component, "sample " + std::to_string(i), "must not be constant", norm);
      x.row(i) /= norm;
    }
  }
  intrinsic_dimension_result r;
  r.eigenvalues = detail::covariance_eigenvalues(x);
  if (options.neighbors == 0) {
    r.dimension = static_cast<double>(fukunaga_olsen_count(
        std::span<const double>(r.eigenvalues.data(), static_cast<std::size_t>(r.eigenvalues.size())),
        options.alpha));
    return r;
  }
  r.local.assign(static_cast<std::size_t>(n), 0);
  const Eigen::VectorXd sq = x.rowwise().squaredNorm();
  parallel_for(n, options.threads, 8, [&](index_t begin, index_t end, int) {
    std::vector<index_t> order(static_cast<std::size_t>(n));
    Eigen::VectorXd dist(n);
    Eigen::MatrixXd region(options.neighbors, bands);
    for (index_t i = begin; i < end; ++i) {
      dist = sq.array() + sq(i) - 2.0 * (x * x.row(i).transpose()).array();
      std::iota(order.begin(), order.end(), index_t{0});
      std::partial_sort(order.begin(), order.begin() + options.neighbors, order.end(),
                        [&](index_t a, index_t b) {
                          return dist(a) < dist(b) || (dist(a) == dist(b) && a < b);
                        });
      for (index_t k = 0; k < options.neighbors; ++k)
        region.row(k) = x.row(order[static_cast<std::size_t>(k)]);
      const Eigen::VectorXd ev = detail::covariance_eigenvalues(region);
      r.local[static_cast<std::size_t>(i)] = fukunaga_olsen_count(
          std::span<const double>(ev.data(), static_cast<std::size_t>(ev.size())), options.alpha);
    }
  });
  double sum = 0;
  for (index_t v : r.local) sum += static_cast<double>(v);
  r.dimension = sum / static_cast<double>(n);
  return r;
}

}  // namespace spectromine
