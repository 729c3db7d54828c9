// spectromine/analysis/nnls.hpp: non-negative least squares, and per-pixel
// unmixing of a cube onto component spectra (Ito 2024: pixels of clusters that
// are linear combinations of two others are unmixed "by non-negative linear
// regression using their basis spectra" into component-ratio maps).
//
//   nnls(A, b)                  min ||A x - b||_2 subject to x >= 0 (one problem)
//   nnls_gram_solver(A)         the same for many right-hand sides sharing A:
//                               G = A^T A is formed once; each problem then
//                               needs only A^T b (k dot products) and an
//                               active-set solve on k x k systems (Lawson &
//                               Hanson 1974, in the normal-equation form of
//                               Bro & de Jong 1997, "fast NNLS").
//   unmix(cube, mask, A)        per pixel, coefficients and residual, in
//                               parallel; A^T x for blocks of pixels is one
//                               matrix product.
//
// Degenerate components (collinear spectra) are handled: a variable whose
// pivot vanishes in the active-set solve is left at 0. The active-set solve
// uses a small Cholesky on the caller's workspace (no allocation per pixel).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include <Eigen/Dense>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/error.hpp"

namespace spectromine::analysis {

struct nnls_options {
  int max_iterations = 0;   // outer iterations; 0 = 3 * components
  double tolerance = 1e-12; // relative: stop when max gradient <= tolerance * max|A^T b|
};

struct nnls_result {
  std::vector<double> x;
  double residual_norm = 0;  // ||A x - b||_2
  int iterations = 0;
  bool converged = true;
};

class nnls_gram_solver {
 public:
  // Columns of `components` (bands x k) are the spectra.
  explicit nnls_gram_solver(const Eigen::MatrixXd& components, nnls_options options = {})
      : a_(components), options_(options) {
    require(components.cols() >= 1, "nnls", "components", "must have at least one column",
            components.cols());
    require(components.rows() >= 1, "nnls", "components", "must have at least one band",
            components.rows());
    require(components.allFinite(), "nnls", "components", "must be finite", 0);
    require(options.tolerance > 0, "nnls", "tolerance", "must be > 0", options.tolerance);
    gram_ = components.transpose() * components;
    k_ = static_cast<int>(components.cols());
    max_iter_ = options.max_iterations > 0 ? options.max_iterations : 3 * k_ + 10;
  }

  int components() const noexcept { return k_; }
  index_t bands() const noexcept { return a_.rows(); }
  const Eigen::MatrixXd& gram() const noexcept { return gram_; }
  const Eigen::MatrixXd& basis() const noexcept { return a_; }

  // Per-thread scratch space, sized once.
  struct workspace {
    std::vector<double> s, w, chol, rhs;
    std::vector<int> passive, idx, idx_excluded;
    explicit workspace(int k)
        : s(static_cast<std::size_t>(k)),
          w(static_cast<std::size_t>(k)),
          chol(static_cast<std::size_t>(k * k)),
          rhs(static_cast<std::size_t>(k)),
          passive(static_cast<std::size_t>(k)),
          idx(static_cast<std::size_t>(k)),
          idx_excluded(static_cast<std::size_t>(k)) {}
  };

