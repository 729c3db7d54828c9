// spectromine/analysis/pca.hpp: principal component analysis of large cubes.
//
// Fit: the covariance of the sample pixels is accumulated in one streaming
// pass. Pixels are cut into fixed blocks; each block is centered on its own
// mean and its scatter is a rank update (SYRK) - no cancellation from
// E[x x^T] - E[x] E[x]^T. Blocks are merged with Chan et al.'s pairwise
// update, within fixed groups and then group by group in index order: the
// grouping depends only on the pixel count, so the result is bit-identical
// for any thread count. Eigen's SelfAdjointEigenSolver then gives all B
// eigenpairs (B <= ~1000: milliseconds).
// Randomized variant (many bands, few components; Halko, Martinsson & Tropp
// 2011, subspace iteration): every pass streams X_c^T (X_c Q) in the same
// fixed blocks; memory O(B (k + oversampling)); 2 + power_iterations passes.
// Projection: scores = (x - mean) C^T by blocked GEMM straight on the cube's
// memory (float cubes project in float).
// Baseline of Duan 2016: PCA with 2 components (98% of the variance) for
// linear-combination fitting; Ito 2024 use the Fukunaga-Olsen dimension (~3
// for Fe K) to justify 3-component mixtures as Voronoi site candidates.
//
// Pixels: masked ones (mask 0) and any spectrum with a non-finite value are
// left out of the fit (counted in pca_model::skipped) and get NaN scores.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <boost/random/normal_distribution.hpp>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

enum class pca_solver {
  automatic,   // exact unless bands > 512 and components <= bands / 8
  exact,       // full covariance + SelfAdjointEigenSolver
  randomized,  // subspace iteration on the implicit covariance
};

struct pca_options {
  index_t components = 0;  // kept components; 0 = all (exact) / required > 0 for randomized
  pca_solver solver = pca_solver::automatic;
  index_t oversampling = 10;     // randomized: extra directions
  index_t power_iterations = 4;  // randomized: subspace iterations
  std::uint64_t seed = 0;        // randomized: test matrix
  index_t block = 2048;          // pixels per block (fixed: part of the reduction order)
  int threads = 0;               // 0 = all cores
};

struct pca_model {
  Eigen::VectorXd mean;                 // B
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> components;  // k x B, unit rows
  Eigen::VectorXd explained_variance;   // k, decreasing (sample variance, n - 1)
  Eigen::VectorXd explained_variance_ratio;  // k, of the total variance
  double total_variance = 0;            // trace of the covariance
  index_t samples = 0;                  // pixels used
  index_t skipped = 0;                  // masked out or non-finite
  index_t component_count() const noexcept { return components.rows(); }
  index_t bands() const noexcept { return mean.size(); }
};

