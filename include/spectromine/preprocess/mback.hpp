// spectromine/preprocess/mback.hpp: MBACK normalization (Weng, Waldo &
// Penner-Hahn 2005, doi:10.1086/303711), the normalization Duan 2016 used:
// match mu(E) to a tabulated absorption cross-section instead of extrapolating
// two fitted lines to E0.
//
// Formulation: xraylarch's `mback` (larch/xafs/mback.py, 0.9.58) with its
// defaults (no error-function term, no Lee-Xiang weighting). Over the pre-edge
// window [E0+pre1, E0+pre2] and the post-edge window [E0+norm1, E0+norm2]
// (default: the first energy .. E0-50 eV and E0+100 eV .. the last energy)
// find s and c_0..c_order minimizing
//     sum_i ( f2(E_i) + sum_k c_k (E_i - E0)^k - s mu(E_i) )^2 / w_i^2
// where f2 is the tabulated f'' (proportional to E sigma_photo(E)) and w_i =
// sqrt(points in E_i's window): each window carries the same total weight
// however finely it is sampled. Points between the windows (the XANES) do not
// enter the fit. Then, as larch does, the matched curve f2 + background goes
// through pre_edge (nnorm 2, same windows) and
//     norm = (s mu - pre(E)) / step,   edge_step = step / s   (mu units).
//
// larch minimizes with Levenberg-Marquardt (lmfit leastsq, tolerances 1e-5),
// but every unknown enters linearly: we solve the least-squares problem in
// closed form. Projecting out the polynomial (a fixed orthonormal basis Q of
// the weighted powers, built once per grid) leaves one unknown:
//     s = (r . g) / (r . r),  r = (I - Q Q^T) W mu,  g = (I - Q Q^T) W f2,
// so a pixel costs a few dot products over the window points and one
// elementwise pass. On the 41 bundled Fe K spectra this reproduces larch's
// leastsq to ~1e-7 (its convergence tolerance), see docs/preprocess.md.
//
// The cross-section is an input (a vector on the energy grid), so this header
// needs nothing beyond Eigen. With the optional component spectromine::xraylib
// (defines SPECTROMINE_HAS_XRAYLIB; Debian libxrl-dev) the last section adds
// `xraylib_f2(z, energy)`: f2 from xraylib's photoionization cross-section
// CSb_Photo, and `mback(energy, mu, z, options)`.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Dense>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/preprocess/normalize.hpp"

#if defined(SPECTROMINE_HAS_XRAYLIB)
#include <xraylib.h>
#endif

namespace spectromine {

struct mback_options {
  std::optional<double> e0;     // edge energy (eV); unset: find_e0 (of the mean spectrum for cubes)
  std::optional<double> pre1;   // pre-edge window start, eV relative to e0; unset: first energy
  double pre2 = -50;            // pre-edge window end (larch default)
  double norm1 = 100;           // post-edge window start (larch default)
  std::optional<double> norm2;  // post-edge window end; unset: last energy; < 0: emax - e0 - norm2
  int order = 3;                // background polynomial degree, 0..6 (larch default 3, MAXORDER 6)
};

inline constexpr int mback_max_order = 6;

// Everything MBACK needs that depends only on the grid, the table and the
// windows. Built once; applied to any number of spectra.
struct mback_plan {
  double e0 = 0;
  index_t ie0 = 0;
  double pre1 = 0, pre2 = 0, norm1 = 0, norm2 = 0;  // resolved, eV relative to e0
  int order = 3;
  index_t pre_begin = 0, pre_end = 0;    // fit windows as index ranges [begin, end)
  index_t post_begin = 0, post_end = 0;
  std::vector<index_t> active;           // the fitted points (both windows)
  std::vector<double> weight;            // 1 / w_i for each active point
  double scale = 1;                      // t = (E - e0) / scale, |t| <= 1 on the windows
  Eigen::MatrixXd q;                     // active x (order+1): orthonormal basis of W t^k
  Eigen::MatrixXd r_inv;                 // coefficients of t^k from coordinates on q
  Eigen::VectorXd qt_f;                  // Q^T W f2
  Eigen::VectorXd g;                     // (I - Q Q^T) W f2
  std::vector<double> x;                 // E - e0 on the whole grid
  std::vector<double> f2;                // the table on the grid
  pre_edge_plan final_plan;              // pre_edge of the matched curve (nnorm 2)
  std::array<double, 3> f2_line{};       // {pre value at e0, pre slope, step c0} of f2
  std::vector<std::array<double, 3>> t_line;  // the same for each t^k