  // Solves for one right-hand side given atb = A^T b and btb = b.b; writes x
  // (k values) and returns ||A x - b||^2 (clamped at 0). `iterations` and
  // `converged` are optional outputs.
  double solve(const double* atb, double btb, double* x, workspace& ws, int* iterations = nullptr,
               bool* converged = nullptr) const {
    const int k = k_;
    auto at = [](auto& v, int i) -> auto& { return v[static_cast<std::size_t>(i)]; };
    std::fill(x, x + k, 0.0);
    std::fill(ws.passive.begin(), ws.passive.end(), 0);
    // excluded: variables found dependent on the passive set; retried once x moves.
    std::vector<int>& excluded = ws.idx_excluded;
    std::fill(excluded.begin(), excluded.end(), 0);
    double scale = 0;
    for (int i = 0; i < k; ++i) scale = std::max(scale, std::abs(atb[i]));
    const double tol = options_.tolerance * std::max(scale, std::numeric_limits<double>::min());
    int it = 0;
    bool ok = true;
    for (;;) {
      // Gradient w = A^T b - G x; the most violated inactive variable enters.
      int enter = -1;
      double best_w = tol;
      for (int j = 0; j < k; ++j) {
        if (at(ws.passive, j) || at(excluded, j)) continue;
        double g = atb[j];
        for (int i = 0; i < k; ++i) g -= gram_(j, i) * x[i];
        if (g > best_w) {
          best_w = g;
          enter = j;
        }
      }
      if (enter < 0) break;
      if (++it > max_iter_) {
        ok = false;
        break;
      }
      at(ws.passive, enter) = 1;
      bool moved = false;
      for (;;) {
        if (!solve_passive(atb, ws)) {  // dependent on the passive set: leave it out
          at(ws.passive, enter) = 0;
          at(excluded, enter) = 1;
          break;
        }
        double alpha = 2.0;
        int blocking = -1;
        for (int j = 0; j < k; ++j)
          if (at(ws.passive, j) && at(ws.s, j) <= 0) {
            const double d = x[j] - at(ws.s, j);
            const double a = d > 0 ? x[j] / d : 0.0;
            if (a < alpha) {
              alpha = a;
              blocking = j;
            }
          }
        if (alpha > 1.0) {  // s is feasible: take it
          for (int j = 0; j < k; ++j) x[j] = at(ws.passive, j) ? at(ws.s, j) : 0.0;
          moved = true;
          break;
        }
        // Step to the boundary: the blocking variable (and any other reaching
        // 0) leaves the passive set, so the inner loop ends in <= k steps.
        if (alpha > 0) moved = true;
        for (int j = 0; j < k; ++j)
          if (at(ws.passive, j)) x[j] += alpha * (at(ws.s, j) - x[j]);
        x[blocking] = 0;
        for (int j = 0; j < k; ++j)
          if (at(ws.passive, j) && x[j] <= 0) {
            x[j] = 0;
            at(ws.passive, j) = 0;
          }
        if (!at(ws.passive, enter) && !moved) {  // entered and left at once: no progress
          at(excluded, enter) = 1;
          break;
        }
      }
      if (moved) std::fill(excluded.begin(), excluded.end(), 0);
    }
    // ||Ax - b||^2 = b.b - 2 x.A^T b + x.G x
    double xatb = 0, xgx = 0;
    for (int i = 0; i < k; ++i) {
      xatb += x[i] * atb[i];
      double gi = 0;
      for (int j = 0; j < k; ++j) gi += gram_(i, j) * x[j];
      xgx += x[i] * gi;
    }
    if (iterations) *iterations = it;
    if (converged) *converged = ok;
    return std::max(0.0, btb - 2 * xatb + xgx);
  }

 private:
  // s_P = G_PP^{-1} (A^T b)_P by Cholesky; false when a pivot vanishes.
  bool solve_passive(const double* atb, workspace& ws) const {
    int m = 0;
    for (int j = 0; j < k_; ++j)
      if (ws.passive[static_cast<std::size_t>(j)]) ws.idx[static_cast<std::size_t>(m++)] = j;
    double* l = ws.chol.data();
    double max_diag = 0;
    for (int i = 0; i < m; ++i)
      max_diag = std::max(max_diag, gram_(ws.idx[static_cast<std::size_t>(i)],
                                          ws.idx[static_cast<std::size_t>(i)]));
    for (int i = 0; i < m; ++i)
      for (int j = 0; j <= i; ++j) {
        double v = gram_(ws.idx[static_cast<std::size_t>(i)], ws.idx[static_cast<std::size_t>(j)]);
        for (int t = 0; t < j; ++t) v -= l[i * m + t] * l[j * m + t];
        if (i == j) {
          if (v <= 1e-13 * max_diag) return false;
          l[i * m + i] = std::sqrt(v);
        } else {
          l[i * m + j] = v / l[j * m + j];
        }
      }
    for (int i = 0; i < m; ++i) {
      double v = atb[ws.idx[static_cast<std::size_t>(i)]];
      for (int t = 0; t < i; ++t) v -= l[i * m + t] * ws.rhs[static_cast<std::size_t>(t)];
      ws.rhs[static_cast<std::size_t>(i)] = v / l[i * m + i];
    }
    for (int i = m - 1; i >= 0; --i) {
      double v = ws.rhs[static_cast<std::size_t>(i)];
      for (int t = i + 1; t < m; ++t) v -= l[t * m + i] * ws.rhs[static_cast<std::size_t>(t)];
      ws.rhs[static_cast<std::size_t>(i)] = v / l[i * m + i];
    }
    std::fill(ws.s.begin(), ws.s.end(), 0.0);
    for (int i = 0; i < m; ++i)
      ws.s[static_cast<std::size_t>(ws.idx[static_cast<std::size_t>(i)])] =
          ws.rhs[static_cast<std::size_t>(i)];
    return true;
  }