namespace detail {

// Running (count, mean, centered scatter) with Chan's merge.
struct scatter_accumulator {
  index_t n = 0;
  Eigen::VectorXd mean;
  Eigen::MatrixXd scatter;  // lower triangle valid while accumulating
  explicit scatter_accumulator(index_t bands = 0)
      : mean(Eigen::VectorXd::Zero(bands)), scatter(Eigen::MatrixXd::Zero(bands, bands)) {}
  void merge(const scatter_accumulator& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    const double na = static_cast<double>(n), nb = static_cast<double>(o.n), nt = na + nb;
    const Eigen::VectorXd delta = o.mean - mean;
    scatter.triangularView<Eigen::Lower>() += o.scatter;
    scatter.selfadjointView<Eigen::Lower>().rankUpdate(delta, na * nb / nt);
    mean += delta * (nb / nt);
    n += o.n;
  }
};

// Copies the valid pixels of [begin, end) into rows of `buf` (double);
// returns how many.
template <class T>
index_t gather_block(cube_view<T> cube, mask_view mask, index_t begin, index_t end,
                     Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& buf) {
  const index_t bands = cube.bands();
  buf.resize(end - begin, bands);
  index_t rows = 0;
  for (index_t p = begin; p < end; ++p) {
    if (mask.pixel_count() > 0 && mask[p] == 0) continue;
    const auto* s = cube.pixel_pointer(p);
    bool finite = true;
    for (index_t b = 0; b < bands; ++b) {
      const double v = static_cast<double>(s[b]);
      finite &= std::isfinite(v);
      buf(rows, b) = v;
    }
    if (finite) ++rows;
  }
  return rows;
}

// Fixed partition of [0, n) into groups of whole blocks: at most ~64
// groups, sized by n only (never by the thread count).
inline index_t group_size(index_t n, index_t block) {
  const index_t blocks = (n + block - 1) / block;
  return std::max<index_t>(1, (blocks + 63) / 64) * block;
}

inline void check_pca_input(index_t bands, index_t pixels, image_shape shape, mask_view mask,
                            const pca_options& o) {
  require(bands >= 1, "pca", "bands", "must be >= 1", bands);
  require(pixels >= 0, "pca", "pixels", "must be >= 0", pixels);
  require(mask.pixel_count() == 0 || mask.shape() == shape, "pca", "mask shape",
          "must equal the cube's shape", mask.pixel_count());
  require(o.components >= 0 && o.components <= bands, "pca", "components",
          "must be in 0.." + std::to_string(bands), o.components);
  require(o.block > 0, "pca", "block", "must be > 0", o.block);
  require(o.oversampling >= 0, "pca", "oversampling", "must be >= 0", o.oversampling);
  require(o.power_iterations >= 0, "pca", "power_iterations", "must be >= 0", o.power_iterations);
}

// Sign convention (as scikit-learn's svd_flip on components): the largest
// |coefficient| of each component is positive, so fits are reproducible.
inline void fix_signs(Eigen::Ref<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> c) {
  for (index_t k = 0; k < c.rows(); ++k) {
    index_t arg = 0;
    c.row(k).cwiseAbs().maxCoeff(&arg);
    if (c(k, arg) < 0) c.row(k) *= -1;
  }
}

template <class T>
pca_model fit_pca_exact(cube_view<T> cube, mask_view mask, const pca_options& o) {
  const index_t n = cube.pixel_count(), bands = cube.bands();
  const index_t group = group_size(n, o.block);
  const index_t groups = (n + group - 1) / group;
  std::vector<scatter_accumulator> partial(static_cast<std::size_t>(groups), scatter_accumulator(0));
  parallel_for(groups, o.threads, 1, [&](index_t g0, index_t g1, int) {
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> buf;
    for (index_t g = g0; g < g1; ++g) {
      scatter_accumulator acc(bands);
      for (index_t b0 = g * group; b0 < std::min(n, (g + 1) * group); b0 += o.block) {
        const index_t rows = gather_block(cube, mask, b0, std::min(n, b0 + o.block), buf);
        if (rows == 0) continue;
        scatter_accumulator blk(bands);
        blk.n = rows;
        auto x = buf.topRows(rows);
        blk.mean = x.colwise().mean().transpose();
        x.rowwise() -= blk.mean.transpose();
        blk.scatter.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
        acc.merge(blk);
      }
      partial[static_cast<std::size_t>(g)] = std::move(acc);
    }
  });
  scatter_accumulator total(bands);
  for (const auto& p : partial) total.merge(p);
  require(total.n >= 2, "pca", "valid pixels", "must be >= 2 (unmasked, finite)", total.n);

  Eigen::MatrixXd cov = total.scatter.selfadjointView<Eigen::Lower>();
  cov /= static_cast<double>(total.n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  require(eig.info() == Eigen::Success, "pca", "covariance", "eigen-decomposition failed", bands);
  const index_t k = o.components == 0 ? bands : o.components;
  pca_model m;
  m.mean = total.mean;
  m.samples = total.n;
  m.skipped = n - total.n;
  m.total_variance = cov.trace();
  m.components.resize(k, bands);
  m.explained_variance.resize(k);
  for (index_t i = 0; i < k; ++i) {  // eigenvalues come increasing
    m.explained_variance(i) = std::max(0.0, eig.eigenvalues()(bands - 1 - i));
    m.components.row(i) = eig.eigenvectors().col(bands - 1 - i).transpose();
  }
  fix_signs(m.components);
  m.explained_variance_ratio =
      m.total_variance > 0 ? Eigen::VectorXd(m.explained_variance / m.total_variance)
                           : Eigen::VectorXd::Zero(k);
  return m;
}

template <class T>
pca_model fit_pca_randomized(cube_view<T> cube, mask_view mask, const pca_options& o) {
  const index_t n = cube.pixel_count(), bands = cube.bands();
  const index_t k = o.components;
  require(k > 0, "pca", "components", "must be > 0 for the randomized solver", k);
  const index_t l = std::min(bands, k + o.oversampling);
  const index_t group = group_size(n, o.block);
  const index_t groups = (n + group - 1) / group;
  using rmat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  // Pass over the data computing sum over valid pixels of x (x^T Q) and
  // sum x, count: X^T X Q and X^T 1 in fixed groups, merged in order.
  struct part {
    index_t n = 0;
    Eigen::VectorXd sum;
    Eigen::MatrixXd xtxq;
  };
  auto pass = [&](const Eigen::MatrixXd& q, part& out) {
    std::vector<part> partial(static_cast<std::size_t>(groups));
    parallel_for(groups, o.threads, 1, [&](index_t g0, index_t g1, int) {
      rmat buf;
      Eigen::MatrixXd y;
      for (index_t g = g0; g < g1; ++g) {
        part acc{0, Eigen::VectorXd::Zero(bands), Eigen::MatrixXd::Zero(bands, q.cols())};
        for (index_t b0 = g * group; b0 < std::min(n, (g + 1) * group); b0 += o.block) {
          const index_t rows = gather_block(cube, mask, b0, std::min(n, b0 + o.block), buf);
          if (rows == 0) continue;
          auto x = buf.topRows(rows);
          y.noalias() = x * q;
          acc.xtxq.noalias() += x.transpose() * y;
          acc.sum += x.colwise().sum().transpose();
          acc.n += rows;
        }
        partial[static_cast<std::size_t>(g)] = std::move(acc);
      }
    });
    out = part{0, Eigen::VectorXd::Zero(bands), Eigen::MatrixXd::Zero(bands, q.cols())};
    for (const auto& p : partial) {
      out.n += p.n;
      out.sum += p.sum;
      out.xtxq += p.xtxq;
    }
  };
  // Centered product: X_c^T X_c Q = X^T X Q - n mu (mu^T Q).
  auto centered = [&](const part& p, const Eigen::MatrixXd& q) {
    const Eigen::VectorXd mu = p.sum / static_cast<double>(p.n);
    return Eigen::MatrixXd(p.xtxq - static_cast<double>(p.n) * mu * (mu.transpose() * q));
  };
  auto engine = make_engine(o.seed, 0);
  boost::random::normal_distribution<double> normal;
  Eigen::MatrixXd q(bands, l);
  for (index_t j = 0; j < l; ++j)
    for (index_t i = 0; i < bands; ++i) q(i, j) = normal(engine);
  part p;
  for (index_t it = 0; it <= o.power_iterations; ++it) {
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(q);
    q = qr.householderQ() * Eigen::MatrixXd::Identity(bands, l);
    pass(q, p);
    require(p.n >= 2, "pca", "valid pixels", "must be >= 2 (unmasked, finite)", p.n);
    q = centered(p, q);
  }
  // Rayleigh-Ritz in the final basis: small l x l eigenproblem of Q^T C Q.
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(q);
  q = qr.householderQ() * Eigen::MatrixXd::Identity(bands, l);
  pass(q, p);
  const Eigen::MatrixXd cq = centered(p, q) / static_cast<double>(p.n - 1);
  Eigen::MatrixXd small = q.transpose() * cq;
  small = 0.5 * (small + small.transpose()).eval();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(small);
  pca_model m;
  m.mean = p.sum / static_cast<double>(p.n);
  m.samples = p.n;
  m.skipped = n - p.n;
  // Total variance needs the diagonal of the covariance: one cheap extra
  // reduction of squared deviations (exact, not from the sketch).
  {
    std::vector<Eigen::VectorXd> ss(static_cast<std::size_t>(groups), Eigen::VectorXd::Zero(bands));
    parallel_for(groups, o.threads, 1, [&](index_t g0, index_t g1, int) {
      rmat buf;
      for (index_t g = g0; g < g1; ++g)
        for (index_t b0 = g * group; b0 < std::min(n, (g + 1) * group); b0 += o.block) {
          const index_t rows = gather_block(cube, mask, b0, std::min(n, b0 + o.block), buf);
          auto x = buf.topRows(rows);
          ss[static_cast<std::size_t>(g)] +=
              (x.rowwise() - m.mean.transpose()).cwiseAbs2().colwise().sum().transpose();
        }
    });
    double total = 0;
    for (const auto& s : ss) total += s.sum();
    m.total_variance = total / static_cast<double>(p.n - 1);
  }
  m.components.resize(k, bands);
  m.explained_variance.resize(k);
  for (index_t i = 0; i < k; ++i) {
    m.explained_variance(i) = std::max(0.0, eig.eigenvalues()(l - 1 - i));
    m.components.row(i) = (q * eig.eigenvectors().col(l - 1 - i)).transpose().normalized();
  }
  fix_signs(m.components);
  m.explained_variance_ratio =
      m.total_variance > 0 ? Eigen::VectorXd(m.explained_variance / m.total_variance)
                           : Eigen::VectorXd::Zero(k);
  return m;
}

}  // namespace detail

// PCA of the sample pixels of a cube (mask: empty view = every pixel).
template <class T>
pca_model fit_pca(cube_view<T> cube, mask_view mask = {}, const pca_options& options = {}) {
  detail::check_pca_input(cube.bands(), cube.pixel_count(), cube.shape(), mask, options);
  const bool randomized =
      options.solver == pca_solver::randomized ||
      (options.solver == pca_solver::automatic && cube.bands() > 512 && options.components > 0 &&
       options.components <= cube.bands() / 8);
  return randomized ? detail::fit_pca_randomized(cube, mask, options)
                    : detail::fit_pca_exact(cube, mask, options);
}

// Any spectral cube (Eigen, xtensor, spectromine::cube ...).
namespace detail {
template <class C>
struct is_any_cube_view : std::false_type {};
template <class T>
struct is_any_cube_view<cube_view<T>> : std::true_type {};
}  // namespace detail

template <spectral_cube C>
  requires(!detail::is_any_cube_view<C>::value)
pca_model fit_pca(const C& cube, mask_view mask = {}, const pca_options& options = {}) {
  return fit_pca(view_of(cube), mask, options);
}

// A row-major matrix of spectra (one per row) as a 1 x n cube.
template <class T>
pca_model fit_pca(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& spectra,
                  const pca_options& options = {}) {
  return fit_pca(cube_view<const T>(spectra.data(), image_shape{1, spectra.rows()}, spectra.cols()),
                 mask_view{}, options);
}

struct projection_options {
  index_t components = 0;  // first k components; 0 = all in the model
  index_t block = 4096;    // pixels per GEMM
  int threads = 0;
};

// scores(p, j) = (x_p - mean) . component_j for every pixel; masked or
// non-finite pixels get NaN. scores is an H x W x k cube. Computation type:
// U (float scores of a float cube stay in float: memory-bound anyway).
template <class T, class U>
void project(const pca_model& model, cube_view<T> cube, cube_view<U> scores,
             mask_view mask = {}, const projection_options& options = {}) {
  using V = std::remove_const_t<T>;
  using W = std::conditional_t<std::is_same_v<V, float> && std::is_same_v<U, float>, float, double>;
  const index_t k = options.components == 0 ? model.component_count() : options.components;
  require(k > 0 && k <= model.component_count(), "project", "components",
          "must be in 1.." + std::to_string(model.component_count()), k);
  require(cube.bands() == model.bands(), "project", "bands",
          "must equal the model's band count " + std::to_string(model.bands()), cube.bands());
  require(scores.shape() == cube.shape(), "project", "scores shape", "must equal the cube's shape",
          scores.pixel_count());
  require(scores.bands() == k, "project", "scores bands", "must equal the component count " + std::to_string(k),
          scores.bands());
  require(mask.pixel_count() == 0 || mask.shape() == cube.shape(), "project", "mask shape",
          "must equal the cube's shape", mask.pixel_count());
  require(options.block > 0, "project", "block", "must be > 0", options.block);
  using wmat = Eigen::Matrix<W, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const index_t bands = cube.bands();
  const wmat ct = model.components.topRows(k).transpose().template cast<W>();  // B x k
  const Eigen::Matrix<W, 1, Eigen::Dynamic> offset =
      (model.mean.transpose() * model.components.topRows(k).transpose()).template cast<W>();
  const index_t n = cube.pixel_count();
  // Runs of pixels that are evenly strided in memory (a whole contiguous
  // cube, or one image row of a strided view) map straight into the GEMM.
  const bool flat_in = cube.is_contiguous(), flat_out = scores.is_contiguous();
  const index_t nblocks = (n + options.block - 1) / options.block;
  parallel_for(nblocks, options.threads, 1, [&](index_t b0, index_t b1, int) {
    wmat xin, out;
    for (index_t blk = b0; blk < b1; ++blk) {
      const index_t p0 = blk * options.block, p1 = std::min(n, p0 + options.block);
      const index_t rows = p1 - p0;
      bool done = false;
      if constexpr (std::is_same_v<V, W> && std::is_same_v<U, W>) {
        if (flat_in && flat_out) {
          Eigen::Map<const wmat> x(cube.pixel_pointer(p0), rows, bands);
          Eigen::Map<wmat> s(scores.pixel_pointer(p0), rows, k);
          s.noalias() = x * ct;
          s.rowwise() -= offset;
          done = true;
        }
      }
      if (!done) {
        xin.resize(rows, bands);
        for (index_t p = p0; p < p1; ++p) {
          const auto* src = cube.pixel_pointer(p);
          for (index_t b = 0; b < bands; ++b) xin(p - p0, b) = static_cast<W>(src[b]);
        }
        out.noalias() = xin * ct;
        out.rowwise() -= offset;
        for (index_t p = p0; p < p1; ++p) {
          auto* dst = scores.pixel_pointer(p);
          for (index_t j = 0; j < k; ++j) dst[j] = static_cast<U>(out(p - p0, j));
        }
      }
      // Masked and non-finite pixels: NaN scores (a NaN band already gives NaN).
      if (mask.pixel_count() > 0)
        for (index_t p = p0; p < p1; ++p)
          if (mask[p] == 0) {
            auto* dst = scores.pixel_pointer(p);
            for (index_t j = 0; j < k; ++j) dst[j] = std::numeric_limits<U>::quiet_NaN();
          }
    }
  });
}

}  // namespace spectromine