  index_t bands() const noexcept { return static_cast<index_t>(x.size()); }
};

namespace detail {

// larch's mback windows: p1 = index_of(pre1), p2 = index_nearest(pre2),
// n1 = index_nearest(norm1), n2 = index_of(norm2), both INCLUSIVE.
inline void resolve_mback_windows(std::span<const double> energy, const mback_options& o,
                                  mback_plan& plan) {
  constexpr const char* c = "mback";
  const auto n = static_cast<index_t>(energy.size());
  const double emin = energy[0], emax = energy[n - 1];
  for (const auto& [value, name] : {std::pair{o.pre1, "pre1"}, std::pair{o.norm2, "norm2"},
                                    std::pair{std::optional<double>(o.pre2), "pre2"},
                                    std::pair{std::optional<double>(o.norm1), "norm1"}})
    if (value) require(std::isfinite(*value), c, name, "must be finite", *value);
  double pre1 = o.pre1 ? *o.pre1 : emin - plan.e0;
  double norm2 = o.norm2 ? *o.norm2 : emax - plan.e0;
  if (norm2 < 0) norm2 = emax - plan.e0 - norm2;
  pre1 = std::max(pre1, emin - plan.e0);
  norm2 = std::min(norm2, emax - plan.e0);
  require(pre1 < o.pre2, c, "pre1", "must be < pre2 = " + std::to_string(o.pre2), pre1);
  require(o.norm1 < norm2, c, "norm1", "must be < norm2 = " + std::to_string(norm2), o.norm1);
  require(plan.e0 + o.pre2 > emin, c, "pre2",
          "puts the pre-edge window below the data (first energy " + std::to_string(emin) +
              " eV, e0 " + std::to_string(plan.e0) + " eV)",
          o.pre2);
  require(plan.e0 + o.norm1 < emax, c, "norm1",
          "puts the post-edge window above the data (last energy " + std::to_string(emax) +
              " eV, e0 " + std::to_string(plan.e0) + " eV)",
          o.norm1);
  plan.pre1 = pre1;
  plan.pre2 = o.pre2;
  plan.norm1 = o.norm1;
  plan.norm2 = norm2;
  index_t p1 = larch_index_of(energy, pre1 + plan.e0);
  index_t p2 = larch_index_nearest(energy, o.pre2 + plan.e0);
  if (p2 - p1 < 2) p2 = std::min(n - 1, p1 + 2);
  const index_t n1 = larch_index_nearest(energy, o.norm1 + plan.e0);
  const index_t n2 = larch_index_of(energy, norm2 + plan.e0);
  plan.pre_begin = p1;
  plan.pre_end = p2 + 1;
  plan.post_begin = n1;
  plan.post_end = n2 + 1;
  // larch lets overlapping windows re-weight each other; that is a window
  // mistake, not a normalization, so say so.
  require(plan.pre_end <= plan.post_begin, c, "windows",
          "must not overlap (pre-edge ends at " + std::to_string(energy[p2]) +
              " eV, post-edge starts at " + std::to_string(energy[n1]) + " eV)",
          o.pre2);
  require(plan.post_end - plan.post_begin >= 2, c, "post-edge window",
          "must hold at least 2 energies", plan.post_end - plan.post_begin);
}

// Per-pixel solution. Everything in double: the projection subtracts nearly
// equal quantities when the background explains most of mu.
struct mback_solution {
  enum status_t { ok, nonfinite, no_edge } status = ok;
  double s = 0;
  std::array<double, mback_max_order + 1> c_t{};  // powers of t
  double pre_value = 0, pre_slope = 0, step = 0;   // pre_edge of f2 + background (f2 units)
};

template <class T>
mback_solution mback_solve(const mback_plan& plan, const T* mu, double* work) {
  mback_solution out;
  const auto m = static_cast<index_t>(plan.active.size());
  const int k = plan.order + 1;
  double mm = 0;
  for (index_t j = 0; j < m; ++j) {
    const double v = static_cast<double>(mu[plan.active[j]]) * plan.weight[j];
    work[j] = v;
    mm += v * v;
  }
  if (!std::isfinite(mm)) {
    out.status = mback_solution::nonfinite;
    return out;
  }
  std::array<double, mback_max_order + 1> u{};
  for (int a = 0; a < k; ++a) {
    const double* qa = plan.q.col(a).data();
    double s = 0;
    for (index_t j = 0; j < m; ++j) s += qa[j] * work[j];
    u[a] = s;
  }
  double rr = 0, rg = 0;
  for (index_t j = 0; j < m; ++j) {
    double r = work[j];
    for (int a = 0; a < k; ++a) r -= plan.q(j, a) * u[a];
    rr += r * r;
    rg += r * plan.g[j];
  }
  // rr ~ 0: mu is a polynomial on the windows (no edge at all); s <= 0: mu
  // falls where the table jumps. Neither can be scaled onto the table.
  constexpr double tiny = 1e3 * std::numeric_limits<double>::epsilon();
  if (!(rr > tiny * tiny * mm) || !(rg > 0)) {
    out.status = mback_solution::no_edge;
    return out;
  }
  out.s = rg / rr;
  std::array<double, mback_max_order + 1> v{};
  for (int a = 0; a < k; ++a) v[a] = out.s * u[a] - plan.qt_f[a];
  for (int a = 0; a < k; ++a) {
    double s = 0;
    for (int b = a; b < k; ++b) s += plan.r_inv(a, b) * v[b];
    out.c_t[a] = s;
  }
  out.pre_value = plan.f2_line[0];
  out.pre_slope = plan.f2_line[1];
  double step = plan.f2_line[2];
  for (int a = 0; a < k; ++a) {
    out.pre_value += out.c_t[a] * plan.t_line[a][0];
    out.pre_slope += out.c_t[a] * plan.t_line[a][1];
    step += out.c_t[a] * plan.t_line[a][2];
  }
  out.step = std::abs(step);
  if (!(out.step > 0) || !std::isfinite(out.step) || !std::isfinite(out.s)) {
    out.status = mback_solution::no_edge;
    return out;
  }
  return out;
}

}  // namespace detail

// Builds the plan for `energy` with the edge at e0 (options.e0 is ignored)
// and the table f2 sampled on `energy` (finite, same length).
inline mback_plan make_mback_plan(std::span<const double> energy, std::span<const double> f2,
                                  double e0, const mback_options& options) {
  constexpr const char* c = "mback";
  validate_energy_grid(energy, c);
  const auto n = static_cast<index_t>(energy.size());
  require(n >= 8, c, "energy count", "must be >= 8", n);
  require(static_cast<index_t>(f2.size()) == n, c, "f2 size",
          "must equal the energy count " + std::to_string(n), f2.size());
  for (index_t i = 0; i < n; ++i)
    require(std::isfinite(f2[i]), c, "f2[" + std::to_string(i) + "]", "must be finite", f2[i]);
  require(options.order >= 0 && options.order <= mback_max_order, c, "order",
          "must be in 0.." + std::to_string(mback_max_order), options.order);
  require(std::isfinite(e0) && e0 >= energy[1] && e0 <= energy[n - 2], c, "e0",
          "must lie within the energies [" + std::to_string(energy[1]) + ", " +
              std::to_string(energy[n - 2]) + "] (second to second-last point)",
          e0);

  mback_plan plan;
  plan.order = options.order;
  plan.ie0 = detail::larch_index_nearest(energy, e0);
  plan.e0 = energy[plan.ie0];
  detail::resolve_mback_windows(energy, options, plan);
  plan.x.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) plan.x[i] = energy[i] - plan.e0;
  plan.f2.assign(f2.begin(), f2.end());

