// spectromine/exafs/bspline.hpp: cubic B-splines as FITPACK (scipy's splrep,
// splev, UnivariateSpline) builds and evaluates them, which is what larch's
// autobk background and its re-gridding of chi(k) are made of.
//
// - Evaluation (splev): de Boor-Cox on the knot interval t[l] <= x < t[l+1],
//   with l clamped to the first/last non-empty interval, so points outside
//   the knot range are extrapolated with the end polynomial pieces (splev's
//   ext=0).
// - Interpolation (splrep / UnivariateSpline with s=0): for m >= 4 points the
//   knots are x0 (4 times), x[2] ... x[m-3], x[m-1] (4 times) (FITPACK
//   fpcurf, odd degree), i.e. the not-a-knot cubic spline; its m coefficients
//   solve the collocation system, a banded totally positive matrix that we
//   hand to Eigen's SparseLU.
#pragma once

#include <Eigen/Dense>
#include <Eigen/SparseCore>
#include <Eigen/SparseLU>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "spectromine/error.hpp"

namespace spectromine::exafs {

inline constexpr int spline_degree = 3;

// A cubic spline in B-spline form: knots.size() == coefs.size() + 4.
struct cubic_bspline {
  std::vector<double> knots;
  std::vector<double> coefs;
};

namespace detail {

// The knot interval l used to evaluate x: t[l] <= x < t[l+1], clamped to
// [3, ncoef - 1] (0-based), as FITPACK's splev does.
inline std::size_t bspline_interval(std::span<const double> t, std::size_t ncoef, double x) {
  constexpr std::size_t k = spline_degree;
  // first index with t[i] > x among t[k+1 .. ncoef-1]
  const auto first = t.begin() + static_cast<std::ptrdiff_t>(k + 1);
  const auto last = t.begin() + static_cast<std::ptrdiff_t>(ncoef);
  const auto it = std::upper_bound(first, last, x);
  return static_cast<std::size_t>(it - t.begin()) - 1;
}

// The 4 non-zero basis functions B_{l-3} .. B_l at x (de Boor-Cox; also
// valid, as polynomial extrapolation, for x outside [t[l], t[l+1])).
inline std::array<double, 4> bspline_basis(std::span<const double> t, std::size_t l, double x) {
  std::array<double, 4> N{1.0, 0.0, 0.0, 0.0};
  std::array<double, 4> left{}, right{};
  for (std::size_t j = 1; j <= spline_degree; ++j) {
    left[j] = x - t[l + 1 - j];
    right[j] = t[l + j] - x;
    double saved = 0.0;
    for (std::size_t r = 0; r < j; ++r) {
      const double temp = N[r] / (right[r + 1] + left[j - r]);
      N[r] = saved + right[r + 1] * temp;
      saved = left[j - r] * temp;
    }
    N[j] = saved;
  }
  return N;
}

}  // namespace detail

// s(x) (splev with extrapolation).
inline double evaluate(const cubic_bspline& s, double x) {
  const std::size_t l = detail::bspline_interval(s.knots, s.coefs.size(), x);
  const auto N = detail::bspline_basis(s.knots, l, x);
  double v = 0.0;
  for (std::size_t r = 0; r < 4; ++r) v += N[r] * s.coefs[l - 3 + r];
  return v;
}

inline void evaluate(const cubic_bspline& s, std::span<const double> x, std::span<double> out) {
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = evaluate(s, x[i]);
}

// The design matrix B (x.size() x ncoef) of the spline basis with knots t:
// s(x_i) = sum_j B(i, j) c_j. Dense: the callers need it dense afterwards.
inline Eigen::MatrixXd bspline_design(std::span<const double> t, std::span<const double> x) {
  const std::size_t ncoef = t.size() - 4;
  Eigen::MatrixXd B = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(x.size()),
                                            static_cast<Eigen::Index>(ncoef));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t l = detail::bspline_interval(t, ncoef, x[i]);
    const auto N = detail::bspline_basis(t, l, x[i]);
    for (std::size_t r = 0; r < 4; ++r)
      B(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(l - 3 + r)) = N[r];
  }
  return B;
}

// FITPACK's knots for interpolating m >= 4 strictly increasing points.
inline std::vector<double> interpolation_knots(std::span<const double> x) {
  const std::size_t m = x.size();
  require(m >= 4, "exafs", "spline points", "must be >= 4 for a cubic interpolating spline", m);
  std::vector<double> t;
  t.reserve(m + 4);
  t.insert(t.end(), 4, x.front());
  for (std::size_t i = 2; i + 2 < m; ++i) t.push_back(x[i]);
  t.insert(t.end(), 4, x.back());
  return t;
}

// Interpolation by a cubic spline through fixed abscissae, factorized once so
// that many ordinates (or their linear maps) can be interpolated cheaply:
// the coefficients are a linear function of the data, c = C^-1 y.
class spline_interpolator {
 public:
  explicit spline_interpolator(std::span<const double> x) : x_(x.begin(), x.end()) {
    for (std::size_t i = 1; i < x.size(); ++i)
      if (!(x[i] > x[i - 1]))
        throw_invalid("exafs", "spline abscissa[" + std::to_string(i) + "]",
                      "must be strictly greater than the previous one", x[i]);
    knots_ = interpolation_knots(x);
    const auto m = static_cast<Eigen::Index>(x.size());
    std::vector<Eigen::Triplet<double>> entries;
    entries.reserve(4 * x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t l = detail::bspline_interval(knots_, x.size(), x[i]);
      const auto N = detail::bspline_basis(knots_, l, x[i]);
      for (std::size_t r = 0; r < 4; ++r)
        if (N[r] != 0.0)
          entries.emplace_back(static_cast<Eigen::Index>(i),
                               static_cast<Eigen::Index>(l - 3 + r), N[r]);
    }
    Eigen::SparseMatrix<double> C(m, m);
    C.setFromTriplets(entries.begin(), entries.end());
    C.makeCompressed();
    lu_.compute(C);
    if (lu_.info() != Eigen::Success)
      throw error("exafs: the spline collocation matrix is singular (abscissae too close)");
  }

  const std::vector<double>& knots() const noexcept { return knots_; }
  std::size_t size() const noexcept { return x_.size(); }

  // Coefficients of the spline through y (one column per data set).
  Eigen::MatrixXd coefficients(const Eigen::MatrixXd& y) const { return lu_.solve(y); }
  Eigen::VectorXd coefficients(const Eigen::VectorXd& y) const { return lu_.solve(y); }

  cubic_bspline interpolate(std::span<const double> y) const {
    require(y.size() == x_.size(), "exafs", "spline ordinates",
            "must have as many values as abscissae (" + std::to_string(x_.size()) + ")",
            y.size());
    const Eigen::VectorXd data =
        Eigen::Map<const Eigen::VectorXd>(y.data(), static_cast<Eigen::Index>(y.size()));
    const Eigen::VectorXd c = coefficients(data);
    return {knots_, std::vector<double>(c.data(), c.data() + c.size())};
  }

 private:
  std::vector<double> x_;
  std::vector<double> knots_;
  // Natural ordering: the matrix is banded (4 consecutive entries per row),
  // so no fill-reducing permutation is needed.
  Eigen::SparseLU<Eigen::SparseMatrix<double>, Eigen::NaturalOrdering<int>> lu_;
};

// splrep(x, y, k=3, s=0): the interpolating (not-a-knot) cubic spline.
inline cubic_bspline interpolating_spline(std::span<const double> x, std::span<const double> y) {
  return spline_interpolator(x).interpolate(y);
}

}  // namespace spectromine::exafs
