// spectromine/exafs/autobk.hpp: EXAFS background removal, chi(k) from mu(E),
// by the AUTOBK method as xraylarch implements it (larch.xafs.autobk).
//
// The background mu0(E) is a cubic B-spline in k whose flexibility is tied to
// rbkg: with N = 1 + int(2 rbkg (kmax - kmin) / pi) knots (clamped to
// 5..128) the spline cannot carry Fourier components above ~rbkg, so fitting
// it to remove the low-R part (R < rbkg) of chi(R) leaves the structural
// signal untouched. Duan 2016 take the cluster-mean spectra on to EXAFS
// (k^2-weighted chi(k), FT over k = 2-6.5 1/A) this way.
//
// What is fitted, exactly as larch (which we checked number for number):
// - k_raw = sign(E - E0) sqrt(etok |E - E0|) for the energies from
//   index_of(E, E0) up to just past kmax; the spline's coefficients start as
//   the splrep interpolant through N points (k_q, smoothed mu at k_q),
//   k_q nearest to kmin + q (kmax - kmin) / (N - 1).
// - chi = mu - mu0 on k_raw, re-gridded onto k_i = i kstep by the
//   interpolating (not-a-knot) cubic spline (UnivariateSpline, s=0).
// - residual = [Re, Im of the first irbkg points of xftf_fast(chi k^w Omega(k))]
//   plus the clamps |clamp_lo| s chi[:nclamp], |clamp_hi| s chi[-nclamp:],
//   s = 1 + 100 mean(residual_FT^2), which pin the spline at the data's ends.
// Both chi(k_i) and the FT are linear in the coefficients, so we precompute
// their maps once (one sparse LU for the re-gridding spline, one FFT per
// coefficient through Eigen's FFT module) and the fit runs on a dense
// (2 irbkg + 2 nclamp) x N problem; only the clamp scale s makes it
// nonlinear, and Eigen's Levenberg-Marquardt (MINPACK lmder, analytic
// Jacobian) solves it from larch's starting point.
// - chi(k) is finally divided by the edge step from pre_edge (preprocess/),
//   as larch does.
#pragma once

#include <Eigen/Dense>
#include <unsupported/Eigen/NonLinearOptimization>
#include <unsupported/Eigen/NumericalDiff>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "spectromine/core/energy.hpp"
#include "spectromine/error.hpp"
#include "spectromine/exafs/bspline.hpp"
#include "spectromine/exafs/kgrid.hpp"
#include "spectromine/exafs/window.hpp"
#include "spectromine/exafs/xafsft.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace spectromine::exafs {

struct autobk_options {
  double rbkg = 1.0;              // R (A) below which chi(R) is background
  std::optional<int> nknots;      // spline knots; unset = from rbkg and the k range
  std::optional<double> e0;       // edge energy (eV); unset = preprocess::find_e0
  std::optional<double> edge_step;  // unset = preprocess::pre_edge(..., pre_edge).edge_step
  spectromine::pre_edge_options pre_edge;  // windows for the edge step (e0 defaults to ours)
  double kmin = 0.0;              // k range (1/A) of the spline
  std::optional<double> kmax;     // unset = the data's last k
  double kweight = 1.0;           // k weight of chi in the fitted FT (larch default 1)
  double dk = 0.1;                // window taper of the fitted FT
  window_kind window = window_kind::hanning;
  int nfft = 2048;
  double kstep = 0.05;
  int nclamp = 3;                 // points pinned at each end of chi(k)
  double clamp_lo = 0.0;          // weight of the low-k clamp
  double clamp_hi = 1.0;          // weight of the high-k clamp
  // Where the fit stops. false (default): at the least-squares minimum
  // (analytic Jacobian, MINPACK's default tolerances ~1.5e-8). true: where
  // larch stops, i.e. lmfit's leastsq with a forward-difference Jacobian
  // (epsfcn 1e-6) and ftol = xtol = gtol = 1e-6 from the same start; larch
  // then sometimes stops short of the minimum (up to 0.6% of max |k^2 chi|
  // on data/larch's mnco3_002), so this reproduces its numbers more closely.
  bool larch_stopping = false;
};

