// PCA against a naive two-pass covariance, thread-count independence, the
// randomized solver against the exact one, projection against a naive loop,
// and the Fukunaga-Olsen dimension (known synthetic dimension; Fe K ~3).
#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <cmath>
#include <vector>

#include "fe_references.hpp"
#include "spectromine/analysis/intrinsic_dimension.hpp"
#include "spectromine/analysis/pca.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"

using namespace spectromine;
using rmat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {
// Pixels = mixtures of `rank` smooth basis spectra + white noise, offset far
// from 0 (as normalized spectra are), so a one-pass E[xx^T] - mu mu^T would lose digits.
cube<float> mixture_cube(image_shape shape, index_t bands, int rank, double noise, std::uint64_t seed) {
  auto eng = make_engine(seed);
  boost::random::normal_distribution<double> normal;
  boost::random::uniform_real_distribution<double> uni(0, 1);
  std::vector<std::vector<double>> basis(static_cast<std::size_t>(rank), std::vector<double>(static_cast<std::size_t>(bands)));
  for (int r = 0; r < rank; ++r)
    for (index_t b = 0; b < bands; ++b)
      basis[static_cast<std::size_t>(r)][static_cast<std::size_t>(b)] =
          std::sin(0.05 * double(b) * (r + 1) + r) * (1.0 + 0.3 * r);
  cube<float> c(shape, bands);
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    std::vector<double> w(static_cast<std::size_t>(rank));
    for (auto& v : w) v = (uni(eng) - 0.5) * 2;
    for (index_t b = 0; b < bands; ++b) {
      double v = 10.0;
      for (int r = 0; r < rank; ++r) v += w[static_cast<std::size_t>(r)] * basis[static_cast<std::size_t>(r)][static_cast<std::size_t>(b)] / (r + 1);
      c.spectrum(p)[static_cast<std::size_t>(b)] = static_cast<float>(v + noise * normal(eng));
    }
  }
  return c;
}
Eigen::MatrixXd naive_covariance(const cube<float>& c, const std::vector<index_t>& pixels) {
  const index_t bands = c.bands();
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(bands);
  for (index_t p : pixels)
    for (index_t b = 0; b < bands; ++b) mean(b) += c.spectrum(p)[static_cast<std::size_t>(b)];
  mean /= double(pixels.size());
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(bands, bands);
  for (index_t p : pixels)
    for (index_t i = 0; i < bands; ++i)
      for (index_t j = 0; j < bands; ++j)
        cov(i, j) += (c.spectrum(p)[static_cast<std::size_t>(i)] - mean(i)) * (c.spectrum(p)[static_cast<std::size_t>(j)] - mean(j));
  return cov / double(pixels.size() - 1);
}
}  // namespace

TEST_CASE("exact PCA equals a naive covariance eigen-decomposition, masks and NaN skipped") {
  auto c = mixture_cube(image_shape{37, 29}, 40, 4, 0.01, 1);
  pixel_mask mask(c.shape(), 1);
  for (index_t p = 0; p < c.pixel_count(); p += 7) mask[p] = 0;
  c.spectrum(3)[5] = std::nanf("");  // pixel 3 is not masked: skipped for NaN
  std::vector<index_t> valid;
  for (index_t p = 0; p < c.pixel_count(); ++p)
    if (mask[p] && p != 3) valid.push_back(p);
  const Eigen::MatrixXd cov = naive_covariance(c, valid);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  pca_options o{.components = 6, .block = 64, .threads = 1};
  const auto m = fit_pca(c.view(), mask.view(), o);
  CHECK(m.samples == index_t(valid.size()));
  CHECK(m.skipped == c.pixel_count() - index_t(valid.size()));
  CHECK(m.total_variance == doctest::Approx(cov.trace()).epsilon(1e-9));
  for (index_t k = 0; k < 6; ++k) {
    CHECK(m.explained_variance(k) == doctest::Approx(eig.eigenvalues()(39 - k)).epsilon(1e-8));
    if (k < 4) {  // well separated: the vector is determined up to sign
      const double dot = std::abs(m.components.row(k).dot(eig.eigenvectors().col(39 - k)));
      CHECK(dot == doctest::Approx(1.0).epsilon(1e-8));
    }
  }
  CHECK(m.explained_variance_ratio.head(4).sum() > 0.99);
  // Bit-identical for any thread count; block size only changes rounding.
  for (int t : {2, 3}) {
    o.threads = t;
    const auto mt = fit_pca(c.view(), mask.view(), o);
    CHECK((mt.components.array() == m.components.array()).all());
    CHECK((mt.mean.array() == m.mean.array()).all());
  }
  CHECK_THROWS_AS((void)fit_pca(c.view(), mask.view(), pca_options{.components = 41}), invalid_argument);
  pixel_mask none(c.shape(), 0);
  CHECK_THROWS_AS((void)fit_pca(c.view(), none.view()), invalid_argument);
}