  const index_t npre = plan.pre_end - plan.pre_begin, npost = plan.post_end - plan.post_begin;
  for (index_t i = plan.pre_begin; i < plan.pre_end; ++i) plan.active.push_back(i);
  for (index_t i = plan.post_begin; i < plan.post_end; ++i) plan.active.push_back(i);
  const auto m = static_cast<index_t>(plan.active.size());
  const int k = plan.order + 1;
  require(m >= k + 2, c, "windows",
          "must hold at least order + 3 = " + std::to_string(k + 2) + " energies together", m);
  plan.weight.resize(static_cast<std::size_t>(m));
  for (index_t j = 0; j < m; ++j)
    plan.weight[j] = 1.0 / std::sqrt(static_cast<double>(j < npre ? npre : npost));

  plan.scale = 0;
  for (index_t i : plan.active) plan.scale = std::max(plan.scale, std::abs(plan.x[i]));
  if (plan.scale == 0) plan.scale = 1;
  Eigen::MatrixXd pw(m, k);
  Eigen::VectorXd fw(m);
  for (index_t j = 0; j < m; ++j) {
    const double t = plan.x[plan.active[j]] / plan.scale;
    double p = plan.weight[j];
    for (int a = 0; a < k; ++a, p *= t) pw(j, a) = p;
    fw[j] = f2[plan.active[j]] * plan.weight[j];
  }
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(pw);
  plan.q = qr.householderQ() * Eigen::MatrixXd::Identity(m, k);
  const Eigen::MatrixXd r = qr.matrixQR().topLeftCorner(k, k).triangularView<Eigen::Upper>();
  for (int a = 0; a < k; ++a)
    require(std::abs(r(a, a)) > 1e-12 * std::abs(r(0, 0)), c, "windows",
            "do not determine a polynomial of degree order (too few distinct energies)",
            options.order);
  plan.r_inv = r.triangularView<Eigen::Upper>().solve(Eigen::MatrixXd::Identity(k, k));
  plan.qt_f = plan.q.transpose() * fw;
  plan.g = fw - plan.q * plan.qt_f;