struct autobk_result {
  double e0 = 0.0;
  double edge_step = 0.0;
  std::vector<double> k;     // uniform grid i * kstep, 0 .. kmax
  std::vector<double> chi;   // chi(k), normalized by the edge step
  std::vector<double> bkg;   // mu0(E) on the input energies (mu outside the fitted range)
  std::vector<double> chie;  // (mu - mu0) / edge_step on the input energies
  cubic_bspline background;  // mu0 as a spline in k_raw
  std::vector<double> knots_k;  // the N abscissae the spline started from
  double kmin = 0.0, kmax = 0.0, rbkg = 0.0;  // effective values
  int nspl = 0;              // N
  int irbkg = 0;             // FT points in the residual
  int evaluations = 0;       // residual evaluations of the fit (incl. for the Jacobian)
  double chisqr = 0.0;       // final sum of squared residuals
  bool converged = false;    // the minimizer met its tolerance
};

namespace detail {

// The autobk residual as a function of the spline coefficients c:
// out = a0 - A c (interleaved Re/Im of the low-R transform),
// clamps = |w| * scale(out) * (y - G c) on the first/last nclamp k points.
struct autobk_functor {
  using Scalar = double;
  enum { InputsAtCompileTime = Eigen::Dynamic, ValuesAtCompileTime = Eigen::Dynamic };
  using InputType = Eigen::VectorXd;
  using ValueType = Eigen::VectorXd;
  using JacobianType = Eigen::MatrixXd;

  Eigen::MatrixXd A;
  Eigen::VectorXd a0;
  Eigen::MatrixXd G_lo, G_hi;  // nclamp x N rows of the re-gridding map
  Eigen::VectorXd y_lo, y_hi;
  double clamp_lo = 0.0, clamp_hi = 1.0;
  mutable int evaluations = 0;  // counted for the report (NumericalDiff calls const)

  int inputs() const { return static_cast<int>(A.cols()); }
  int values() const { return static_cast<int>(A.rows() + G_lo.rows() + G_hi.rows()); }

  int operator()(const Eigen::VectorXd& c, Eigen::VectorXd& f) const {
    ++evaluations;
    const Eigen::Index nr = A.rows(), nc = G_lo.rows();
    f.resize(values());
    f.head(nr) = a0 - A * c;
    if (nc == 0) return 0;
    const double scale = 1.0 + 100.0 * f.head(nr).squaredNorm() / static_cast<double>(nr);
    f.segment(nr, nc) = std::abs(clamp_lo) * scale * (y_lo - G_lo * c);
    f.segment(nr + nc, nc) = std::abs(clamp_hi) * scale * (y_hi - G_hi * c);
    return 0;
  }

  int df(const Eigen::VectorXd& c, Eigen::MatrixXd& J) const {
    const Eigen::Index nr = A.rows(), nc = G_lo.rows();
    J.resize(values(), inputs());
    J.topRows(nr) = -A;
    if (nc == 0) return 0;
    const Eigen::VectorXd out = a0 - A * c;
    const double scale = 1.0 + 100.0 * out.squaredNorm() / static_cast<double>(nr);
    // d scale / dc = 200 / nr * out^T (d out / dc)
    const Eigen::RowVectorXd dscale = (-200.0 / static_cast<double>(nr)) * (out.transpose() * A);
    J.middleRows(nr, nc) =
        std::abs(clamp_lo) * (-scale * G_lo + (y_lo - G_lo * c) * dscale);
    J.bottomRows(nc) = std::abs(clamp_hi) * (-scale * G_hi + (y_hi - G_hi * c) * dscale);
    return 0;
  }
};

// Values of several splines sharing the knots t (coefficient columns) at x.
inline Eigen::MatrixXd evaluate_columns(std::span<const double> t, const Eigen::MatrixXd& coefs,
                                        std::span<const double> x) {
  const std::size_t ncoef = static_cast<std::size_t>(coefs.rows());
  Eigen::MatrixXd out(static_cast<Eigen::Index>(x.size()), coefs.cols());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t l = bspline_interval(t, ncoef, x[i]);
    const auto N = bspline_basis(t, l, x[i]);
    const auto row = static_cast<Eigen::Index>(i);
    const auto first = static_cast<Eigen::Index>(l - 3);
    out.row(row) = N[0] * coefs.row(first) + N[1] * coefs.row(first + 1) +
                   N[2] * coefs.row(first + 2) + N[3] * coefs.row(first + 3);
  }
  return out;
}