TEST_CASE("randomized PCA recovers the leading components of the exact one") {
  const auto c = mixture_cube(image_shape{60, 50}, 300, 5, 0.01, 2);
  const auto exact = fit_pca(c.view(), mask_view{}, pca_options{.components = 5, .solver = pca_solver::exact});
  const auto rnd = fit_pca(c.view(), mask_view{}, pca_options{.components = 5, .solver = pca_solver::randomized, .seed = 4});
  CHECK(rnd.total_variance == doctest::Approx(exact.total_variance).epsilon(1e-9));
  for (index_t k = 0; k < 5; ++k) {
    CHECK(rnd.explained_variance(k) == doctest::Approx(exact.explained_variance(k)).epsilon(1e-6));
    CHECK(std::abs(rnd.components.row(k).dot(exact.components.row(k))) == doctest::Approx(1.0).epsilon(1e-6));
  }
  CHECK((rnd.mean - exact.mean).cwiseAbs().maxCoeff() < 1e-9);
  CHECK_THROWS_AS((void)fit_pca(c.view(), mask_view{}, pca_options{.solver = pca_solver::randomized}), invalid_argument);
}

TEST_CASE("projection equals (x - mean) . component, float and double, strided views") {
  auto c = mixture_cube(image_shape{20, 30}, 50, 3, 0.02, 3);
  const auto m = fit_pca(c.view(), mask_view{}, pca_options{.components = 4});
  cube<float> sf(c.shape(), 4);
  cube<double> sd(c.shape(), 4);
  pixel_mask mask(c.shape(), 1);
  mask[11] = 0;
  project(m, cube_view<const float>(c.view()), sf.view(), mask.view(), {.block = 64});
  project(m, cube_view<const float>(c.view()), sd.view(), mask_view{}, {.block = 100, .threads = 2});
  for (index_t p = 0; p < c.pixel_count(); ++p)
    for (index_t k = 0; k < 4; ++k) {
      double naive = 0;
      for (index_t b = 0; b < 50; ++b) naive += (c.spectrum(p)[static_cast<std::size_t>(b)] - m.mean(b)) * m.components(k, b);
      CHECK(sd.spectrum(p)[static_cast<std::size_t>(k)] == doctest::Approx(naive).epsilon(1e-9).scale(1.0));
      if (p == 11)
        CHECK(std::isnan(sf.spectrum(p)[static_cast<std::size_t>(k)]));
      else  // float: the mean offset cancels ~10 -> absolute error ~1e-5
        CHECK(std::abs(sf.spectrum(p)[static_cast<std::size_t>(k)] - naive) < 1e-3);
    }
  // A tile (strided view) projects the same as the whole.
  const auto tile = c.view().subview(3, 4, 5, 6);
  cube<double> st(image_shape{5, 6}, 4);
  project(m, cube_view<const float>(tile), st.view());
  CHECK(st(2, 3, 1) == doctest::Approx(sd(5, 7, 1)).epsilon(1e-12));
  cube<double> wrong(c.shape(), 3);
  CHECK_THROWS_AS(project(m, cube_view<const float>(c.view()), wrong.view()), invalid_argument);
}

TEST_CASE("Fukunaga-Olsen: known synthetic dimension, and ~3 for Fe K references") {
  // Points on a 3-D affine subspace of R^60 plus small noise: 3.
  auto c = mixture_cube(image_shape{1, 400}, 60, 3, 1e-4, 5);
  rmat x(400, 60);
  for (index_t p = 0; p < 400; ++p)
    for (index_t b = 0; b < 60; ++b) x(p, b) = c.spectrum(p)[static_cast<std::size_t>(b)];
  CHECK(fukunaga_olsen_dimension(x).dimension == 3.0);
  const auto local = fukunaga_olsen_dimension(x, {.neighbors = 40});
  CHECK(local.dimension == doctest::Approx(3.0).epsilon(0.1));
  // A curve (1-D manifold) in R^60: global PCA sees several, local sees ~1.
  rmat curve(300, 60);
  for (index_t i = 0; i < 300; ++i)
    for (index_t b = 0; b < 60; ++b) curve(i, b) = std::cos(0.02 * double(i) * (1 + 0.1 * double(b % 7)) + 0.3 * double(b));
  const double global_curve = fukunaga_olsen_dimension(curve).dimension;
  const double local_curve = fukunaga_olsen_dimension(curve, {.neighbors = 10}).dimension;
  CHECK(global_curve > 2);
  CHECK(local_curve < 1.5);

  const auto refs = nm_test::fe_references_on_paper_grid();
  rmat fe(static_cast<index_t>(refs.size()), 178);
  for (std::size_t i = 0; i < refs.size(); ++i)
    for (index_t b = 0; b < 178; ++b) fe(static_cast<index_t>(i), b) = refs[i].norm[static_cast<std::size_t>(b)];
  const auto id = fukunaga_olsen_dimension(fe, {.standardize = true});
  MESSAGE("Fe K references: " << refs.size() << " spectra, Fukunaga-Olsen dimension " << id.dimension);
  CHECK(id.dimension >= 2);
  CHECK(id.dimension <= 4);
  CHECK_THROWS_AS((void)fukunaga_olsen_dimension(fe, {.alpha = 0}), invalid_argument);
}