  // larch: preedge(energy, f2 + background, e0, pre1, pre2, norm1, norm2, nnorm=2, nvict=0)
  pre_edge_options final_options;
  final_options.pre1 = plan.pre1;
  final_options.pre2 = plan.pre2;
  final_options.norm1 = plan.norm1;
  final_options.norm2 = plan.norm2;
  final_options.nnorm = 2;
  final_options.make_flat = false;
  plan.final_plan = make_pre_edge_plan(energy, plan.e0, final_options);
  auto line_of = [&](const std::vector<double>& y) {
    const auto coef = plan.final_plan.coefficients(std::span<const double>(y));
    return std::array<double, 3>{coef[0], coef[1], coef[2]};
  };
  plan.f2_line = line_of(plan.f2);
  std::vector<double> tk(static_cast<std::size_t>(n));
  for (int a = 0; a < k; ++a) {
    for (index_t i = 0; i < n; ++i) tk[i] = std::pow(plan.x[i] / plan.scale, a);
    plan.t_line.push_back(line_of(tk));
  }
  return plan;
}

// ------------------------------------------------------------- one spectrum

struct mback_result {
  double e0 = 0;          // snapped to the grid
  index_t ie0 = 0;
  double scale = 0;       // s: mu * s matches the table
  double edge_step = 0;   // in units of mu: step of the matched curve / s
  double matched_step = 0;  // step of f2 + background (table units)
  std::vector<double> coefficients;  // background c_k, powers of (E - e0), k = 0..order
  std::vector<double> norm;          // (s mu - pre(E)) / matched_step
  std::vector<double> background;    // sum c_k (E - e0)^k (larch: norm_function)
  double pre1 = 0, pre2 = 0, norm1 = 0, norm2 = 0;  // windows as applied
};