inline void validate_autobk(std::span<const double> energy, std::span<const double> mu,
                            const autobk_options& o) {
  // Per-point checks build their message only on failure (hot for many spectra).
  for (std::size_t i = 0; i < energy.size(); ++i)
    if (!std::isfinite(energy[i]) || (i > 0 && !(energy[i] > energy[i - 1])))
      validate_energy_grid(energy, "autobk");  // throws the precise message
  require(energy.size() >= 8, "autobk", "energy", "must have >= 8 points", energy.size());
  require(mu.size() == energy.size(), "autobk", "mu",
          "must have as many values as energy (" + std::to_string(energy.size()) + ")",
          mu.size());
  for (std::size_t i = 0; i < mu.size(); ++i)
    if (!std::isfinite(mu[i]))
      throw_invalid("autobk", "mu[" + std::to_string(i) + "]", "must be finite", mu[i]);
  require(std::isfinite(o.rbkg) && o.rbkg > 0, "autobk", "rbkg", "must be > 0", o.rbkg);
  if (o.nknots) require(*o.nknots >= 1, "autobk", "nknots", "must be >= 1", *o.nknots);
  if (o.e0)
    require(std::isfinite(*o.e0) && *o.e0 >= energy.front() && *o.e0 <= energy.back(), "autobk",
            "e0",
            "must lie within the energy range [" + std::to_string(energy.front()) + ", " +
                std::to_string(energy.back()) + "]",
            *o.e0);
  if (o.edge_step)
    require(std::isfinite(*o.edge_step) && *o.edge_step > 0, "autobk", "edge_step",
            "must be > 0", *o.edge_step);
  require(std::isfinite(o.kmin) && o.kmin >= 0, "autobk", "kmin", "must be >= 0", o.kmin);
  if (o.kmax)
    require(std::isfinite(*o.kmax) && *o.kmax > o.kmin, "autobk", "kmax",
            "must be > kmin = " + std::to_string(o.kmin), *o.kmax);
  require(std::isfinite(o.kweight), "autobk", "kweight", "must be finite", o.kweight);
  require(std::isfinite(o.dk) && o.dk >= 0, "autobk", "dk", "must be >= 0", o.dk);
  require(o.nfft >= 16, "autobk", "nfft", "must be >= 16", o.nfft);
  require(std::isfinite(o.kstep) && o.kstep > 0, "autobk", "kstep", "must be > 0", o.kstep);
  require(o.nclamp >= 0, "autobk", "nclamp", "must be >= 0", o.nclamp);
  require(std::isfinite(o.clamp_lo), "autobk", "clamp_lo", "must be finite", o.clamp_lo);
  require(std::isfinite(o.clamp_hi), "autobk", "clamp_hi", "must be finite", o.clamp_hi);
}

}  // namespace detail