  Eigen::MatrixXd a_, gram_;
  nnls_options options_;
  int k_ = 0;
  int max_iter_ = 0;
};

// One problem: min ||A x - b|| with x >= 0.
inline nnls_result nnls(const Eigen::MatrixXd& a, std::span<const double> b,
                        const nnls_options& options = {}) {
  require(static_cast<index_t>(b.size()) == a.rows(), "nnls", "b size",
          "must equal the number of rows of A " + std::to_string(a.rows()), b.size());
  nnls_gram_solver solver(a, options);
  Eigen::Map<const Eigen::VectorXd> bv(b.data(), static_cast<index_t>(b.size()));
  require(bv.allFinite(), "nnls", "b", "must be finite", 0);
  const Eigen::VectorXd atb = a.transpose() * bv;
  nnls_gram_solver::workspace ws(solver.components());
  nnls_result r;
  r.x.resize(static_cast<std::size_t>(solver.components()));
  const double rr = solver.solve(atb.data(), bv.squaredNorm(), r.x.data(), ws, &r.iterations,
                                 &r.converged);
  // Recompute the residual directly (more accurate than the normal-equation form).
  Eigen::Map<const Eigen::VectorXd> xv(r.x.data(), solver.components());
  r.residual_norm = (a * xv - bv).norm();
  (void)rr;
  return r;
}

struct unmix_options {
  bool sum_to_one = false;  // report ratios x / sum(x) instead of coefficients
  nnls_options nnls{};
  int threads = 0;
};

struct unmix_result {
  cube<float> coefficients;  // rows x cols x k; 0 outside the mask, NaN for non-finite pixels
  image<float> residual;     // rms residual per band, ||A x - s|| / sqrt(bands)
  index_t unconverged = 0;   // pixels whose active-set loop hit max_iterations
};

// Unmixes every sample pixel of `cube` onto the columns of `components`
// (bands x k). An empty mask means every pixel.
template <class T>
unmix_result unmix(cube_view<const T> spectra, mask_view mask, const Eigen::MatrixXd& components,
                   const unmix_options& options = {}) {
  require(components.rows() == spectra.bands(), "unmix", "component length",
          "must equal the cube's band count " + std::to_string(spectra.bands()), components.rows());
  const bool has_mask = mask.data() != nullptr || mask.pixel_count() != 0;
  if (has_mask)
    require(mask.shape() == spectra.shape(), "unmix", "mask shape", "must equal the cube's image shape",
            mask.rows());
  nnls_gram_solver solver(components, options.nnls);
  const int k = solver.components();
  const index_t n = spectra.pixel_count(), bands = spectra.bands();
  unmix_result out{cube<float>(spectra.shape(), k, 0.0f), image<float>(spectra.shape(), 0.0f), 0};
  const int workers = resolve_threads(options.threads);
  std::vector<index_t> unconverged(static_cast<std::size_t>(workers), 0);
  constexpr index_t block = 256;  // pixels per matrix product (fixed: thread-independent)
  const index_t blocks = (n + block - 1) / block;
  parallel_for(blocks, workers, 1, [&](index_t b0, index_t b1, int w) {
    nnls_gram_solver::workspace ws(k);
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x(block, bands);
    Eigen::MatrixXd atb;
    std::vector<char> valid(static_cast<std::size_t>(block));
    std::vector<double> coef(static_cast<std::size_t>(k)), atb_row(coef);
    for (index_t blk = b0; blk < b1; ++blk) {
      const index_t p0 = blk * block, m = std::min(block, n - p0);
      for (index_t i = 0; i < m; ++i) {
        const index_t p = p0 + i;
        const bool in = !has_mask || mask[p] != 0;
        const T* s = spectra.pixel_pointer(p);
        bool finite = true;
        for (index_t b = 0; b < bands; ++b) {
          const double v = in ? static_cast<double>(s[b]) : 0.0;
          finite &= std::isfinite(v);
          x(i, b) = finite ? v : 0.0;
        }
        valid[static_cast<std::size_t>(i)] = in ? (finite ? 1 : 2) : 0;
      }
      atb.noalias() = x.topRows(m) * components;  // m x k: row i is (A^T s_i)^T
      for (index_t i = 0; i < m; ++i) {
        const index_t p = p0 + i;
        float* c = out.coefficients.view().pixel_pointer(p);
        if (valid[static_cast<std::size_t>(i)] == 0) continue;
        if (valid[static_cast<std::size_t>(i)] == 2) {
          std::fill(c, c + k, std::numeric_limits<float>::quiet_NaN());
          out.residual[p] = std::numeric_limits<float>::quiet_NaN();
          continue;
        }
        for (int j = 0; j < k; ++j) atb_row[static_cast<std::size_t>(j)] = atb(i, j);
        bool conv = true;
        const double rr = solver.solve(atb_row.data(), x.row(i).squaredNorm(), coef.data(), ws,
                                       nullptr, &conv);
        if (!conv) ++unconverged[static_cast<std::size_t>(w)];
        double sum = 0;
        for (int j = 0; j < k; ++j) sum += coef[static_cast<std::size_t>(j)];
        for (int j = 0; j < k; ++j)
          c[j] = static_cast<float>(options.sum_to_one ? (sum > 0 ? coef[static_cast<std::size_t>(j)] / sum : 0.0)
                                                       : coef[static_cast<std::size_t>(j)]);
        out.residual[p] = static_cast<float>(std::sqrt(rr / static_cast<double>(bands)));
      }
    }
  });
  for (index_t u : unconverged) out.unconverged += u;
  return out;
}

template <spectral_cube C>
unmix_result unmix(const C& cube, mask_view mask, const Eigen::MatrixXd& components,
                   const unmix_options& options = {}) {
  return unmix(view_of(cube), mask, components, options);
}

}  // namespace spectromine::analysis