// MBACK on one spectrum against the table f2 (sampled on `energy`). Throws
// invalid_argument for non-finite mu or f2, bad windows and a spectrum that
// cannot be matched (no edge, or an edge that falls).
inline mback_result mback(std::span<const double> energy, std::span<const double> mu,
                          std::span<const double> f2, const mback_options& options = {}) {
  constexpr const char* c = "mback";
  validate_energy_grid(energy, c);
  const auto n = static_cast<index_t>(energy.size());
  require(static_cast<index_t>(mu.size()) == n, c, "mu size",
          "must equal the energy count " + std::to_string(n), mu.size());
  for (index_t i = 0; i < n; ++i)
    require(std::isfinite(mu[i]), c, "mu[" + std::to_string(i) + "]", "must be finite", mu[i]);
  const double e0 = options.e0 ? *options.e0 : find_e0(energy, mu);
  const mback_plan plan = make_mback_plan(energy, f2, e0, options);
  std::vector<double> work(plan.active.size());
  const auto sol = detail::mback_solve(plan, mu.data(), work.data());
  require(sol.status == detail::mback_solution::ok, c, "mu",
          "cannot be matched to the tabulated cross-section (no edge, or a falling one; "
          "scale s would be <= 0)",
          sol.s);
  mback_result r;
  r.e0 = plan.e0;
  r.ie0 = plan.ie0;
  r.scale = sol.s;
  r.matched_step = sol.step;
  r.edge_step = sol.step / sol.s;
  r.pre1 = plan.pre1;
  r.pre2 = plan.pre2;
  r.norm1 = plan.norm1;
  r.norm2 = plan.norm2;
  double p = 1;
  for (int a = 0; a <= plan.order; ++a, p *= plan.scale) r.coefficients.push_back(sol.c_t[a] / p);
  r.norm.resize(n);
  r.background.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const double t = plan.x[i] / plan.scale;
    double bg = 0;
    for (int a = plan.order; a >= 0; --a) bg = bg * t + sol.c_t[a];
    r.background[i] = bg;
    r.norm[i] = (sol.s * mu[i] - sol.pre_value - sol.pre_slope * plan.x[i]) / sol.step;
  }
  return r;
}

// ------------------------------------------------------------- whole cubes

struct mback_cube_options {
  mback_options edge;    // e0 unset: find_e0 of the mean spectrum of the unmasked finite pixels
  int threads = 0;       // 0 = all cores
  bool keep_edge_step = true;  // fill the report's edge_step image (mu units)
};

struct mback_cube_report {
  double e0 = 0;
  bool e0_from_mean = false;
  index_t pixels = 0;
  index_t normalized = 0;
  index_t masked_input = 0;      // excluded by the caller's mask (output 0)
  index_t masked_nonfinite = 0;  // NaN / Inf in the spectrum (output 0)
  index_t masked_no_edge = 0;    // cannot be matched to the table (output 0)
  pixel_mask valid;              // 1 = normalized
  image<float> edge_step;        // mu units; 0 where masked
};

// MBACK on every pixel of `in` into `out` (same shape; in place allowed when
// the types match). Masked, non-finite and unmatched pixels are written as
// zeros with valid = 0, never NaN. Independent of the thread count.
template <class InT, std::floating_point U, class Progress = no_progress>
  requires std::floating_point<std::remove_const_t<InT>> && progress_observer<Progress>
mback_cube_report mback_cube(cube_view<InT> input, std::span<const double> energy,
                             std::span<const double> f2, const mback_cube_options& options,
                             cube_view<U> out, mask_view mask = {}, Progress&& progress = {}) {
  using T = std::remove_const_t<InT>;
  const cube_view<const T> in = input;
  static_assert(check_progress_observer<Progress>());
  constexpr const char* c = "mback_cube";
  const bool use_mask = detail::check_cube_arguments(in, energy, out, mask, c);
  mback_cube_report report;
  report.pixels = in.pixel_count();
  report.valid = pixel_mask(in.shape(), 0);
  if (options.keep_edge_step) report.edge_step = image<float>(in.shape(), 0.0f);
  if (in.pixel_count() == 0) return report;
  const double e0 = detail::shared_cube_e0(in, energy, options.edge.e0, mask, options.threads,
                                           report.e0_from_mean);
  const mback_plan plan = make_mback_plan(energy, f2, e0, options.edge);
  report.e0 = plan.e0;
  const index_t n = in.pixel_count(), bands = in.bands();
  struct counts_t {
    index_t normalized = 0, masked_input = 0, nonfinite = 0, no_edge = 0;
  };
  const int workers = resolve_threads(options.threads);
  std::vector<counts_t> counts(static_cast<std::size_t>(workers));
  parallel_for(n, options.threads, 256, [&](index_t begin, index_t end, int worker) {
    counts_t local;
    std::vector<double> work(plan.active.size());
    for (index_t p = begin; p < end; ++p) {
      U* o = out.pixel_pointer(p);
      if (use_mask && mask[p] == 0) {
        ++local.masked_input;
        std::fill(o, o + bands, U(0));
        continue;
      }
      const T* s = in.pixel_pointer(p);
      auto sol = detail::mback_solve(plan, s, work.data());
      // the fit sees only the windows: a NaN between them must mask the pixel too
      if (sol.status == detail::mback_solution::ok)
        for (index_t j = 0; j < bands; ++j)
          if (!std::isfinite(static_cast<double>(s[j]))) {
            sol.status = detail::mback_solution::nonfinite;
            break;
          }
      if (sol.status != detail::mback_solution::ok) {
        if (sol.status == detail::mback_solution::nonfinite) ++local.nonfinite;
        else ++local.no_edge;
        std::fill(o, o + bands, U(0));
        continue;
      }
      const double inv = 1.0 / sol.step;
      for (index_t j = 0; j < bands; ++j)
        o[j] = static_cast<U>((sol.s * static_cast<double>(s[j]) - sol.pre_value -
                               sol.pre_slope * plan.x[j]) * inv);
      report.valid[p] = 1;
      if (options.keep_edge_step) report.edge_step[p] = static_cast<float>(sol.step / sol.s);
      ++local.normalized;
      if (worker == 0 && ((p - begin) & 65535) == 65535)
        progress("mback", (p - begin) * workers, n);
    }
    counts[worker] = local;
  });
  for (const auto& k : counts) {
    report.normalized += k.normalized;
    report.masked_input += k.masked_input;
    report.masked_nonfinite += k.nonfinite;
    report.masked_no_edge += k.no_edge;
  }
  progress("mback", n, n);
  return report;
}