// chi(k) of one spectrum mu(E) (energy strictly increasing, eV).
inline autobk_result autobk(std::span<const double> energy, std::span<const double> mu,
                            const autobk_options& options = {}) {
  constexpr double pi = std::numbers::pi;
  detail::validate_autobk(energy, mu, options);
  autobk_result result;

  // E0 and edge step: given, or from preprocess (larch runs pre_edge).
  const double e0 = options.e0 ? *options.e0 : spectromine::find_e0(energy, mu);
  require(std::isfinite(e0) && e0 >= energy.front() && e0 <= energy.back(), "autobk", "e0",
          "found by find_e0 must lie within the energy range", e0);
  double edge_step = 0.0;
  if (options.edge_step) {
    edge_step = *options.edge_step;
  } else {
    auto pre = options.pre_edge;
    if (!pre.e0) pre.e0 = e0;
    edge_step = std::abs(spectromine::pre_edge(energy, mu, pre).edge_step);
    require(std::isfinite(edge_step) && edge_step > 0, "autobk", "edge_step",
            "found by pre_edge must be > 0 (is there an edge in the data?)", edge_step);
  }
  result.e0 = e0;
  result.edge_step = edge_step;

  const int nfft = options.nfft;
  const double kstep = options.kstep;
  const double kmin = options.kmin;
  const std::size_t ie0 = detail::index_of(energy, e0);
  const double rgrid = pi / (kstep * nfft);
  const double rbkg = std::max(options.rbkg, 2 * rgrid);

  const std::size_t nraw_all = energy.size() - ie0;
  std::vector<double> kraw(nraw_all);
  for (std::size_t i = 0; i < nraw_all; ++i) kraw[i] = energy_to_k(energy[ie0 + i], e0);
  const double kdata = kraw.back();
  double kmax = options.kmax ? std::max(0.0, std::min(kdata, *options.kmax)) : kdata;
  require(kmax > kmin, "autobk", "kmax",
          "must exceed kmin = " + std::to_string(kmin) + "; the data reach only k = " +
              std::to_string(kdata),
          kmax);
  const std::vector<double> kout = uniform_k_grid(kmax, kstep);
  const std::size_t nout = kout.size();
  require(nout <= static_cast<std::size_t>(nfft), "autobk", "nfft",
          "must be >= the k points " + std::to_string(nout), nfft);
  require(nout >= 2 * static_cast<std::size_t>(options.nclamp) + 2, "autobk", "kmax",
          "gives too few k points for the clamps", kmax);
  const std::size_t iemax =
      std::min(energy.size(), 2 + detail::index_of(energy, e0 + kmax * kmax / etok)) - 1;
  require(iemax >= ie0 + 3, "autobk", "energy",
          "needs >= 4 points between e0 and kmax; found", iemax + 1 - std::min(iemax + 1, ie0));

  // FT window times k^kweight on the uniform grid.
  std::vector<double> ftwin = ftwindow(kout, {options.window, kmin, kmax, options.dk, options.dk});
  for (std::size_t i = 0; i < nout; ++i) ftwin[i] *= std::pow(kout[i], options.kweight);

  // Knot count and the FT points fitted (irbkg from the unclamped count, as larch).
  int nspl = 1 + static_cast<int>(2 * rbkg * (kmax - kmin) / pi);
  const int irbkg_raw = static_cast<int>(1 + (nspl - 1) * pi / (2 * rgrid * (kmax - kmin)));
  const int irbkg = std::clamp(irbkg_raw, 1, nfft / 2);
  if (options.nknots) nspl = *options.nknots;
  nspl = std::max(5, std::min(128, nspl));

  std::vector<double> spl_k(static_cast<std::size_t>(nspl)), spl_y(spl_k.size());
  for (int i = 0; i < nspl; ++i) {
    const double q = kmin + i * (kmax - kmin) / (nspl - 1);
    const std::size_t ik = detail::index_nearest(kraw, q);
    const std::size_t i1 = std::min(nraw_all - 1, ik + 5);
    const std::size_t i2 = ik >= 5 ? ik - 5 : 0;
    spl_k[static_cast<std::size_t>(i)] = kraw[ik];
    spl_y[static_cast<std::size_t>(i)] = (2 * mu[ik + ie0] + mu[i1 + ie0] + mu[i2 + ie0]) / 4.0;
  }
  for (std::size_t i = 1; i < spl_k.size(); ++i)
    require(spl_k[i] > spl_k[i - 1], "autobk", "energy",
            "is too sparse above e0 for " + std::to_string(nspl) +
                " spline knots (two knots fall on the same point; lower rbkg or nknots); knot",
            i);
  cubic_bspline spline = interpolating_spline(spl_k, spl_y);

  // The linear maps of the fit. kr, mr: the raw points used (to iemax).
  const std::size_t m = iemax - ie0 + 1;
  const std::span<const double> kr(kraw.data(), m);
  const Eigen::Map<const Eigen::VectorXd> mr(mu.data() + ie0, static_cast<Eigen::Index>(m));
  const Eigen::MatrixXd B = bspline_design(spline.knots, kr);  // m x nspl: mu0 at kr
  const spline_interpolator regrid(kr);
  Eigen::MatrixXd rhs(static_cast<Eigen::Index>(m), nspl + 1);
  rhs.col(0) = mr;
  rhs.rightCols(nspl) = B;
  // chi(kout) = y0 - G c: column 0 is y0, columns 1.. are G.
  const Eigen::MatrixXd YG = detail::evaluate_columns(regrid.knots(), regrid.coefficients(rhs), kout);

  detail::autobk_functor f;
  f.A.resize(2 * irbkg, nspl);
  f.a0.resize(2 * irbkg);
  {
    std::vector<double> col(nout);
    for (int j = 0; j <= nspl; ++j) {
      for (std::size_t i = 0; i < nout; ++i) col[i] = YG(static_cast<Eigen::Index>(i), j) * ftwin[i];
      const auto ft = xftf_fast(col, nfft, kstep);
      for (int r = 0; r < irbkg; ++r) {
        const auto v = ft[static_cast<std::size_t>(r)];
        if (j == 0) {
          f.a0(2 * r) = v.real();
          f.a0(2 * r + 1) = v.imag();
        } else {
          f.A(2 * r, j - 1) = v.real();
          f.A(2 * r + 1, j - 1) = v.imag();
        }
      }
    }
  }
  const Eigen::Index nc = options.nclamp;
  const auto nout_i = static_cast<Eigen::Index>(nout);
  f.y_lo = YG.col(0).head(nc);
  f.y_hi = YG.col(0).tail(nc);
  f.G_lo = YG.block(0, 1, nc, nspl);
  f.G_hi = YG.block(nout_i - nc, 1, nc, nspl);
  f.clamp_lo = options.clamp_lo;
  f.clamp_hi = options.clamp_hi;

  Eigen::VectorXd c = Eigen::Map<const Eigen::VectorXd>(spline.coefs.data(), nspl);
  namespace lms = Eigen::LevenbergMarquardtSpace;
  lms::Status status;
  if (options.larch_stopping) {
    Eigen::NumericalDiff<detail::autobk_functor> numeric(f, 1e-6);
    Eigen::LevenbergMarquardt<Eigen::NumericalDiff<detail::autobk_functor>> lm(numeric);
    lm.parameters.ftol = lm.parameters.xtol = lm.parameters.gtol = 1e-6;
    lm.parameters.maxfev = 2000 * (nspl + 1);  // lmfit's default for leastsq
    status = lm.minimize(c);
    result.evaluations = numeric.evaluations;
  } else {
    Eigen::LevenbergMarquardt<detail::autobk_functor> lm(f);
    lm.parameters.maxfev = 2000 * (nspl + 1);
    status = lm.minimize(c);
    result.evaluations = f.evaluations;
  }
  result.converged = status == lms::RelativeReductionTooSmall ||
                     status == lms::RelativeErrorTooSmall ||
                     status == lms::RelativeErrorAndReductionTooSmall ||
                     status == lms::CosinusTooSmall || status == lms::FtolTooSmall ||
                     status == lms::XtolTooSmall || status == lms::GtolTooSmall;
  {
    Eigen::VectorXd residual;
    f(c, residual);
    result.chisqr = residual.squaredNorm();
  }
  for (int j = 0; j < nspl; ++j) spline.coefs[static_cast<std::size_t>(j)] = c(j);

  const Eigen::VectorXd chi = (YG.col(0) - YG.rightCols(nspl) * c) / edge_step;
  const Eigen::VectorXd bkg = B * c;
  result.k = kout;
  result.chi.assign(chi.data(), chi.data() + chi.size());
  result.bkg.assign(mu.begin(), mu.end());
  for (std::size_t i = 0; i < m; ++i) result.bkg[ie0 + i] = bkg(static_cast<Eigen::Index>(i));
  result.chie.resize(mu.size());
  for (std::size_t i = 0; i < mu.size(); ++i) result.chie[i] = (mu[i] - result.bkg[i]) / edge_step;
  result.background = std::move(spline);
  result.knots_k = std::move(spl_k);
  result.kmin = kmin;
  result.kmax = kmax;
  result.rbkg = rbkg;
  result.nspl = nspl;
  result.irbkg = irbkg;
  return result;
}

}  // namespace spectromine::exafs