// ------------------------------------------------- tables from xraylib

#if defined(SPECTROMINE_HAS_XRAYLIB)

namespace detail {

inline void throw_xraylib(xrl_error* err, const char* what) {
  std::string msg = err && err->message ? err->message : "unknown error";
  if (err) xrl_error_free(err);
  throw invalid_argument("xraylib_f2", what, std::string("xraylib_f2: ") + what + " failed: " + msg);
}

}  // namespace detail

// Atomic number of an element symbol ("Fe" -> 26), through xraylib.
inline int atomic_number(const std::string& symbol) {
  xrl_error* err = nullptr;
  const int z = SymbolToAtomicNumber(symbol.c_str(), &err);
  const bool failed = err != nullptr || z <= 0;
  if (err != nullptr) xrl_error_free(err);
  require(!failed, "atomic_number", "symbol",
          "is not an element symbol (e.g. Fe, Mn, Nd)", symbol);
  return z;
}

// f2(E) of element z on `energy` (eV) from xraylib's photoionization
// cross-section: f2 = sigma_a E / (2 r_e h c) (sigma_a per atom). This is the
// relation Chantler's tables (what larch uses) rest on; the tables differ by
// a few percent in level and edge jump, which s and the background absorb
// except for the jump ratio (see docs/preprocess.md for the measured effect).
inline std::vector<double> xraylib_f2(int z, std::span<const double> energy) {
  require(z >= 1 && z <= 94, "xraylib_f2", "z", "must be an atomic number in 1..94", z);
  constexpr double r_e_cm = 2.8179403262e-13;       // classical electron radius (CODATA 2018)
  constexpr double hc_ev_cm = 1.23984198e-4;        // h c in eV cm
  constexpr double barn_cm2 = 1e-24;
  std::vector<double> f2(energy.size());
  for (std::size_t i = 0; i < energy.size(); ++i) {
    require(std::isfinite(energy[i]) && energy[i] > 0, "xraylib_f2", "energy",
            "must be finite and > 0 eV", energy[i]);
    xrl_error* err = nullptr;
    const double cs = CSb_Photo(z, energy[i] / 1000.0, &err);
    if (err != nullptr) detail::throw_xraylib(err, "CSb_Photo");
    f2[i] = cs * barn_cm2 * energy[i] / (2.0 * r_e_cm * hc_ev_cm);
  }
  return f2;
}

// MBACK against xraylib's table for element z.
inline mback_result mback(std::span<const double> energy, std::span<const double> mu, int z,
                          const mback_options& options = {}) {
  const auto f2 = xraylib_f2(z, energy);
  return mback(energy, mu, std::span<const double>(f2), options);
}

#endif  // SPECTROMINE_HAS_XRAYLIB

}  // namespace spectromine
